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

package render

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/server/config"
)

// Table tests for the rules that matter beyond what the golden files show.

// TestRestartHash checks that only what pier-server cannot apply while running changes the hash: a user change
// must never restart the pods.
func TestRestartHash(t *testing.T) {
	base := func() (*v1alpha1.TransferEndpoint, ConfigInputs) {
		return partners(), ConfigInputs{
			Users:          []config.User{userAlice(), userBob()},
			HostKeyNames:   generatedHostKeyNames,
			PassiveAddress: "10.96.41.7",
		}
	}
	tests := []struct {
		name    string
		change  func(te *v1alpha1.TransferEndpoint, in *ConfigInputs)
		changed bool
	}{
		{"nothing", func(*v1alpha1.TransferEndpoint, *ConfigInputs) {}, false},
		{"a user added", func(_ *v1alpha1.TransferEndpoint, in *ConfigInputs) {
			in.Users = append(in.Users, userCarol())
		}, false},
		{"every user removed", func(_ *v1alpha1.TransferEndpoint, in *ConfigInputs) { in.Users = nil }, false},
		{"a user disabled", func(_ *v1alpha1.TransferEndpoint, in *ConfigInputs) { in.Users[0].Disabled = true }, false},
		{"limits", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			te.Spec.Limits.MaxConnections = 7
			te.Spec.Limits.IdleTimeout = &metav1.Duration{Duration: 42e9}
			te.Spec.Limits.MaxLoginFailures = ptrTo(int32(0))
		}, false},
		{"allowed source ranges", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			te.Spec.AllowedSourceRanges = []v1alpha1.CIDR{"10.0.0.0/8"}
		}, false},
		{"passive address", func(_ *v1alpha1.TransferEndpoint, in *ConfigInputs) {
			in.PassiveAddress = "203.0.113.99"
		}, false},
		{"host key names", func(_ *v1alpha1.TransferEndpoint, in *ConfigInputs) {
			in.HostKeyNames = []string{"ssh_host_ed25519_key"}
		}, false},
		{"TLS mode Required to Optional", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			te.Spec.FTP.TLS.Mode = v1alpha1.FTPTLSOptional
		}, false},
		{"TLS minimum version", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			te.Spec.FTP.TLS.MinVersion = "1.3"
		}, false},
		{"passive port range", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			te.Spec.FTP.Passive.PortRange = v1alpha1.PortRange{Start: 31000, End: 31004}
		}, false},
		{"SFTP auth methods", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			te.Spec.SFTP.AuthMethods = []v1alpha1.SFTPAuthMethod{v1alpha1.SFTPAuthPublicKey}
		}, false},
		{"Service ports", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			// The container ports stay the same; only the Service maps other ports onto them.
			te.Spec.SFTP.Port = 2022
			te.Spec.FTP.Port = 2021
			te.Spec.FTP.TLS.ImplicitPort = ptrTo(int32(10990))
		}, false},
		{"SFTP turned off", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) { te.Spec.SFTP = nil }, true},
		{"FTP turned off", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) { te.Spec.FTP = nil }, true},
		{"implicit FTPS removed", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			te.Spec.FTP.TLS.ImplicitPort = nil
		}, true},
		{"FTPS turned off (no certificate)", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			te.Spec.FTP.TLS.ImplicitPort = nil
			te.Spec.FTP.TLS.Mode = v1alpha1.FTPTLSDisabled
			te.Spec.FTP.TLS.IssuerRef = nil
			te.Spec.FTP.TLS.DNSNames = nil
		}, true},
	}
	te, in := base()
	want := RestartHash(ServerConfig(te, in))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te, in := base()
			tt.change(te, &in)
			got := RestartHash(ServerConfig(te, in))
			if (got != want) != tt.changed {
				t.Errorf("hash %s, before %s; want changed = %t", got, want, tt.changed)
			}
		})
	}

	// The other direction: turning a protocol or implicit FTPS on changes it too.
	sftpOnly := sftpMinimal()
	withFTP := sftpMinimal()
	withFTP.Spec.FTP = partners().Spec.FTP
	withImplicit := sftpMinimal()
	withImplicit.Spec.FTP = partners().Spec.FTP.DeepCopy()
	withImplicit.Spec.FTP.TLS.ImplicitPort = nil
	hashes := map[string]string{}
	for name, te := range map[string]*v1alpha1.TransferEndpoint{
		"sftp only": sftpOnly, "sftp and ftp": withFTP, "sftp and ftp without implicit FTPS": withImplicit,
	} {
		h := RestartHash(ServerConfig(te, ConfigInputs{HostKeyNames: generatedHostKeyNames}))
		for other, oh := range hashes {
			if h == oh {
				t.Errorf("%q and %q have the same restart hash %s", name, other, h)
			}
		}
		hashes[name] = h
	}
}

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
		{"emptyDir, one pod", emptyDir, ptrTo(int32(1)), "RollingUpdate"},
		{"no storage set (emptyDir by default)", v1alpha1.StorageSpec{}, nil, "RollingUpdate"},
		{"existing claim, one pod", claim, ptrTo(int32(1)), "Recreate"},
		{"existing claim, replicas unset", claim, nil, "Recreate"},
		{"claim template, one pod", template, ptrTo(int32(1)), "Recreate"},
		{"existing claim, two pods", claim, ptrTo(int32(2)), "RollingUpdate"},
		{"claim template, three pods", template, ptrTo(int32(3)), "RollingUpdate"},
		{"existing claim, scaled to zero", claim, ptrTo(int32(0)), "RollingUpdate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := sftpMinimal()
			te.Spec.Storage = tt.storage
			te.Spec.Replicas = tt.replicas
			s := Deployment(te, DeploymentInputs{Image: testImage}).Spec.Strategy
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
		if got := Service(te).Spec.ExternalTrafficPolicy; got != tt.want {
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
		{"FTP, one pod", partners(), ptrTo(int32(1)), false},
		{"FTP, replicas unset", partners(), nil, false},
		{"FTP, two pods", partners(), ptrTo(int32(2)), true},
		{"FTP only, three pods", ftpNodePort(), ptrTo(int32(3)), true},
		{"SFTP only, three pods", sftpMinimal(), ptrTo(int32(3)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.te.Spec.Replicas = tt.replicas
			spec := Service(tt.te).Spec
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

// TestRestrictedPodSecurity checks every Deployment against the restricted Pod Security Standard, plus the
// read-only root file system pier asks for.
func TestRestrictedPodSecurity(t *testing.T) {
	for _, c := range allEndpoints() {
		t.Run(c.name, func(t *testing.T) {
			d := Deployment(c.endpoint, DeploymentInputs{Image: testImage})
			for _, problem := range restrictedViolations(d.Spec.Template.Spec) {
				t.Error(problem)
			}
		})
	}
}

// restrictedViolations lists what in spec breaks the restricted Pod Security Standard
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted), or pier's own rules:
// read-only root file system and unprivileged container ports.
func restrictedViolations(spec corev1.PodSpec) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		add("pod: uses host namespaces")
	}
	pod := spec.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		add("pod: seccompProfile is not RuntimeDefault")
	}
	if pod.RunAsUser != nil && *pod.RunAsUser == 0 {
		add("pod: runAsUser 0")
	}
	if len(pod.Sysctls) > 0 {
		add("pod: sets sysctls")
	}
	allowedVolume := func(v corev1.Volume) bool {
		s := v.VolumeSource
		return s.ConfigMap != nil || s.CSI != nil || s.DownwardAPI != nil || s.EmptyDir != nil ||
			s.Ephemeral != nil || s.PersistentVolumeClaim != nil || s.Projected != nil || s.Secret != nil
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil || !allowedVolume(v) {
			add("volume %s: type not allowed", v.Name)
		}
	}
	containers := slices.Concat(spec.InitContainers, spec.Containers)
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		if sc.Privileged != nil && *sc.Privileged {
			add("container %s: privileged", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			add("container %s: allowPrivilegeEscalation is not false", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			add("container %s: does not drop ALL capabilities", c.Name)
		} else if len(sc.Capabilities.Add) > 0 {
			add("container %s: adds capabilities %v", c.Name, sc.Capabilities.Add)
		}
		runAsNonRoot := pod.RunAsNonRoot
		if sc.RunAsNonRoot != nil {
			runAsNonRoot = sc.RunAsNonRoot
		}
		if runAsNonRoot == nil || !*runAsNonRoot {
			add("container %s: runAsNonRoot is not true", c.Name)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			add("container %s: runAsUser 0", c.Name)
		}
		if sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
			add("container %s: seccompProfile Unconfined", c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			add("container %s: root file system is writable", c.Name)
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				add("container %s: port %s uses hostPort %d", c.Name, p.Name, p.HostPort)
			}
			if p.ContainerPort < 1024 {
				add("container %s: port %s is privileged (%d)", c.Name, p.Name, p.ContainerPort)
			}
		}
	}
	return problems
}

