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

package render

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// sessionAffinitySeconds is how long ClientIP affinity keeps a client on one pod: three hours, Kubernetes' own
// default for ClientIP affinity.
const sessionAffinitySeconds = 10800

// Service exposes the endpoint: its control ports (mapped onto the container's unprivileged ports by name) and
// every FTP passive port (the same number outside and inside, because the server announces it to clients).
func Service(te *v1alpha1.TransferEndpoint) *corev1.Service {
	spec := te.Spec.Service
	svcType := ServiceType(te)

	meta := objectMeta(te, NamesFor(te).Service)
	meta.Annotations = maps.Clone(spec.Annotations)

	svc := &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Type:                     svcType,
			Selector:                 SelectorLabels(te),
			Ports:                    servicePorts(te, svcType),
			ExternalTrafficPolicy:    externalTrafficPolicy(te, svcType),
			LoadBalancerSourceRanges: cidrStrings(spec.LoadBalancerSourceRanges),
			IPFamilies:               slices.Clone(spec.IPFamilies),
		},
	}
	if spec.IPFamilyPolicy != nil {
		svc.Spec.IPFamilyPolicy = new(*spec.IPFamilyPolicy)
	}
	if spec.LoadBalancerClass != nil {
		svc.Spec.LoadBalancerClass = new(*spec.LoadBalancerClass)
	}
	// A passive data connection must reach the pod that holds the client's control connection: that pod alone
	// listens for it. A Service cannot promise that with several pods: ClientIP affinity holds per port, not
	// across ports (kubernetes/kubernetes#103000), as the real-node test showed (test/e2e, make test-e2e-node), so
	// the API refuses FTP on more than one replica. The affinity stays for an endpoint stored before that rule:
	// it keeps at least each of a client's ports on one pod.
	if ftpEnabled(te) && replicas(te) > 1 {
		svc.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		svc.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{
			ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: new(int32(sessionAffinitySeconds))},
		}
	}
	return svc
}

// ServiceType is the type of the endpoint's (defaulted) Service. The reconciler asks it too, to know whether a
// load balancer will give passive FTP an address.
func ServiceType(te *v1alpha1.TransferEndpoint) corev1.ServiceType {
	return corev1.ServiceType(te.Spec.Service.Type)
}

// servicePorts are the Service's ports. The control ports leave nodePort to Kubernetes; a passive port on a
// NodePort Service must be published as the same node port, because the server announces one number only.
func servicePorts(te *v1alpha1.TransferEndpoint, svcType corev1.ServiceType) []corev1.ServicePort {
	var ports []corev1.ServicePort
	if sftpEnabled(te) {
		ports = append(ports, namedServicePort(PortNameSFTP, te.Spec.SFTP.Port))
	}
	if ftpEnabled(te) {
		ports = append(ports, namedServicePort(PortNameFTP, te.Spec.FTP.Port))
		if p, ok := implicitPort(te); ok {
			ports = append(ports, namedServicePort(PortNameFTPS, p))
		}
	}
	for _, p := range passivePorts(te) {
		port := corev1.ServicePort{
			Name:       passivePortName(p),
			Protocol:   corev1.ProtocolTCP,
			Port:       p,
			TargetPort: intstr.FromInt32(p),
		}
		if svcType == corev1.ServiceTypeNodePort {
			port.NodePort = p
		}
		ports = append(ports, port)
	}
	return ports
}

// namedServicePort publishes port and sends it to the container port of the same name.
func namedServicePort(name string, port int32) corev1.ServicePort {
	return corev1.ServicePort{
		Name:       name,
		Protocol:   corev1.ProtocolTCP,
		Port:       port,
		TargetPort: intstr.FromString(name),
	}
}

// externalTrafficPolicy is the spec's value, else Local for a Service reachable from outside the cluster: Local
// keeps the client's own source address, which allowedSourceRanges, per-address limits and bans, and FTP's check
// that a data connection comes from the control connection's address all need. A ClusterIP Service has no
// external traffic, and the API server refuses the field there.
func externalTrafficPolicy(te *v1alpha1.TransferEndpoint, svcType corev1.ServiceType) corev1.ServiceExternalTrafficPolicy {
	if svcType != corev1.ServiceTypeNodePort && svcType != corev1.ServiceTypeLoadBalancer {
		return ""
	}
	if p := te.Spec.Service.ExternalTrafficPolicy; p != nil {
		return *p
	}
	return corev1.ServiceExternalTrafficPolicyLocal
}
