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

// Protocol is a file-transfer protocol an endpoint can offer.
// +kubebuilder:validation:Enum=sftp;ftp
type Protocol string

const (
	// ProtocolSFTP is SFTP over SSH.
	ProtocolSFTP Protocol = "sftp"
	// ProtocolFTP is FTP, including explicit (AUTH TLS) and implicit FTPS.
	ProtocolFTP Protocol = "ftp"
)

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// name of the object, in the same namespace as the object that refers to it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// SecretKeyReference names one key of a Secret in the same namespace.
type SecretKeyReference struct {
	// name of the Secret, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key inside the Secret's data. When omitted, the field's documented default key is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-._a-zA-Z0-9]+$')",message="a Secret key may contain only letters, digits, '-', '_' and '.'"
	Key string `json:"key,omitempty"`
}

// CIDR is an IPv4 or IPv6 network in CIDR notation, such as 198.51.100.0/24 or 2001:db8::/32.
// +kubebuilder:validation:MaxLength=43
// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="must be a network in CIDR notation, such as 198.51.100.0/24 or 2001:db8::/32"
type CIDR string