// TestServerConfigValidates: with users and host keys, every rendered configuration is one pier-server accepts.
func TestServerConfigValidates(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			cfg := ServerConfig(c.endpoint, ConfigInputs{
				Users:          c.users,
				HostKeyNames:   c.hostKeyNames,
				PassiveAddress: c.passiveAddress,
			})
			if err := cfg.Validate(); err != nil {
				t.Errorf("invalid configuration:\n%v", err)
			}
			data, err := cfg.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := config.Parse(data)
			if err != nil {
				t.Fatalf("pier-server would refuse the file:\n%v", err)
			}
			if !reflect.DeepEqual(parsed, cfg) {
				t.Errorf("the file parses back to %+v, want %+v", parsed, cfg)
			}
		})
	}
}

// TestServerConfigKeepsInputs: ServerConfig applies defaults to its own copy of the users, not the caller's.
func TestServerConfigKeepsInputs(t *testing.T) {
	users := []config.User{userBob()}
	names := []string{"ssh_host_rsa_key", "ssh_host_ed25519_key"}
	ServerConfig(sftpMinimal(), ConfigInputs{Users: users, HostKeyNames: names})
	if !reflect.DeepEqual(users, []config.User{userBob()}) {
		t.Errorf("the caller's users changed: %+v", users)
	}
	if names[0] != "ssh_host_rsa_key" {
		t.Errorf("the caller's host key names were sorted in place: %v", names)
	}
}

func TestServerConfigTLSAndPassive(t *testing.T) {
	te := ftpNodePort()
	te.Spec.FTP.TLS.Mode = v1alpha1.FTPTLSDisabled
	te.Spec.FTP.TLS.SecretRef = nil
	cfg := ServerConfig(te, ConfigInputs{Users: []config.User{userBob()}})
	if cfg.FTP.TLS.CertFile != "" || cfg.FTP.TLS.KeyFile != "" {
		t.Errorf("mode Disabled: certFile %q keyFile %q, want none", cfg.FTP.TLS.CertFile, cfg.FTP.TLS.KeyFile)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("plain FTP: %v", err)
	}
	// The caller passed no passive address: the spec's own is still announced.
	if got := cfg.FTP.Passive.PublicAddress; got != "ftp.example.com" {
		t.Errorf("passive address %q, want the spec's ftp.example.com", got)
	}
	cfg = ServerConfig(te, ConfigInputs{PassiveAddress: "192.0.2.1"})
	if got := cfg.FTP.Passive.PublicAddress; got != "192.0.2.1" {
		t.Errorf("passive address %q, want the caller's 192.0.2.1", got)
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
