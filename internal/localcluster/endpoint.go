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

package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/render"
)

// Endpoint is how a client on this machine reaches an endpoint: for a pod the runner runs, its container ports
// bound on this machine (EndpointInfo); on a real node, its Service (ServiceEndpoint). And its host keys.
type Endpoint struct {
	Namespace, Name string
	// Host is where the ports are reachable: this machine.
	Host         string
	SFTPPort     int
	FTPPort      int
	FTPSPort     int // implicit FTPS, 0 when off
	PassiveStart int
	PassiveEnd   int
	// KnownHosts holds one known_hosts line per host key, for Host (and localhost, locally) on SFTPPort.
	KnownHosts []byte
}

// EndpointInfo reads the endpoint's Deployment and host keys.
func EndpointInfo(ctx context.Context, c client.Client, namespace, name string) (*Endpoint, error) {
	dep := &appsv1.Deployment{}
	te, err := readEndpoint(ctx, c, namespace, name, dep)
	if err != nil {
		return nil, err
	}
	e := &Endpoint{Namespace: namespace, Name: name, Host: "127.0.0.1"}
	for _, p := range dep.Spec.Template.Spec.Containers[0].Ports {
		e.addPort(p.Name, int(p.ContainerPort))
	}
	if err := e.addKnownHosts(ctx, c, te, "127.0.0.1", "localhost"); err != nil {
		return nil, err
	}
	return e, nil
}

// readEndpoint reads the TransferEndpoint namespace/name, and into child (its Deployment or its Service) that
// child, by the name render gives it.
func readEndpoint(ctx context.Context, c client.Client, namespace, name string, child client.Object) (*transferv1alpha1.TransferEndpoint, error) {
	te := &transferv1alpha1.TransferEndpoint{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, te); err != nil {
		return nil, fmt.Errorf("reading TransferEndpoint %s/%s: %w", namespace, name, err)
	}
	names := render.NamesFor(te)
	var kind, childName string
	switch child.(type) {
	case *appsv1.Deployment:
		kind, childName = "Deployment", names.Deployment
	case *corev1.Service:
		kind, childName = "Service", names.Service
	default:
		return nil, fmt.Errorf("an endpoint has no child of type %T", child)
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: childName}, child); err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", kind, childName, err)
	}
	return te, nil
}

// addPort records the port of the pod's or Service's port named name; the names are the ones render gives them.
func (e *Endpoint) addPort(name string, port int) {
	switch {
	case name == render.PortNameSFTP:
		e.SFTPPort = port
	case name == render.PortNameFTP:
		e.FTPPort = port
	case name == render.PortNameFTPS:
		e.FTPSPort = port
	case strings.HasPrefix(name, render.PortNamePassivePrefix):
		if e.PassiveStart == 0 || port < e.PassiveStart {
			e.PassiveStart = port
		}
		e.PassiveEnd = max(e.PassiveEnd, port)
	}
}

// addKnownHosts fills in KnownHosts for hosts on SFTPPort when te serves SFTP.
func (e *Endpoint) addKnownHosts(ctx context.Context, c client.Client, te *transferv1alpha1.TransferEndpoint, hosts ...string) error {
	if te.Spec.SFTP == nil {
		return nil
	}
	var err error
	e.KnownHosts, err = knownHosts(ctx, c, te.Namespace, render.NamesFor(te).HostKeysSecret, e.SFTPPort, hosts...)
	return err
}

// knownHosts is one known_hosts line per host key in the host-key Secret, for the hosts on port.
func knownHosts(ctx context.Context, c client.Client, namespace, secretName string, port int, hosts ...string) ([]byte, error) {
	secret := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: secretName}, secret); err != nil {
		return nil, fmt.Errorf("reading host keys %s: %w", secretName, err)
	}
	patterns := make([]string, 0, len(hosts))
	for _, h := range hosts {
		// [host]:port, or the bare host on OpenSSH's default port 22, as OpenSSH looks it up.
		patterns = append(patterns, knownhosts.Normalize(net.JoinHostPort(h, strconv.Itoa(port))))
	}
	var out []byte
	for _, k := range slices.Sorted(maps.Keys(secret.Data)) {
		signer, err := ssh.ParsePrivateKey(secret.Data[k])
		if err != nil {
			continue
		}
		out = append(out, strings.Join(patterns, ",")+" "...)
		out = append(out, ssh.MarshalAuthorizedKey(signer.PublicKey())...)
	}
	return out, nil
}

// ServiceEndpoint is how a client on a node of a real cluster reaches the endpoint through its Service: the
// Service's cluster IP, which kube-proxy translates on the node, with the Service ports, and the host keys.
func ServiceEndpoint(ctx context.Context, c client.Client, namespace, name string) (*Endpoint, error) {
	svc := &corev1.Service{}
	te, err := readEndpoint(ctx, c, namespace, name, svc)
	if err != nil {
		return nil, err
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return nil, fmt.Errorf("the Service %s has no cluster IP", svc.Name)
	}
	e := &Endpoint{Namespace: namespace, Name: name, Host: svc.Spec.ClusterIP}
	for _, p := range svc.Spec.Ports {
		e.addPort(p.Name, int(p.Port))
	}
	if err := e.addKnownHosts(ctx, c, te, e.Host); err != nil {
		return nil, err
	}
	return e, nil
}

// WaitReady waits until obj (a TransferEndpoint or TransferUser) has Ready=True for its current generation.
func WaitReady(ctx context.Context, c client.Client, obj client.Object, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "not found yet"
	for {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err == nil {
			var conds []metav1.Condition
			if o, ok := obj.(transferv1alpha1.Conditioned); ok {
				conds = o.GetConditions()
			}
			generation := obj.GetGeneration()
			if ready := meta.FindStatusCondition(conds, transferv1alpha1.ConditionReady); ready != nil {
				if ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == generation {
					return nil
				}
				last = fmt.Sprintf("%s: %s", ready.Reason, ready.Message)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%T %s is not Ready after %s (last: %s)", obj, obj.GetName(), timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ApplyFile creates every object of a YAML file (several documents allowed) in namespace, leaving objects that
// already exist alone.
func ApplyFile(ctx context.Context, c client.Client, namespace, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		obj.SetNamespace(namespace)
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("applying %s %s from %s: %w", obj.GetKind(), obj.GetName(), filepath.Base(file), err)
		}
	}
	return nil
}

// GeneratedPassword reads the password the operator generated for a TransferUser.
func GeneratedPassword(ctx context.Context, c client.Client, tu *transferv1alpha1.TransferUser) (string, error) {
	ref := tu.Status.PasswordSecretRef
	if ref == nil {
		return "", errors.New("the user has no generated password (status.passwordSecretRef is empty)")
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: tu.Namespace, Name: ref.Name}, secret); err != nil {
		return "", err
	}
	return string(secret.Data[ref.Key]), nil
}
