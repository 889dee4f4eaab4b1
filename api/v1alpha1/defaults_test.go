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

package v1alpha1_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/pier-dev/pier/api/v1alpha1"
)

// TestEndpointDefaults creates endpoints from typed Go values that leave everything optional unset (as a Go
// client such as the operator sends them) and checks the defaults the API documents.
func TestEndpointDefaults(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)

	sftpOnly := &v1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Name: "sftp-only", Namespace: ns},
		Spec:       v1.TransferEndpointSpec{SFTP: &v1.SFTPSpec{}},
	}
	if err := env.Client.Create(ctx, sftpOnly); err != nil {
		t.Fatalf("creating an SFTP endpoint with every default: %v", err)
	}
	got := &v1.TransferEndpoint{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(sftpOnly), got); err != nil {
		t.Fatal(err)
	}
	s := got.Spec
	check(t, "sftp.port", s.SFTP.Port, int32(22))
	check(t, "sftp.authMethods", strings.Join(toStrings(s.SFTP.AuthMethods), ","), "password,publickey")
	check(t, "replicas", deref(s.Replicas), int32(1))
	check(t, "storage.emptyDir set", s.Storage.EmptyDir != nil, true)
	check(t, "service.type", s.Service.Type, v1.ServiceType("ClusterIP"))
	check(t, "service.externalTrafficPolicy set", s.Service.ExternalTrafficPolicy != nil, false)
	check(t, "limits.idleTimeout", durationOf(s.Limits.IdleTimeout), 5*time.Minute)
	check(t, "limits.banDuration", durationOf(s.Limits.BanDuration), 15*time.Minute)
	check(t, "limits.maxLoginFailures", deref(s.Limits.MaxLoginFailures), int32(5))
	check(t, "limits.maxConnections", s.Limits.MaxConnections, int32(0))
	check(t, "ftp set", s.FTP != nil, false)

	withFTP := &v1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Name: "ftp", Namespace: ns},
		Spec: v1.TransferEndpointSpec{FTP: &v1.FTPSpec{TLS: v1.FTPTLSSpec{
			IssuerRef: &v1.IssuerReference{Name: "ca"},
			DNSNames:  []string{"ftp.example.com"},
		}}},
	}
	if err := env.Client.Create(ctx, withFTP); err != nil {
		t.Fatalf("creating an FTP endpoint with every default: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(withFTP), got); err != nil {
		t.Fatal(err)
	}
	f := got.Spec.FTP
	check(t, "ftp.port", f.Port, int32(21))
	check(t, "ftp.tls.mode", f.TLS.Mode, v1.FTPTLSRequired)
	check(t, "ftp.tls.minVersion", f.TLS.MinVersion, v1.TLSVersion("1.2"))
	check(t, "ftp.tls.requireSessionReuse", deref(f.TLS.RequireSessionReuse), true)
	check(t, "ftp.tls.implicitPort set", f.TLS.ImplicitPort != nil, false)
	check(t, "ftp.tls.issuerRef.kind", f.TLS.IssuerRef.Kind, "Issuer")
	check(t, "ftp.tls.issuerRef.group", f.TLS.IssuerRef.Group, "cert-manager.io")
	check(t, "ftp.passive.portRange", f.Passive.PortRange, v1.PortRange{Start: 30000, End: 30019})
	check(t, "ftp.passive.address", f.Passive.Address, "")
	check(t, "ftp.active.enabled", f.Active.Enabled, false)

	// Zero is a meaningful value for replicas and maxLoginFailures: it must survive rather than be defaulted.
	zero := int32(0)
	scaledDown := &v1.TransferEndpoint{
		ObjectMeta: metav1.ObjectMeta{Name: "scaled-down", Namespace: ns},
		Spec: v1.TransferEndpointSpec{
			SFTP:     &v1.SFTPSpec{},
			Replicas: &zero,
			Limits:   v1.LimitsSpec{MaxLoginFailures: &zero},
		},
	}
	if err := env.Client.Create(ctx, scaledDown); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(scaledDown), got); err != nil {
		t.Fatal(err)
	}
	check(t, "replicas 0 kept", deref(got.Spec.Replicas), int32(0))
	check(t, "maxLoginFailures 0 kept", deref(got.Spec.Limits.MaxLoginFailures), int32(0))
}

// TestUserDefaults checks a TransferUser's defaults.
func TestUserDefaults(t *testing.T) {
	ctx := context.Background()
	u := generatedPasswordUser(t, "alice")
	if err := env.Client.Create(ctx, u); err != nil {
		t.Fatalf("creating a user with every default: %v", err)
	}
	got := &v1.TransferUser{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
		t.Fatal(err)
	}
	check(t, "permissions", strings.Join(toStrings(got.Spec.Permissions), ","), "ReadWrite")
	check(t, "access", string(got.Spec.Access), "Standard")
	check(t, "homeDirectory", got.Spec.HomeDirectory, "")
	check(t, "protocols", len(got.Spec.Protocols), 0)
	check(t, "disabled", got.Spec.Disabled, false)
}

