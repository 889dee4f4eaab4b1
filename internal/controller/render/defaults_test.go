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
	"github.com/pier-dev/pier/internal/serverconfig"
)

// Typed Go values that leave the CRD's defaults unset, once defaulted as the reconciler defaults every endpoint
// (v1alpha1.TransferEndpoint.Default), must render the same as the values the API server would return for them.

// namedEndpoint is an endpoint to run a rule against.
type namedEndpoint struct {
	name     string
	endpoint *v1alpha1.TransferEndpoint
}

// allEndpoints are the golden cases and endpoints whose defaults were unset, defaulted as the reconciler does.
func allEndpoints() []namedEndpoint {
	var all []namedEndpoint
	for _, c := range goldenCases() {
		all = append(all, namedEndpoint{c.name, c.endpoint})
	}
	return append(all,
		namedEndpoint{"unset sftp", defaulted(unsetSFTP())},
		namedEndpoint{"unset partners", defaulted(unsetPartners())},
		namedEndpoint{"empty spec", defaulted(&v1alpha1.TransferEndpoint{})},
	)
}

// defaulted applies the API's defaults to te, as the reconciler does before it renders anything.
func defaulted(te *v1alpha1.TransferEndpoint) *v1alpha1.TransferEndpoint {
	te.Default()
	return te
}

// TestGoldenCasesAreDefaulted: the golden cases are written as the API server returns them, so defaulting them
// changes nothing.
func TestGoldenCasesAreDefaulted(t *testing.T) {
	for _, c := range goldenCases() {
		if again := defaulted(c.endpoint.DeepCopy()); !reflect.DeepEqual(again, c.endpoint) {
			t.Errorf("%s: Default() changes the golden case:\ngolden:    %+v\ndefaulted: %+v", c.name, c.endpoint.Spec, again.Spec)
		}
	}
}

// unsetSFTP is sftpMinimal as a Go client writes it: `spec: {sftp: {}}`.
func unsetSFTP() *v1alpha1.TransferEndpoint {
	return &v1alpha1.TransferEndpoint{
		ObjectMeta: sftpMinimal().ObjectMeta,
		Spec:       v1alpha1.TransferEndpointSpec{SFTP: &v1alpha1.SFTPSpec{}},
	}
}

// unsetPartners is partners without the values the CRD defaults.
func unsetPartners() *v1alpha1.TransferEndpoint {
	return &v1alpha1.TransferEndpoint{
		ObjectMeta: partners().ObjectMeta,
		Spec: v1alpha1.TransferEndpointSpec{
			SFTP: &v1alpha1.SFTPSpec{},
			FTP: &v1alpha1.FTPSpec{TLS: v1alpha1.FTPTLSSpec{
				ImplicitPort: new(int32(990)),
				IssuerRef:    &v1alpha1.IssuerReference{Name: "pier-demo-ca"},
				DNSNames:     []string{"localhost"},
			}},
			Limits: v1alpha1.LimitsSpec{MaxConnectionsPerIP: 20},
		},
	}
}

func TestUnsetDefaultsRenderLikeDefaulted(t *testing.T) {
	tests := []struct {
		name              string
		unset, defaulted  *v1alpha1.TransferEndpoint
		users             []serverconfig.User
		hostKeyNames      []string
		wantCertificate   bool
		wantPassivePorts  int
		wantServicePorts  int
		wantContainerPort int
	}{
		{"sftp", unsetSFTP(), sftpMinimal(), []serverconfig.User{userAlice()}, generatedHostKeyNames, false, 0, 1, 2},
		{"partners", unsetPartners(), partners(), []serverconfig.User{userAlice(), userBob()}, generatedHostKeyNames, true, 20, 23, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defaulted(tt.unset)
			if !reflect.DeepEqual(tt.unset.Spec, tt.defaulted.Spec) {
				t.Errorf("Default() gives another spec than the API server's:\nDefault(): %+v\nwant:      %+v", tt.unset.Spec, tt.defaulted.Spec)
			}
			in := ConfigInputs{Users: tt.users, HostKeyNames: tt.hostKeyNames}
			same := func(what string, unset, defaulted any) {
				t.Helper()
				if !reflect.DeepEqual(unset, defaulted) {
					t.Errorf("%s differs:\nunset:     %+v\ndefaulted: %+v", what, unset, defaulted)
				}
			}
			same("server configuration", ServerConfig(tt.unset, in), ServerConfig(tt.defaulted, in))
			inputs := DeploymentInputs{Image: testImage, RestartHash: "0123456789abcdef"}
			same("Deployment", Deployment(tt.unset, inputs), Deployment(tt.defaulted, inputs))
			same("Service", Service(tt.unset), Service(tt.defaulted))
			same("Certificate", Certificate(tt.unset), Certificate(tt.defaulted))
			same("PodDisruptionBudget", PodDisruptionBudget(tt.unset), PodDisruptionBudget(tt.defaulted))
			same("names", NamesFor(tt.unset), NamesFor(tt.defaulted))

			if got := Certificate(tt.unset) != nil; got != tt.wantCertificate {
				t.Errorf("Certificate rendered: %t, want %t", got, tt.wantCertificate)
			}
			if got := len(Service(tt.unset).Spec.Ports); got != tt.wantServicePorts {
				t.Errorf("%d Service ports, want %d", got, tt.wantServicePorts)
			}
			ports := Deployment(tt.unset, inputs).Spec.Template.Spec.Containers[0].Ports
			if len(ports) != tt.wantContainerPort {
				t.Errorf("%d container ports, want %d", len(ports), tt.wantContainerPort)
			}
			if got := len(passivePorts(tt.unset)); got != tt.wantPassivePorts {
				t.Errorf("%d passive ports, want %d", got, tt.wantPassivePorts)
			}
		})
	}
}

