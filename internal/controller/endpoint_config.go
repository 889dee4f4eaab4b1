// Copyright 2026 The pier authors.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// reconcileConfig renders the server config, with every user bound to the endpoint that it can serve, into the
// config Secret the pods mount and watch. Whatever else fails, a change that takes access away (a user deleted,
// disabled, restricted, or whose Secret is gone) reaches the Secret: users that cannot be served are left out one
// by one rather than failing the whole, and when the whole still cannot be written the served config is written
// again with only what shrinks it (shrinkOnly).
func (r *EndpointReconciler) reconcileConfig(ctx context.Context, s *endpointState) error {
	// The config served now supplies the hashes of unchanged passwords, and stands in for credentials whose
	// Secrets cannot be used.
	state, cached, err := r.served.current(ctx, s.te)
	if err != nil {
		return err
	}
	served := state.servedConfig
	plan, err := r.planUsers(ctx, s.te, served)
	if err != nil {
		return err
	}
	if plan.unreadable {
		s.requeueAt(unreadableRecheck)
	}

	// Until a config is written below, the users' readiness is counted against the one served now.
	s.tally = &userTally{plan: plan, serving: served.config}
	hostKeyNames, ok := s.hostKeyNames(served.config)
	if !ok {
		s.configProblem(transferv1alpha1.ReasonNoHostKeys, "no usable SSH host keys yet (see the HostKeysReady condition); the server cannot start without them")
		return nil
	}
	passive, kept := s.passiveAddresses(served.config)
	if s.te.Spec.FTP != nil && !kept {
		s.put(addressReady(s.te, passive))
	}
	inputs := render.ConfigInputs{HostKeyNames: hostKeyNames, PassiveAddresses: passive}
	var cfg *serverconfig.Config
	data, gzipped, err := fitConfig(&plan, s.te.Name, MaxConfigBytes, func(entries []serverconfig.User) ([]byte, error) {
		inputs.Users = entries
		cfg = render.ServerConfig(s.te, inputs)
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return cfg.Marshal()
	})
	s.usersCondition(plan)
	if err != nil {
		// The CRD's validation should make this impossible; if it happens, keep serving the last config.
		msg := fmt.Sprintf("the rendered server config is invalid, keeping the last one: %v", err)
		s.configProblem(transferv1alpha1.ReasonInvalidConfig, msg)
		r.warn(s.te, transferv1alpha1.ReasonInvalidConfig, msg)
		return nil
	}
	secret := render.ConfigSecret(s.te, data, gzipped, plan.passwordSources(maxSecretBytes-len(data)))
	if !configInSync(secret, state, cached) {
		live, err := ensure(ctx, r.Client, r.APIReader, secret, secretKind)
		if err != nil {
			return r.writeShrinkOnly(ctx, s, served.config, plan, err)
		}
		if live.ResourceVersion != state.resourceVersion {
			r.served.wrote(live, cfg)
		}
	}
	s.config = cfg
	s.users = int32(len(plan.served))
	s.tally = &userTally{plan: plan, serving: cfg, servesPlan: true}
	r.notifyUsers(ctx, s.te.Namespace, plan.changedUsers(served.config, cfg))
	return nil
}

