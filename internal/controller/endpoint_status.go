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
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	transferv1alpha1 "github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/controller/availability"
	"github.com/pier-dev/pier/internal/controller/hostkeys"
	"github.com/pier-dev/pier/internal/controller/render"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// endpointState is what one reconcile of a TransferEndpoint found and did; writeStatus turns it into the status.
type endpointState struct {
	te    *transferv1alpha1.TransferEndpoint
	names render.Names

	// conditions set by the steps that ran, by type.
	conditions map[string]metav1.Condition
	hostKeys   []hostkeys.Key
	tls        *transferv1alpha1.TLSStatus
	service    *corev1.Service
	deployment *appsv1.Deployment
	// pods are the Deployment's pods, which explain missing replicas.
	pods []corev1.Pod
	// config is the config now in the config Secret; nil when it could not be rendered.
	config *serverconfig.Config
	// configFailure explains a nil config.
	configFailure *metav1.Condition
	users         int32
	// tally is what status.userReadiness is counted from; nil when the users could not be listed.
	tally *userTally
	// complete is set when every step ran; only then is Ready decided.
	complete     bool
	requeueAfter time.Duration

	// hostKeyOutcome is the rest of what the host-key step found (endpoint_hostkeys.go).
	hostKeyOutcome hostKeyOutcome
	// readopted are the objects kept from an earlier endpoint of the same name that this reconcile took over.
	readopted []transferv1alpha1.ReadoptedObject
	// storageProblem, when set, says why the endpoint may not use the claim of its name; it holds the Deployment.
	storageProblem string
}

// set records a condition a step found; writeStatus puts it in the status.
func (s *endpointState) set(condType string, status metav1.ConditionStatus, reason, message string) {
	s.put(metav1.Condition{Type: condType, Status: status, Reason: reason, Message: message})
}

// put records a condition a step found, as set does.
func (s *endpointState) put(c metav1.Condition) {
	if s.conditions == nil {
		s.conditions = map[string]metav1.Condition{}
	}
	s.conditions[c.Type] = c
}

func (s *endpointState) configProblem(reason, message string) {
	s.configFailure = &metav1.Condition{Reason: reason, Message: message}
}

// requeueAt asks for another reconcile after d at the latest, for things that change with time alone.
func (s *endpointState) requeueAt(d time.Duration) {
	const longest = 24 * time.Hour
	d = min(max(d, time.Second), longest)
	if s.requeueAfter == 0 || d < s.requeueAfter {
		s.requeueAfter = d
	}
}

// writeStatus fills the endpoint's status from what the reconcile found. Conditions of steps that did not run
// (an API error stopped the reconcile) keep their last value.
func (s *endpointState) writeStatus(failure error) {
	te := s.te
	st := &te.Status
	st.ObservedGeneration = te.Generation

	if te.Spec.SFTP == nil {
		meta.RemoveStatusCondition(&st.Conditions, transferv1alpha1.ConditionHostKeysReady)
		st.HostKeys = nil
	}
	if !needsTLS(te) {
		meta.RemoveStatusCondition(&st.Conditions, transferv1alpha1.ConditionTLSReady)
		st.TLS = nil
	}
	if te.Spec.FTP == nil {
		meta.RemoveStatusCondition(&st.Conditions, transferv1alpha1.ConditionAddressReady)
	}
	for _, c := range s.conditions {
		s.setCondition(c)
	}
	if s.hostKeys != nil {
		st.HostKeys = nil
		for _, k := range s.hostKeys {
			st.HostKeys = append(st.HostKeys, transferv1alpha1.HostKeyStatus{Type: k.Type, Fingerprint: k.Fingerprint})
		}
	}
	s.writeHostKeyOutcome(st)
	if s.tls != nil {
		st.TLS = s.tls
	}
	st.Protocols = protocols(te)
	st.Storage = &transferv1alpha1.StorageStatus{ClaimName: s.names.ClaimName, Ephemeral: s.names.ClaimName == ""}
	if s.service != nil {
		st.Addresses = addresses(s.service)
	}
	// status.users is a pointer so that 0 is written and kubectl shows it: an omitted int would read <none>.
	switch {
	case s.config != nil:
		st.Users = new(s.users)
	case st.Users == nil:
		// No config could be written yet, so the server accepts no login. A config that cannot be rendered
		// now keeps the last one, and its count, in force.
		st.Users = new(int32)
	}
	if s.deployment != nil {
		st.Replicas = s.deployment.Status.Replicas
		st.AvailableReplicas = s.deployment.Status.AvailableReplicas
		s.setCondition(availability.Condition(s.deployment, s.pods))
	}

	// The scale subresource's selector: a HorizontalPodAutoscaler finds the server pods with it.
	st.Selector = labels.SelectorFromSet(render.SelectorLabels(te)).String()

	switch {
	case failure != nil:
		s.setCondition(metav1.Condition{Type: transferv1alpha1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: transferv1alpha1.ReasonReconcileFailed, Message: failure.Error()})
	case s.storageProblem != "":
		s.setCondition(metav1.Condition{Type: transferv1alpha1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: transferv1alpha1.ReasonNotAdopted, Message: s.storageProblem})
	case s.configFailure != nil:
		s.setCondition(metav1.Condition{Type: transferv1alpha1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: s.configFailure.Reason, Message: s.configFailure.Message})
	case s.complete:
		s.setCondition(s.ready())
	}
	// Last: the users' Ready conditions depend on the endpoint's, as just decided.
	if s.tally != nil {
		st.UserReadiness = s.tally.readiness(signalOf(te))
	}
}

