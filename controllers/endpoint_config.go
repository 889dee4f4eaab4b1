/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package controllers

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/controllers/render"
	"github.com/pier-dev/pier/controllers/users"
	"github.com/pier-dev/pier/server/config"
)

const (
	reasonConfigRendered = "ConfigRendered"
	reasonInvalidConfig  = "InvalidConfig"
	reasonNoHostKeys     = "NoHostKeys"
)

// reconcileConfig renders the server config, with every user bound to the endpoint, into the config Secret the
// pods mount and watch.
func (r *EndpointReconciler) reconcileConfig(ctx context.Context, s *endpointState) error {
	served, err := r.servedConfig(ctx, s)
	if err != nil {
		return err
	}
	entries, err := r.userEntries(ctx, s.te, served)
	if err != nil {
		return err
	}

	hostKeyNames, ok := s.hostKeyNames(served)
	if !ok {
		s.configProblem(reasonNoHostKeys, "no usable SSH host keys yet (see the HostKeysReady condition); the server cannot start without them")
		return nil
	}
	cfg := render.ServerConfig(s.te, render.ConfigInputs{
		Users:            entries,
		HostKeyNames:     hostKeyNames,
		PassiveAddresses: s.passiveAddresses(),
	})
	if err := cfg.Validate(); err != nil {
		// The CRD's validation should make this impossible; if it happens, keep serving the last config.
		msg := fmt.Sprintf("the rendered server config is invalid, keeping the last one: %v", err)
		s.configProblem(reasonInvalidConfig, msg)
		r.warn(s.te, reasonInvalidConfig, msg)
		return nil
	}
	data, err := cfg.Marshal()
	if err != nil {
		return fmt.Errorf("writing the server config: %w", err)
	}
	if _, err := ensure(ctx, r.Client, r.APIReader, render.ConfigSecret(s.te, data), &corev1.Secret{}, secretKind); err != nil {
		return err
	}
	s.config = cfg
	s.users = int32(len(entries))
	return nil
}

// servedConfig is the config in the endpoint's config Secret now, nil when there is none yet. Its password hashes
// are reused for unchanged passwords, and its entries stand in for users whose Secrets are broken.
func (r *EndpointReconciler) servedConfig(ctx context.Context, s *endpointState) (*config.Config, error) {
	secret := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: s.te.Namespace, Name: s.names.ConfigSecret}, secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config Secret %s: %w", s.names.ConfigSecret, err)
	}
	cfg, err := config.Parse(secret.Data[render.ConfigKey])
	if err != nil {
		// Someone edited it by hand; it is about to be overwritten, and nothing in it can be trusted.
		return nil, nil //nolint:nilerr // an unreadable config is the same as none
	}
	return cfg, nil
}

// userEntries resolves every TransferUser bound to the endpoint into its config entry, sorted by username.
//
// A user whose Secret is missing or malformed keeps the entry the endpoint serves now (its last good
// credentials), so a typo in a Secret never locks out a working login; the user's own status reports the problem.
// A user that should lose access is disabled or deleted, which always takes effect.
func (r *EndpointReconciler) userEntries(ctx context.Context, te *transferv1alpha1.TransferEndpoint, served *config.Config) ([]config.User, error) {
	var list transferv1alpha1.TransferUserList
	if err := r.List(ctx, &list, client.InNamespace(te.Namespace), client.MatchingFields{indexUserEndpoint: te.Name}); err != nil {
		return nil, fmt.Errorf("listing the TransferUsers of endpoint %s: %w", te.Name, err)
	}
	previous := map[string]config.User{}
	if served != nil {
		for _, u := range served.Users {
			previous[u.Username] = u
		}
	}

	owners := users.Owners(list.Items)
	var entries []config.User
	for i := range list.Items {
		tu := &list.Items[i]
		if owners[tu.Spec.Username] != tu.Name || !tu.DeletionTimestamp.IsZero() {
			continue
		}
		last, hadEntry := previous[tu.Spec.Username]
		creds, problem := users.Read(ctx, r.Client, tu)
		var entry config.User
		if problem == nil {
			entry, problem = users.Render(tu, creds, last.PasswordHash)
		}
		switch {
		case problem == nil:
			entries = append(entries, entry)
		case problem.Reason == users.ReasonSecretUnreadable:
			return nil, problem
		case tu.Spec.Disabled:
			// A disabled user needs no credentials, and must be refused even if its Secret is gone.
			entries = append(entries, users.Entry(tu, users.Credentials{}))
		case hadEntry:
			entries = append(entries, last)
		}
	}
	slices.SortFunc(entries, func(a, b config.User) int { return strings.Compare(a.Username, b.Username) })
	return entries, nil
}