// TestEmptySpecDoesNotPanic renders every object of an endpoint with nothing set, not even a protocol (which the
// CRD refuses), once defaulted as every endpoint is.
func TestEmptySpecDoesNotPanic(t *testing.T) {
	te := defaulted(&v1alpha1.TransferEndpoint{})
	cfg := ServerConfig(te, ConfigInputs{})
	RestartHash(cfg)
	ConfigSecret(te, nil, false, nil)
	HostKeysSecret(te, nil)
	d := Deployment(te, DeploymentInputs{})
	if *d.Spec.Replicas != 1 {
		t.Errorf("replicas %d, want 1", *d.Spec.Replicas)
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == volumeData && v.EmptyDir == nil {
			t.Errorf("data volume %+v, want emptyDir", v)
		}
	}
	if s := Service(te); s.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("Service type %q, want ClusterIP", s.Spec.Type)
	}
	if PersistentVolumeClaim(te) != nil || PodDisruptionBudget(te) != nil || Certificate(te) != nil {
		t.Error("optional objects rendered for an empty spec")
	}
	ServiceAccount(te)
	Role(te)
	RoleBinding(te)
}

func TestNamesFor(t *testing.T) {
	tests := []struct {
		te   *v1alpha1.TransferEndpoint
		want Names
	}{
		{sftpMinimal(), Names{
			HostKeysSecret: "dropbox-host-keys", GeneratedHostKeys: true,
		}},
		{partners(), Names{
			HostKeysSecret: "partners-host-keys", GeneratedHostKeys: true,
			TLSSecret: "partners-tls", Certificate: "partners",
		}},
		{ftpNodePort(), Names{
			TLSSecret: "legacy-ftp-tls",
			ClaimName: "legacy-ftp-data", OwnedClaim: true,
		}},
		{sftpPVC(), Names{
			HostKeysSecret: "archive-host-keys",
			ClaimName:      "archive-data",
		}},
	}
	for _, tt := range tests {
		name := tt.te.Name
		tt.want.Deployment, tt.want.Service, tt.want.PodDisruptionBudget = name, name, name
		tt.want.ConfigSecret = name + "-config"
		tt.want.ServiceAccount, tt.want.Role, tt.want.RoleBinding = name+"-server", name+"-server", name+"-server"
		if got := NamesFor(tt.te); got != tt.want {
			t.Errorf("%s:\ngot  %+v\nwant %+v", name, got, tt.want)
		}
	}
}

// TestOptionalObjects checks when the optional objects are rendered.
func TestOptionalObjects(t *testing.T) {
	for _, c := range allEndpoints() {
		te := c.endpoint
		spec := te.Spec
		wantCert := spec.FTP != nil && spec.FTP.TLS.IssuerRef != nil
		if got := Certificate(te) != nil; got != wantCert {
			t.Errorf("%s: Certificate rendered %t, want %t", c.name, got, wantCert)
		}
		wantPVC := spec.Storage.VolumeClaimTemplate != nil
		if got := PersistentVolumeClaim(te) != nil; got != wantPVC {
			t.Errorf("%s: PersistentVolumeClaim rendered %t, want %t", c.name, got, wantPVC)
		}
		wantPDB := spec.Replicas != nil && *spec.Replicas > 1
		if got := PodDisruptionBudget(te) != nil; got != wantPDB {
			t.Errorf("%s: PodDisruptionBudget rendered %t, want %t", c.name, got, wantPDB)
		}
	}
	// The generated host-key Secret keeps its own name even when the endpoint names another Secret.
	if got := HostKeysSecret(sftpPVC(), nil).Name; got != "archive-host-keys" {
		t.Errorf("HostKeysSecret name %q, want archive-host-keys", got)
	}
}
