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

// The SFTP listener of a TransferEndpoint (spec.sftp) and its host keys.

// SFTPSpec configures the SFTP listener.
// +kubebuilder:validation:XValidation:rule="!has(self.hostKeys) || !has(self.generatedHostKeyTypes)",message="spec.sftp.generatedHostKeyTypes applies only to host keys the operator generates: remove it, or remove spec.sftp.hostKeys to have the operator generate the keys"
// +kubebuilder:validation:XValidation:rule="!has(self.hostKeys) || !has(self.retiredHostKeys)",message="spec.sftp.retiredHostKeys applies only to host keys the operator generates: to stop serving a key of your own Secret (spec.sftp.hostKeys.secretRef), remove it from that Secret"
type SFTPSpec struct {
	// port is the Service port for SFTP. The container itself listens on an unprivileged port.
	// +optional
	// +kubebuilder:default=22
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// hostKeys names a Secret holding the server's SSH host keys as OpenSSH private keys, one per data key (for
	// example ssh_host_ed25519_key, ssh_host_ecdsa_key, ssh_host_rsa_key; RSA keys must be at least 3072 bits).
	// When omitted, the operator generates keys of the types generatedHostKeyTypes lists once into a Secret
	// (NAME-host-keys, kept when the endpoint is deleted unless retentionPolicy.hostKeys is Delete) and never
	// replaces them unless asked to, so clients' known_hosts entries stay valid:
	// if that Secret goes missing after its keys were served, HostKeysReady turns False (HostKeysMissing) and new
	// keys are made only when the annotation transfer.pier.dev/regenerate-host-keys is set to a new value.
	// +optional
	HostKeys *HostKeysSpec `json:"hostKeys,omitempty"`

	// generatedHostKeyTypes are the types of the host keys the operator generates when hostKeys is omitted:
	// ed25519, ecdsa (P-256) and rsa (3072 bits). When omitted: ed25519 and ecdsa, one of which every current SSH
	// client supports (OpenSSH 6.5 and later, PuTTY, WinSCP, FileZilla, paramiko, JSch 0.1.53 and later, Go,
	// SSH.NET). Add rsa only for clients that support nothing else: an RSA key costs the operator about a fifth of
	// a second of CPU to generate, the other two microseconds. The list applies whenever keys are generated: the
	// first time, each time the annotation transfer.pier.dev/regenerate-host-keys asks for new keys (all of them
	// replaced), and each time the annotation transfer.pier.dev/add-host-keys asks for keys of the listed types
	// not served yet (added beside the others, for a rotation). Keys already generated are never replaced or
	// removed because the list changed (HostKeysReady says when the Secret differs from it).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	GeneratedHostKeyTypes []HostKeyType `json:"generatedHostKeyTypes,omitempty"`

	// retiredHostKeys are SHA256 fingerprints (SHA256:..., as status.hostKeys shows them) of generated host keys
	// to stop serving: the operator deletes them from the generated Secret and records them in
	// status.previousHostKeys (reason Retired). This is the last step of a rotation: add a key of another type
	// (annotation transfer.pier.dev/add-host-keys), hand its fingerprint to partners, then retire the old one
	// here. The last key is never removed (an SSH server needs one), and a fingerprint the endpoint does not
	// serve is ignored. A retired private key is gone for good: a client can be moved back to it only from a
	// backup of the Secret.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=12
	// +kubebuilder:validation:items:Pattern=`^SHA256:[A-Za-z0-9+/]{43}$`
	RetiredHostKeys []string `json:"retiredHostKeys,omitempty"`

	// authMethods are the login methods SFTP clients may use. A user still needs the matching credential: a
	// password or authorized keys.
	// +optional
	// +listType=set
	// +kubebuilder:default={password,publickey}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	AuthMethods []SFTPAuthMethod `json:"authMethods,omitempty"`
}

// SFTPAuthMethod is an SSH user-authentication method.
// +kubebuilder:validation:Enum=password;publickey
type SFTPAuthMethod string

const (
	// SFTPAuthPassword lets users log in with their password.
	SFTPAuthPassword SFTPAuthMethod = "password"
	// SFTPAuthPublicKey lets users log in with a key listed in their authorized keys.
	SFTPAuthPublicKey SFTPAuthMethod = "publickey"
)

// HostKeyType is a type of SSH host key the operator generates.
// +kubebuilder:validation:Enum=ed25519;ecdsa;rsa
type HostKeyType string

const (
	// HostKeyED25519 is an ed25519 key (ssh-ed25519).
	HostKeyED25519 HostKeyType = "ed25519"
	// HostKeyECDSA is an ECDSA key on the NIST P-256 curve (ecdsa-sha2-nistp256).
	HostKeyECDSA HostKeyType = "ecdsa"
	// HostKeyRSA is a 3072-bit RSA key (ssh-rsa, signing with rsa-sha2-256 and rsa-sha2-512).
	HostKeyRSA HostKeyType = "rsa"
)

// DefaultGeneratedHostKeyTypes are the host keys generated when spec.sftp.generatedHostKeyTypes is omitted.
var DefaultGeneratedHostKeyTypes = []HostKeyType{HostKeyED25519, HostKeyECDSA}

// GeneratedHostKeyTypesOf are the types of host keys the operator generates for spec: its list, or the default.
func GeneratedHostKeyTypesOf(spec *SFTPSpec) []HostKeyType {
	if spec == nil || len(spec.GeneratedHostKeyTypes) == 0 {
		return DefaultGeneratedHostKeyTypes
	}
	return spec.GeneratedHostKeyTypes
}

// HostKeysSpec names where the SSH host keys come from.
type HostKeysSpec struct {
	// secretRef names the Secret holding the host keys, in the endpoint's namespace.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`
}