// hostKeyNames are the host-key Secret entries the config points at: the ones found this time, else the ones the
// served config uses (the Secret may be briefly unreadable, and the pods still have it mounted). ok is false for
// an SFTP endpoint without any.
func (s *endpointState) hostKeyNames(served *config.Config) ([]string, bool) {
	if s.te.Spec.SFTP == nil {
		return nil, true
	}
	var names []string
	for _, k := range s.hostKeys {
		names = append(names, k.Name)
	}
	if len(names) == 0 && served != nil && served.SFTP != nil {
		for _, file := range served.SFTP.HostKeyFiles {
			names = append(names, path.Base(file))
		}
	}
	return names, len(names) > 0
}

// passiveAddresses are what FTP's passive mode announces, one per IP family (render.PassiveAddresses):
// spec.ftp.passive.address and the Service's load-balancer addresses. It also sets AddressReady.
func (s *endpointState) passiveAddresses() []string {
	ftp := s.te.Spec.FTP
	if ftp == nil {
		return nil
	}
	var ingress []corev1.LoadBalancerIngress
	if s.serviceType() == corev1.ServiceTypeLoadBalancer && s.service != nil {
		ingress = s.service.Status.LoadBalancer.Ingress
	}
	addresses := render.PassiveAddresses(ftp.Passive.Address, ingress)
	announced := strings.Join(addresses, " and ")
	switch {
	case ftp.Passive.Address != "":
		msg := fmt.Sprintf("passive mode announces %s from spec.ftp.passive.address", ftp.Passive.Address)
		if len(addresses) > 1 {
			msg = fmt.Sprintf("passive mode announces %s: spec.ftp.passive.address %s, and the load balancer's address of the other IP family",
				announced, ftp.Passive.Address)
		}
		s.set(transferv1alpha1.ConditionAddressReady, metav1.ConditionTrue, "Configured", msg)
	case len(addresses) > 0:
		s.set(transferv1alpha1.ConditionAddressReady, metav1.ConditionTrue, "LoadBalancer",
			fmt.Sprintf("passive mode announces the load balancer's address %s", announced))
	case s.serviceType() == corev1.ServiceTypeLoadBalancer:
		s.set(transferv1alpha1.ConditionAddressReady, metav1.ConditionFalse, "LoadBalancerPending",
			"waiting for the Service's load-balancer address; until then passive mode announces the pod's own address, which clients outside the cluster cannot reach")
	case s.serviceType() == corev1.ServiceTypeNodePort:
		s.set(transferv1alpha1.ConditionAddressReady, metav1.ConditionFalse, "AddressRequired",
			"a NodePort Service has no single external address: set spec.ftp.passive.address to the address clients reach the nodes at, or passive mode will announce the pod's own address")
	default:
		s.set(transferv1alpha1.ConditionAddressReady, metav1.ConditionTrue, "ClusterInternal",
			"passive mode announces the pod's address, reachable from inside the cluster; use a LoadBalancer Service or set spec.ftp.passive.address for clients outside it")
	}
	return addresses
}

func (s *endpointState) serviceType() corev1.ServiceType {
	if s.te.Spec.Service.Type == "" {
		return corev1.ServiceTypeClusterIP
	}
	return corev1.ServiceType(s.te.Spec.Service.Type)
}
