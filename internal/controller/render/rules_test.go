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
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
)

// Table tests for the Deployment and Service rules that matter beyond what the golden files show. A case that unsets
// a field the API defaults is defaulted again before it is rendered, as the reconciler does.

func TestDeploymentStrategy(t *testing.T) {
	emptyDir := v1alpha1.StorageSpec{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	claim := v1alpha1.StorageSpec{PersistentVolumeClaim: &v1alpha1.ExistingClaim{ClaimName: "files"}}
	template := ftpNodePort().Spec.Storage
	tests := []struct {
		name     string
		storage  v1alpha1.StorageSpec
		replicas *int32
		want     string
	}{
		{"emptyDir, one pod", emptyDir, new(int32(1)), "RollingUpdate"},
		{"no storage set (emptyDir by default)", v1alpha1.StorageSpec{}, nil, "RollingUpdate"},
		{"existing claim, one pod", claim, new(int32(1)), "Recreate"},
		{"existing claim, replicas unset", claim, nil, "Recreate"},
		{"claim template, one pod", template, new(int32(1)), "Recreate"},
		{"existing claim, two pods", claim, new(int32(2)), "RollingUpdate"},
		{"claim template, three pods", template, new(int32(3)), "RollingUpdate"},
		{"existing claim, scaled to zero", claim, new(int32(0)), "RollingUpdate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := sftpMinimal()
			te.Spec.Storage = tt.storage
			te.Spec.Replicas = tt.replicas
			s := Deployment(defaulted(te), DeploymentInputs{Image: testImage}).Spec.Strategy
			if string(s.Type) != tt.want {
				t.Fatalf("strategy %s, want %s", s.Type, tt.want)
			}
			if s.Type == "RollingUpdate" {
				ru := s.RollingUpdate
				if ru == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() != 1 {
					t.Errorf("rollingUpdate %+v, want maxUnavailable 0 and maxSurge 1", ru)
				}
			} else if s.RollingUpdate != nil {
				t.Errorf("Recreate with rollingUpdate %+v", s.RollingUpdate)
			}
		})
	}
}

// TestServiceNodePorts: each passive port is published as the same node port on a NodePort Service, because the
// server announces one number; every other port leaves its node port to Kubernetes.
func TestServiceNodePorts(t *testing.T) {
	for _, svcType := range []v1alpha1.ServiceType{"ClusterIP", "NodePort", "LoadBalancer"} {
		t.Run(string(svcType), func(t *testing.T) {
			te := partners()
			te.Spec.Service.Type = svcType
			passive := 0
			for _, p := range Service(te).Spec.Ports {
				isPassive := p.Name == passivePortName(p.Port)
				wantNodePort := int32(0)
				if isPassive {
					passive++
					if p.TargetPort.IntValue() != int(p.Port) {
						t.Errorf("%s: targetPort %s, want %d", p.Name, p.TargetPort.String(), p.Port)
					}
					if svcType == "NodePort" {
						wantNodePort = p.Port
					}
				}
				if p.NodePort != wantNodePort {
					t.Errorf("%s: nodePort %d, want %d", p.Name, p.NodePort, wantNodePort)
				}
				if p.Protocol != corev1.ProtocolTCP {
					t.Errorf("%s: protocol %s, want TCP", p.Name, p.Protocol)
				}
			}
			if passive != 20 {
				t.Errorf("%d passive ports, want 20", passive)
			}
		})
	}
}

func TestExternalTrafficPolicy(t *testing.T) {
	cluster := corev1.ServiceExternalTrafficPolicyCluster
	local := corev1.ServiceExternalTrafficPolicyLocal
	tests := []struct {
		svcType v1alpha1.ServiceType
		spec    *corev1.ServiceExternalTrafficPolicy
		want    corev1.ServiceExternalTrafficPolicy
	}{
		{"", nil, ""},
		{"ClusterIP", nil, ""},
		{"NodePort", nil, local},
		{"LoadBalancer", nil, local},
		{"NodePort", &cluster, cluster},
		{"LoadBalancer", &cluster, cluster},
		{"LoadBalancer", &local, local},
	}
	for _, tt := range tests {
		te := sftpMinimal()
		te.Spec.Service.Type = tt.svcType
		te.Spec.Service.ExternalTrafficPolicy = tt.spec
		if got := Service(defaulted(te)).Spec.ExternalTrafficPolicy; got != tt.want {
			t.Errorf("type %q, spec %v: externalTrafficPolicy %q, want %q", tt.svcType, tt.spec, got, tt.want)
		}
	}
}

func TestSessionAffinity(t *testing.T) {
	tests := []struct {
		name     string
		te       *v1alpha1.TransferEndpoint
		replicas *int32
		want     bool
	}{
		{"FTP, one pod", partners(), new(int32(1)), false},
		{"FTP, replicas unset", partners(), nil, false},
		{"FTP, two pods", partners(), new(int32(2)), true},
		{"FTP only, three pods", ftpNodePort(), new(int32(3)), true},
		{"SFTP only, three pods", sftpMinimal(), new(int32(3)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.te.Spec.Replicas = tt.replicas
			spec := Service(defaulted(tt.te)).Spec
			if !tt.want {
				if spec.SessionAffinity != "" || spec.SessionAffinityConfig != nil {
					t.Errorf("sessionAffinity %q %+v, want unset", spec.SessionAffinity, spec.SessionAffinityConfig)
				}
				return
			}
			if spec.SessionAffinity != corev1.ServiceAffinityClientIP {
				t.Fatalf("sessionAffinity %q, want ClientIP", spec.SessionAffinity)
			}
			c := spec.SessionAffinityConfig
			if c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil || *c.ClientIP.TimeoutSeconds != 10800 {
				t.Errorf("sessionAffinityConfig %+v, want clientIP.timeoutSeconds 10800", c)
			}
		})
	}
}

// TestDeterministic renders every case twice: the objects must be equal, or the reconciler would update them on
// every pass.
func TestDeterministic(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			first, second := renderCase(t, c), renderCase(t, c)
			if !reflect.DeepEqual(first.objects, second.objects) {
				t.Error("two renderings differ")
			}
			for file, data := range first.files {
				if string(data) != string(second.files[file]) {
					t.Errorf("%s: two renderings differ", file)
				}
			}
		})
	}
}

// TestPortNames: a port name has at most 15 characters, names are unique, and every Service target port names a
// container port.
func TestPortNames(t *testing.T) {
	for _, c := range allEndpoints() {
		t.Run(c.name, func(t *testing.T) {
			container := Deployment(c.endpoint, DeploymentInputs{Image: testImage}).Spec.Template.Spec.Containers[0]
			names := map[string]bool{}
			for _, p := range container.Ports {
				if len(p.Name) > 15 {
					t.Errorf("container port name %q is longer than 15 characters", p.Name)
				}
				if names[p.Name] {
					t.Errorf("container port name %q used twice", p.Name)
				}
				names[p.Name] = true
			}
			for _, p := range Service(c.endpoint).Spec.Ports {
				if len(p.Name) > 15 {
					t.Errorf("service port name %q is longer than 15 characters", p.Name)
				}
				if target := p.TargetPort.StrVal; target != "" && !names[target] {
					t.Errorf("service port %s targets %q, which is no container port", p.Name, target)
				}
			}
			// The longest possible passive port name.
			if n := passivePortName(65535); len(n) > 15 {
				t.Errorf("%q is longer than 15 characters", n)
			}
		})
	}
}
