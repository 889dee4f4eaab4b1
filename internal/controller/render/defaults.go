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
	"github.com/pier-dev/pier/api/v1alpha1"
)

// The defaults below are the CRD's own (see the kubebuilder:default markers in api/v1alpha1). The API server
// applies them before the operator sees an endpoint; these helpers apply them again so that a typed Go value
// written without them (in a test, or by a Go client) renders the same objects instead of panicking.
const (
	defaultSFTPPort               = 22
	defaultFTPPort                = 21
	defaultPassiveStart           = 30000
	defaultPassiveEnd             = 30019
	defaultReplicas               = 1
	defaultIssuerKind             = "Issuer"
	defaultIssuerGroup            = "cert-manager.io"
	defaultSessionAffinitySeconds = 10800 // three hours, Kubernetes' own default for ClientIP affinity
)

// sftpEnabled reports whether the endpoint serves SFTP.
func sftpEnabled(te *v1alpha1.TransferEndpoint) bool {
	return te.Spec.SFTP != nil
}

// ftpEnabled reports whether the endpoint serves FTP (plain, explicit FTPS or implicit FTPS).
func ftpEnabled(te *v1alpha1.TransferEndpoint) bool {
	return te.Spec.FTP != nil
}

// sftpPort is the Service port of SFTP. Call it only when SFTP is enabled.
func sftpPort(te *v1alpha1.TransferEndpoint) int32 {
	if te.Spec.SFTP.Port == 0 {
		return defaultSFTPPort
	}
	return te.Spec.SFTP.Port
}

// ftpPort is the Service port of the FTP control connection. Call it only when FTP is enabled.
func ftpPort(te *v1alpha1.TransferEndpoint) int32 {
	if te.Spec.FTP.Port == 0 {
		return defaultFTPPort
	}
	return te.Spec.FTP.Port
}

// implicitPort is the Service port of implicit FTPS, and false when there is none.
func implicitPort(te *v1alpha1.TransferEndpoint) (int32, bool) {
	if !ftpEnabled(te) || te.Spec.FTP.TLS.ImplicitPort == nil {
		return 0, false
	}
	return *te.Spec.FTP.TLS.ImplicitPort, true
}

// ftpTLSMode is the explicit-FTPS mode. Call it only when FTP is enabled.
func ftpTLSMode(te *v1alpha1.TransferEndpoint) v1alpha1.FTPTLSMode {
	if te.Spec.FTP.TLS.Mode == "" {
		return v1alpha1.FTPTLSRequired
	}
	return te.Spec.FTP.TLS.Mode
}

// ftpServesTLS reports whether any FTP listener speaks TLS, and so needs the certificate: explicit FTPS in mode
// Optional or Required, or an implicit-FTPS port. The CRD forbids an implicit port with mode Disabled, but
// checking both keeps the rendered configuration valid for a typed value that skipped that rule.
func ftpServesTLS(te *v1alpha1.TransferEndpoint) bool {
	if !ftpEnabled(te) {
		return false
	}
	_, implicit := implicitPort(te)
	return ftpTLSMode(te) != v1alpha1.FTPTLSDisabled || implicit
}

// passiveRange is the FTP passive port range. Call it only when FTP is enabled.
func passiveRange(te *v1alpha1.TransferEndpoint) v1alpha1.PortRange {
	r := te.Spec.FTP.Passive.PortRange
	if r.Start == 0 && r.End == 0 {
		return v1alpha1.PortRange{Start: defaultPassiveStart, End: defaultPassiveEnd}
	}
	return r
}

// passivePorts lists every passive port, in order; none when FTP is off. Each one becomes a container port and a
// Service port, because a Service cannot publish a range.
func passivePorts(te *v1alpha1.TransferEndpoint) []int32 {
	if !ftpEnabled(te) {
		return nil
	}
	r := passiveRange(te)
	var ports []int32
	for p := r.Start; p <= r.End; p++ {
		ports = append(ports, p)
	}
	return ports
}

// replicas is the number of server pods.
func replicas(te *v1alpha1.TransferEndpoint) int32 {
	if te.Spec.Replicas == nil {
		return defaultReplicas
	}
	return *te.Spec.Replicas
}

// usesClaim reports whether the files live on a PersistentVolumeClaim, an existing one or one the operator creates.
// An endpoint with no storage source at all gets the default, emptyDir.
func usesClaim(te *v1alpha1.TransferEndpoint) bool {
	s := te.Spec.Storage
	return s.PersistentVolumeClaim != nil || s.VolumeClaimTemplate != nil
}