// TestEndpointRefImmutable checks that a user cannot be moved to another endpoint, while other fields change.
func TestEndpointRefImmutable(t *testing.T) {
	ctx := context.Background()
	u := generatedPasswordUser(t, "bob")
	if err := env.Client.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.Spec.Disabled = true
	if err := env.Client.Update(ctx, u); err != nil {
		t.Fatalf("updating a mutable field was refused: %v", err)
	}
	u.Spec.EndpointRef.Name = "other"
	err := env.Client.Update(ctx, u)
	if err == nil {
		t.Fatal("the API server let spec.endpointRef change")
	}
	if !strings.Contains(err.Error(), "spec.endpointRef is immutable") {
		t.Errorf("error does not explain the immutable endpointRef: %v", err)
	}
}

// TestPresetsAndListsAccepted checks valid edge cases next to the rules that reject their neighbours.
func TestPresetsAndListsAccepted(t *testing.T) {
	ns := env.Namespace(t)
	valid := []string{
		user("endpointRef: {name: ep}\nusername: a_b\ngeneratePassword: true\npermissions: [list, upload, mkdir]"),
		user("endpointRef: {name: ep}\nusername: all7\ngeneratePassword: true\npermissions: [list, download, upload, overwrite, delete, rename, mkdir]"),
		user("endpointRef: {name: ep}\nusername: 9lives@example.com\naccess: Administrator\nhomeDirectory: /\nauthorizedKeys: {secretRef: {name: keys}}"),
		user("endpointRef: {name: ep}\nusername: " + strings.Repeat("x", 100) + "\nhomeDirectory: /a/b.c/d..e\ngeneratePassword: true\nallowedSourceRanges: [2001:db8::/32, 10.0.0.0/8]"),
		endpoint("ftp: {tls: {mode: Disabled}, passive: {portRange: {start: 31000, end: 31255}}}\nservice: {type: NodePort}"),
		endpoint("ftp: {tls: {issuerRef: {name: ca, kind: ClusterIssuer}, dnsNames: ['*.example.com', ftp.example.com], implicitPort: 990}, passive: {address: 203.0.113.7}}\nsftp: {port: 2222}\nservice: {type: LoadBalancer, externalTrafficPolicy: Cluster, loadBalancerSourceRanges: [0.0.0.0/0]}"),
		endpoint("sftp: {}\nreplicas: 3\nstorage: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}}}"),
		endpoint("sftp: {}\nservice: {ipFamilyPolicy: RequireDualStack, ipFamilies: [IPv6, IPv4]}"),
		endpoint("sftp: {}\nservice: {ipFamilyPolicy: PreferDualStack, ipFamilies: [IPv4]}"),
		endpoint("sftp: {}\nservice: {ipFamilyPolicy: SingleStack, ipFamilies: [IPv6]}"),
		endpoint("sftp: {}\nservice: {ipFamilies: [IPv6]}"),
		endpoint("ftp: {tls: {mode: Disabled}, passive: {address: '2001:db8::7'}}\nservice: {type: LoadBalancer, ipFamilyPolicy: PreferDualStack}"),
		endpoint("sftp: {generatedHostKeyTypes: [ed25519, ecdsa, rsa]}"),
		endpoint("sftp: {generatedHostKeyTypes: [rsa]}"),
	}
	for i, doc := range valid {
		obj := fromYAML(t, doc, ns)
		obj.SetName(obj.GetName() + "-" + string(rune('a'+i)))
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Errorf("valid object %d was rejected: %v\n%s", i, err, doc)
		}
	}
}

// TestUserNameLengths: a TransferUser's name may be as long as Kubernetes allows (253), except with
// generatePassword, whose Secret NAME-password must fit 253 characters too.
func TestUserNameLengths(t *testing.T) {
	ns := env.Namespace(t)
	valid := map[int]string{
		253: "endpointRef: {name: ep}\nusername: alice\npassword: {secretRef: {name: pw}}",
		244: "endpointRef: {name: ep}\nusername: alice\ngeneratePassword: true",
	}
	for length, spec := range valid {
		obj := fromYAML(t, user(spec), ns)
		obj.SetName(strings.Repeat("u", length))
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Errorf("a user named with %d characters was rejected: %v\n%s", length, err, spec)
		}
	}
}

// generatedPasswordUser is the user name of the endpoint partners, in a namespace of its own, with a generated
// password and every other field left to its default.
func generatedPasswordUser(t *testing.T, name string) *v1.TransferUser {
	t.Helper()
	return &v1.TransferUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: env.Namespace(t)},
		Spec: v1.TransferUserSpec{
			EndpointRef:      v1.LocalObjectReference{Name: "partners"},
			Username:         name,
			GeneratePassword: true,
		},
	}
}

func check[T comparable](t *testing.T, field string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", field, got, want)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func durationOf(d *metav1.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.Duration
}

func toStrings[S ~string](in []S) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, string(s))
	}
	return slices.Clip(out)
}
