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
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pier-dev/pier/api/v1alpha1"
	"github.com/pier-dev/pier/internal/serverconfig"
)

// TestRestartHash checks that only what pier-server cannot apply while running changes the hash: a user change
// must never restart the pods.
func TestRestartHash(t *testing.T) {
	base := func() (*v1alpha1.TransferEndpoint, ConfigInputs) {
		return partners(), ConfigInputs{
			Users:            []serverconfig.User{userAlice(), userBob()},
			HostKeyNames:     generatedHostKeyNames,
			PassiveAddresses: []string{"10.96.41.7"},
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
			te.Spec.Limits.IdleTimeout = &metav1.Duration{Duration: 42 * time.Second}
			te.Spec.Limits.MaxLoginFailures = new(int32(0))
		}, false},
		{"allowed source ranges", func(te *v1alpha1.TransferEndpoint, _ *ConfigInputs) {
			te.Spec.AllowedSourceRanges = []v1alpha1.CIDR{"10.0.0.0/8"}
		}, false},
		{"passive address", func(_ *v1alpha1.TransferEndpoint, in *ConfigInputs) {
			in.PassiveAddresses = []string{"203.0.113.99", "2001:db8::99"}
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
			te.Spec.FTP.TLS.ImplicitPort = new(int32(10990))
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

// TestServerConfigValidates: with users and host keys, every rendered configuration is one pier-server accepts.
func TestServerConfigValidates(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			cfg := ServerConfig(c.endpoint, ConfigInputs{
				Users:            c.users,
				HostKeyNames:     c.hostKeyNames,
				PassiveAddresses: c.passiveAddresses,
			})
			if err := cfg.Validate(); err != nil {
				t.Errorf("invalid configuration:\n%v", err)
			}
			data, err := cfg.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := serverconfig.Parse(data)
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
	users := []serverconfig.User{userBob()}
	names := []string{"ssh_host_rsa_key", "ssh_host_ed25519_key"}
	ServerConfig(sftpMinimal(), ConfigInputs{Users: users, HostKeyNames: names})
	if !reflect.DeepEqual(users, []serverconfig.User{userBob()}) {
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
	cfg := ServerConfig(te, ConfigInputs{Users: []serverconfig.User{userBob()}})
	if cfg.FTP.TLS.CertFile != "" || cfg.FTP.TLS.KeyFile != "" {
		t.Errorf("mode Disabled: certFile %q keyFile %q, want none", cfg.FTP.TLS.CertFile, cfg.FTP.TLS.KeyFile)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("plain FTP: %v", err)
	}
	// The caller passed no passive address: the spec's own is still announced, in the single-address field that
	// pier-server versions from before publicAddresses read too.
	if got := cfg.FTP.Passive.PublicAddress; got != "ftp.example.com" || cfg.FTP.Passive.PublicAddresses != nil {
		t.Errorf("passive addresses %q %q, want the spec's ftp.example.com in publicAddress",
			got, cfg.FTP.Passive.PublicAddresses)
	}
	cfg = ServerConfig(te, ConfigInputs{PassiveAddresses: []string{"192.0.2.1", "2001:db8::1"}})
	if got := cfg.FTP.Passive.Addresses(); !slices.Equal(got, []string{"192.0.2.1", "2001:db8::1"}) {
		t.Errorf("passive addresses %q, want the caller's", got)
	}
}

// TestIngressAddresses: every ingress point, in the load balancer's order, by its IP or else its host name.
func TestIngressAddresses(t *testing.T) {
	ingress := []corev1.LoadBalancerIngress{
		{Hostname: "abc.elb.example.com"},
		{IP: "2001:db8::7", Hostname: "ignored.example.com"},
		{}, // an ingress point still without either
		{IP: "203.0.113.7"},
	}
	want := []string{"abc.elb.example.com", "2001:db8::7", "203.0.113.7"}
	if got := IngressAddresses(ingress); !slices.Equal(got, want) {
		t.Errorf("IngressAddresses = %q, want %q", got, want)
	}
	if got := IngressAddresses(nil); got != nil {
		t.Errorf("IngressAddresses(nil) = %q, want none", got)
	}
}

// TestPassiveAddresses: one address per IP family, IPv4 first, from spec.ftp.passive.address and the load
// balancer's ingress; a host name stands alone.
func TestPassiveAddresses(t *testing.T) {
	v4, v6 := corev1.LoadBalancerIngress{IP: "203.0.113.7"}, corev1.LoadBalancerIngress{IP: "2001:db8::7"}
	elb := corev1.LoadBalancerIngress{Hostname: "abc.elb.example.com"}
	for _, tc := range []struct {
		name     string
		explicit string
		ingress  []corev1.LoadBalancerIngress
		want     []string
	}{
		{"nothing yet", "", nil, nil},
		{"IPv4 load balancer", "", []corev1.LoadBalancerIngress{v4}, []string{"203.0.113.7"}},
		{"IPv6 load balancer", "", []corev1.LoadBalancerIngress{v6}, []string{"2001:db8::7"}},
		{"dual-stack, IPv6 first", "", []corev1.LoadBalancerIngress{v6, v4}, []string{"203.0.113.7", "2001:db8::7"}},
		{"two of a family: the first", "", []corev1.LoadBalancerIngress{{IP: "203.0.113.8"}, v4, v6},
			[]string{"203.0.113.8", "2001:db8::7"}},
		{"host name only", "", []corev1.LoadBalancerIngress{elb}, []string{"abc.elb.example.com"}},
		{"IPs win over a host name", "", []corev1.LoadBalancerIngress{elb, v6}, []string{"2001:db8::7"}},
		{"explicit IPv4 replaces the load balancer's", "198.51.100.4", []corev1.LoadBalancerIngress{v4, v6},
			[]string{"198.51.100.4", "2001:db8::7"}},
		{"explicit IPv6 replaces the load balancer's", "2001:db8::1", []corev1.LoadBalancerIngress{v4, v6},
			[]string{"203.0.113.7", "2001:db8::1"}},
		{"explicit IPv6 alone", "2001:DB8::1", nil, []string{"2001:db8::1"}},
		{"explicit host name stands alone", "ftp.example.com", []corev1.LoadBalancerIngress{v4, v6},
			[]string{"ftp.example.com"}},
		{"IPv4-mapped ingress is IPv4", "", []corev1.LoadBalancerIngress{{IP: "::ffff:203.0.113.9"}},
			[]string{"203.0.113.9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PassiveAddresses(tc.explicit, tc.ingress)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("PassiveAddresses(%q, %v) = %q, want %q", tc.explicit, tc.ingress, got, tc.want)
			}
			if len(got) == 0 {
				return
			}
			p := serverconfig.Passive{PortRange: serverconfig.PortRange{Start: 30000, End: 30000}, PublicAddresses: got}
			c := &serverconfig.Config{APIVersion: serverconfig.APIVersion, Kind: serverconfig.Kind, FTP: &serverconfig.FTP{Passive: p,
				TLS: serverconfig.TLS{Mode: serverconfig.TLSDisabled}}, Storage: serverconfig.Storage{Root: "/data"}}
			c.ApplyDefaults()
			if err := c.Validate(); err != nil {
				t.Fatalf("pier-server would refuse %q: %v", got, err)
			}
		})
	}
}

// TestServerConfigRoundTrips: a rendered config, once valid, is what parsing its file gives back, so the operator
// may keep the config it rendered and wrote instead of parsing the file again (internal/controller servedConfigs).
func TestServerConfigRoundTrips(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			// The users as the operator renders them: with the server's defaults filled in (users.Entry).
			users := serverconfig.Config{Users: slices.Clone(tc.users)}
			users.ApplyDefaults()
			cfg := ServerConfig(tc.endpoint, ConfigInputs{Users: users.Users, HostKeyNames: tc.hostKeyNames, PassiveAddresses: tc.passiveAddresses})
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			data, err := cfg.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := serverconfig.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, parsed) {
				t.Errorf("rendered and parsed configs differ:\n%+v\n%+v", cfg, parsed)
			}
		})
	}
}