// notifyUsers wakes the user reconciler for the named TransferUsers, whose entries the config now serves changed.
func (r *EndpointReconciler) notifyUsers(ctx context.Context, namespace string, names []string) {
	if r.userEvents == nil {
		return
	}
	for _, name := range names {
		tu := &transferv1alpha1.TransferUser{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
		select {
		case r.userEvents <- event.GenericEvent{Object: tu}:
		case <-ctx.Done():
			return
		}
	}
}

// configInSync reports whether the config Secret already holds desired, as far as the store and the cache's
// metadata of the Secret tell without reading it: the store's version is the cache's, with the same data, and
// the Secret carries desired's labels, annotations (the spec hash among them) and owner. When they cannot tell,
// ensure reads the Secret and compares.
func configInSync(desired *corev1.Secret, state *servedState, cached *metav1.PartialObjectMetadata) bool {
	if cached == nil || state.resourceVersion != cached.ResourceVersion || state.data != secretDigest(desired) {
		return false
	}
	hash, err := specHash(desired)
	if err != nil {
		return false
	}
	setAnnotation(desired, annotationSpecHash, hash)
	return hasMetadata(desired, cached)
}

// unreadableRecheck is how soon an endpoint is reconciled again after a user's Secret could not be read.
const unreadableRecheck = 10 * time.Second

// writeShrinkOnly writes the served config with only the changes that shrink it, after writing the full one failed
// with failure: revocations reach the pods even while the endpoint cannot be brought up to date.
func (r *EndpointReconciler) writeShrinkOnly(ctx context.Context, s *endpointState, served *serverconfig.Config, plan userPlan, failure error) error {
	msg := fmt.Sprintf("writing the config Secret %s failed: %v", s.names.ConfigSecret, failure)
	if served == nil {
		return errors.New(msg)
	}
	shrunk := shrinkOnly(served, plan)
	data, err := shrunk.Marshal()
	if err == nil {
		gzipped := len(data) > MaxConfigBytes
		if gzipped {
			data = serverconfig.Gzip(data)
		}
		// Every entry of the plan's record is still true (a digest vouches for one hash made from one Secret
		// version, whatever the config serves); those of the users kept as they were vouch for nothing here.
		var live *corev1.Secret
		live, err = ensure(ctx, r.Client, r.APIReader, render.ConfigSecret(s.te, data, gzipped, plan.passwordSources(maxSecretBytes-len(data))), secretKind)
		if err == nil {
			r.served.wrote(live, shrunk)
		}
	}
	if err != nil {
		return fmt.Errorf("%s, and so did writing the served config with only removals and restrictions applied: %w", msg, err)
	}
	msg += "; the served config was written again with only removals, disables and restrictions applied"
	s.set(transferv1alpha1.ConditionUsersServed, metav1.ConditionFalse, transferv1alpha1.ReasonConfigWriteFailed, msg)
	r.warn(s.te, transferv1alpha1.ReasonConfigWriteFailed, msg)
	s.config = shrunk
	s.users = int32(len(shrunk.Users))
	s.tally = &userTally{plan: plan, serving: shrunk}
	r.notifyUsers(ctx, s.te.Namespace, plan.changedUsers(served, shrunk))
	return nil
}

// hostKeyNames are the host-key Secret entries the config points at: the ones found this time, else the ones the
// served config uses (the Secret may be briefly unreadable, and the pods still have it mounted). ok is false for
// an SFTP endpoint without any.
func (s *endpointState) hostKeyNames(served *serverconfig.Config) ([]string, bool) {
	if s.te.Spec.SFTP == nil {
		return nil, true
	}
	var names []string
	for _, k := range s.hostKeys {
		names = append(names, k.Name)
	}
	if len(names) == 0 {
		names = hostKeyFileNames(served)
	}
	return names, len(names) > 0
}

// passiveAddresses are what FTP's passive mode announces, one per IP family (render.PassiveAddresses):
// spec.ftp.passive.address and the Service's load-balancer addresses. kept is true when they are the served
// config's, because the Service could not be read this time (its step failed); AddressReady then stays as it was.
func (s *endpointState) passiveAddresses(served *serverconfig.Config) (addresses []string, kept bool) {
	ftp := s.te.Spec.FTP
	if ftp == nil {
		return nil, false
	}
	loadBalancer := render.ServiceType(s.te) == corev1.ServiceTypeLoadBalancer
	if s.service == nil && loadBalancer && served != nil && served.FTP != nil {
		return served.FTP.Passive.Addresses(), true
	}
	var ingress []corev1.LoadBalancerIngress
	if loadBalancer && s.service != nil {
		ingress = s.service.Status.LoadBalancer.Ingress
	}
	return render.PassiveAddresses(ftp.Passive.Address, ingress), false
}

// addressReady is the AddressReady condition of an FTP endpoint whose passive mode announces addresses: where
// they come from, or why there are none and what clients then get.
func addressReady(te *transferv1alpha1.TransferEndpoint, addresses []string) metav1.Condition {
	c := metav1.Condition{Type: transferv1alpha1.ConditionAddressReady, Status: metav1.ConditionTrue}
	explicit := te.Spec.FTP.Passive.Address
	announced := strings.Join(addresses, " and ")
	switch {
	case explicit != "":
		c.Reason = transferv1alpha1.ReasonConfigured
		c.Message = fmt.Sprintf("passive mode announces %s from spec.ftp.passive.address", explicit)
		if len(addresses) > 1 {
			c.Message = fmt.Sprintf("passive mode announces %s: spec.ftp.passive.address %s, and the load balancer's address of the other IP family",
				announced, explicit)
		}
	case len(addresses) > 0:
		c.Reason = transferv1alpha1.ReasonLoadBalancer
		c.Message = fmt.Sprintf("passive mode announces the load balancer's address %s", announced)
	case render.ServiceType(te) == corev1.ServiceTypeLoadBalancer:
		c.Status, c.Reason = metav1.ConditionFalse, transferv1alpha1.ReasonLoadBalancerPending
		c.Message = "waiting for the Service's load-balancer address; until then passive mode announces the pod's own address, which clients outside the cluster cannot reach"
	case render.ServiceType(te) == corev1.ServiceTypeNodePort:
		c.Status, c.Reason = metav1.ConditionFalse, transferv1alpha1.ReasonAddressRequired
		c.Message = "a NodePort Service has no single external address: set spec.ftp.passive.address to the address clients reach the nodes at, or passive mode will announce the pod's own address"
	default:
		c.Reason = transferv1alpha1.ReasonClusterInternal
		c.Message = "passive mode announces the pod's address, reachable from inside the cluster; use a LoadBalancer Service or set spec.ftp.passive.address for clients outside it"
	}
	return c
}
