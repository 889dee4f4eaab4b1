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

// The render functions take an endpoint with the API's defaults applied (v1alpha1.TransferEndpoint.Default, which
// the reconciler calls once per reconcile), so they read the spec as it is and keep no defaults of their own. The
// helpers below only name what the renderers ask of the spec.

// sftpEnabled reports whether the endpoint serves SFTP.
func sftpEnabled(te *v1alpha1.TransferEndpoint) bool {
	return te.Spec.SFTP != nil
}

// ftpEnabled reports whether the endpoint serves FTP (plain, explicit FTPS or implicit FTPS).
func ftpEnabled(te *v1alpha1.TransferEndpoint) bool {
	return te.Spec.FTP != nil
}

// implicitPort is the Service port of implicit FTPS, and false when there is none.
func implicitPort(te *v1alpha1.TransferEndpoint) (int32, bool) {
	if !ftpEnabled(te) || te.Spec.FTP.TLS.ImplicitPort == nil {
		return 0, false
	}
	return *te.Spec.FTP.TLS.ImplicitPort, true
}

// ftpServesTLS reports whether any FTP listener speaks TLS, and so needs the certificate: explicit FTPS in mode
// Optional or Required, or an implicit-FTPS port. The CRD forbids an implicit port with mode Disabled, but
// checking both keeps the rendered configuration valid for a typed value that skipped that rule.
func ftpServesTLS(te *v1alpha1.TransferEndpoint) bool {
	if !ftpEnabled(te) {
		return false
	}
	_, implicit := implicitPort(te)
	return te.Spec.FTP.TLS.Mode != v1alpha1.FTPTLSDisabled || implicit
}

// passivePorts lists every passive port, in order; none when FTP is off. Each one becomes a container port and a
// Service port, because a Service cannot publish a range.
func passivePorts(te *v1alpha1.TransferEndpoint) []int32 {
	if !ftpEnabled(te) {
		return nil
	}
	r := te.Spec.FTP.Passive.PortRange
	var ports []int32
	for p := r.Start; p <= r.End; p++ {
		ports = append(ports, p)
	}
	return ports
}

// replicas is the number of server pods.
func replicas(te *v1alpha1.TransferEndpoint) int32 {
	return *te.Spec.Replicas
}

// usesClaim reports whether the files live on a PersistentVolumeClaim, an existing one or one the operator creates.
func usesClaim(te *v1alpha1.TransferEndpoint) bool {
	s := te.Spec.Storage
	return s.PersistentVolumeClaim != nil || s.VolumeClaimTemplate != nil
}
