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

package v1alpha1

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The API's defaults are written twice, on purpose: as +kubebuilder:default markers on the fields, which the API
// server applies to every object it stores and returns, and here, for Go values that never went through the API
// server (a Go client's object before it is sent, a test's). TestGoDefaultsMatchCRD applies the generated CRDs'
// defaults the way the API server does and checks that Default gives the same object, so a new default is a
// marker plus a line here, and forgetting either fails that test.
const (
	defaultSFTPPort            = 22
	defaultFTPPort             = 21
	defaultFTPTLSMode          = FTPTLSRequired
	defaultTLSMinVersion       = TLSVersion("1.2")
	defaultRequireSessionReuse = true
	defaultIssuerKind          = "Issuer"
	defaultIssuerGroup         = "cert-manager.io"
	defaultPassivePortStart    = 30000
	defaultPassivePortEnd      = 30019
	defaultServiceType         = ServiceType(corev1.ServiceTypeClusterIP)
	defaultReplicas            = 1
	defaultIdleTimeout         = 5 * time.Minute
	defaultMaxLoginFailures    = 5
	defaultBanDuration         = 15 * time.Minute
	defaultAccess              = AccessStandard
	defaultPermission          = PermissionReadWrite
	defaultRetention           = RetentionRetain
)

// Default fills in every field the CRD gives a default and the endpoint leaves unset, as the API server does. The
// operator calls it once per reconcile, so what it renders never depends on who wrote the object.
func (te *TransferEndpoint) Default() { te.Spec.Default() }

// Default fills in every field of the spec that the CRD gives a default and the spec leaves unset. As on the API
// server, a field inside an absent optional section (spec.sftp, spec.ftp, spec.ftp.tls.issuerRef) stays absent
// with its section, and a value that is set, zero included (replicas: 0, maxLoginFailures: 0), is kept. Calling it
// again changes nothing.
func (s *TransferEndpointSpec) Default() {
	if s.SFTP != nil {
		s.SFTP.setDefaults()
	}
	if s.FTP != nil {
		s.FTP.setDefaults()
	}
	if s.Service.Type == "" {
		s.Service.Type = defaultServiceType
	}
	if st := &s.Storage; st.PersistentVolumeClaim == nil && st.VolumeClaimTemplate == nil && st.EmptyDir == nil {
		st.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if s.Replicas == nil {
		s.Replicas = ptrTo(int32(defaultReplicas))
	}
	s.Limits.setDefaults()
	if s.RetentionPolicy.Storage == "" {
		s.RetentionPolicy.Storage = defaultRetention
	}
	if s.RetentionPolicy.HostKeys == "" {
		s.RetentionPolicy.HostKeys = defaultRetention
	}
}

func (s *SFTPSpec) setDefaults() {
	if s.Port == 0 {
		s.Port = defaultSFTPPort
	}
	if len(s.AuthMethods) == 0 {
		s.AuthMethods = []SFTPAuthMethod{SFTPAuthPassword, SFTPAuthPublicKey}
	}
}

func (s *FTPSpec) setDefaults() {
	if s.Port == 0 {
		s.Port = defaultFTPPort
	}
	tls := &s.TLS
	if tls.Mode == "" {
		tls.Mode = defaultFTPTLSMode
	}
	if tls.RequireSessionReuse == nil {
		tls.RequireSessionReuse = ptrTo(defaultRequireSessionReuse)
	}
	if tls.MinVersion == "" {
		tls.MinVersion = defaultTLSMinVersion
	}
	if issuer := tls.IssuerRef; issuer != nil {
		if issuer.Kind == "" {
			issuer.Kind = defaultIssuerKind
		}
		if issuer.Group == "" {
			issuer.Group = defaultIssuerGroup
		}
	}
	// The CRD requires both ends of a range that is given, so an unset range is one with neither.
	if r := &s.Passive.PortRange; r.Start == 0 && r.End == 0 {
		*r = PortRange{Start: defaultPassivePortStart, End: defaultPassivePortEnd}
	}
}

func (l *LimitsSpec) setDefaults() {
	if l.IdleTimeout == nil {
		l.IdleTimeout = &metav1.Duration{Duration: defaultIdleTimeout}
	}
	if l.MaxLoginFailures == nil {
		l.MaxLoginFailures = ptrTo(int32(defaultMaxLoginFailures))
	}
	if l.BanDuration == nil {
		l.BanDuration = &metav1.Duration{Duration: defaultBanDuration}
	}
}

// Default fills in every field the CRD gives a default and the user leaves unset, as the API server does.
func (tu *TransferUser) Default() { tu.Spec.Default() }

// Default fills in every field of the spec that the CRD gives a default and the spec leaves unset. The keys of
// spec.password.secretRef and spec.authorizedKeys.secretRef are not among them: SecretKeyReference serves both, so
// the CRD cannot give each its own default key; DefaultPasswordKey and DefaultAuthorizedKeysKey apply where the
// key is read.
func (s *TransferUserSpec) Default() {
	if s.Access == "" {
		s.Access = defaultAccess
	}
	if len(s.Permissions) == 0 {
		s.Permissions = []Permission{defaultPermission}
	}
}

func ptrTo[T any](v T) *T { return &v }