// ready is True when every condition the endpoint depends on is True; otherwise it repeats the first that is not.
func (s *endpointState) ready() metav1.Condition {
	needed := []string{transferv1alpha1.ConditionHostKeysReady, transferv1alpha1.ConditionTLSReady, transferv1alpha1.ConditionAvailable}
	for _, t := range needed {
		c := meta.FindStatusCondition(s.te.Status.Conditions, t)
		if c == nil || c.Status == metav1.ConditionTrue {
			continue
		}
		return metav1.Condition{Type: transferv1alpha1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: c.Reason, Message: fmt.Sprintf("%s: %s", t, c.Message)}
	}
	return metav1.Condition{Type: transferv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: transferv1alpha1.ReasonServing,
		Message: fmt.Sprintf("serving %s to %d users", s.te.Status.Protocols, s.users)}
}

func (s *endpointState) setCondition(c metav1.Condition) {
	c.ObservedGeneration = s.te.Generation
	meta.SetStatusCondition(&s.te.Status.Conditions, c)
}

// protocols is the printer column's list: sftp, ftp (plain or explicit FTPS) and ftps (implicit).
func protocols(te *transferv1alpha1.TransferEndpoint) string {
	var list []string
	if te.Spec.SFTP != nil {
		list = append(list, render.PortNameSFTP)
	}
	if te.Spec.FTP != nil {
		list = append(list, render.PortNameFTP)
		if te.Spec.FTP.TLS.ImplicitPort != nil {
			list = append(list, render.PortNameFTPS)
		}
	}
	return strings.Join(list, ",")
}

// addresses are the URLs clients connect to: through the load balancer when it has an address, else the
// Service's cluster DNS name.
func addresses(svc *corev1.Service) []transferv1alpha1.EndpointAddress {
	hosts := render.IngressAddresses(svc.Status.LoadBalancer.Ingress)
	if len(hosts) == 0 {
		hosts = append(hosts, fmt.Sprintf("%s.%s.svc", svc.Name, svc.Namespace))
	}
	var out []transferv1alpha1.EndpointAddress
	for _, host := range hosts {
		for _, p := range svc.Spec.Ports {
			if p.Name != render.PortNameSFTP && p.Name != render.PortNameFTP && p.Name != render.PortNameFTPS {
				continue
			}
			url := p.Name + "://" + net.JoinHostPort(host, strconv.Itoa(int(p.Port)))
			out = append(out, transferv1alpha1.EndpointAddress{Protocol: p.Name, URL: url})
		}
	}
	return out
}
