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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TransferUserSpec is one login on one TransferEndpoint.
// +kubebuilder:validation:XValidation:rule="!has(self.password) || !has(self.generatePassword) || !self.generatePassword",message="set either spec.password.secretRef (your own password) or spec.generatePassword: true (the operator makes one), not both"
// +kubebuilder:validation:XValidation:rule="has(self.password) || (has(self.generatePassword) && self.generatePassword) || has(self.authorizedKeys)",message="a user needs a way to log in: set spec.password, spec.generatePassword: true or spec.authorizedKeys"
// +kubebuilder:validation:XValidation:rule="!has(self.protocols) || !('ftp' in self.protocols) || has(self.password) || (has(self.generatePassword) && self.generatePassword)",message="FTP logs in with a password only: a user with 'ftp' in spec.protocols needs spec.password or spec.generatePassword: true"
// +kubebuilder:validation:XValidation:rule="!has(self.requireAllAuthMethods) || !self.requireAllAuthMethods || ((has(self.password) || (has(self.generatePassword) && self.generatePassword)) && has(self.authorizedKeys))",message="spec.requireAllAuthMethods needs both a password (spec.password or spec.generatePassword) and spec.authorizedKeys"
// +kubebuilder:validation:XValidation:rule="!has(self.homeDirectory) || !self.homeDirectory.matches('^/+$') || (has(self.access) && self.access == 'Administrator')",message="homeDirectory / holds every other user's home directory: only a user with spec.access: Administrator may have it"
// +kubebuilder:validation:XValidation:rule="!has(self.requireAllAuthMethods) || !self.requireAllAuthMethods || !has(self.protocols) || !('ftp' in self.protocols)",message="a user with spec.requireAllAuthMethods cannot log in over FTP, which has no keys: remove 'ftp' from spec.protocols"
type TransferUserSpec struct {
	// endpointRef names the TransferEndpoint, in the same namespace, this user logs in to. It cannot be changed;
	// to move a user, create a new TransferUser.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.endpointRef is immutable: create a new TransferUser to move a user to another endpoint"
	EndpointRef LocalObjectReference `json:"endpointRef"`

	// username is the login name: 3-100 characters of letters, digits, '_', '.', '@' and '-', not starting with
	// '-', '.' or '@'. It must be unique per endpoint; when two TransferUsers claim the same one, the older keeps it.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_][A-Za-z0-9_.@-]*$')",message="username may contain only letters, digits, '_', '.', '@' and '-', and must not start with '-', '.' or '@'"
	Username string `json:"username"`

	// homeDirectory is the user's directory inside the endpoint's storage, absolute, for example /alice. The user
	// cannot see or reach anything outside it (it is the user's "/"). It is created on first login. Defaults to
	// /<username>.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="homeDirectory must be an absolute path such as /alice"
	// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(s, s == '..' || s == '.')",message="homeDirectory must not contain '.' or '..' segments"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[\\x00-\\x1f\\x7f]')",message="homeDirectory must not contain control characters such as NUL or a line break"
	HomeDirectory string `json:"homeDirectory,omitempty"`

	// access is Standard (the default) or Administrator. A Standard user's home directory may not be / and may not
	// be, hold, or lie inside another user's home on the same endpoint, so it never sees another user's files; when
	// two homes overlap, the newer user is not served and its status names the other. An Administrator's home may
	// hold other users' homes (/ holds them all), so it sees and, with its permissions, changes their files.
	// +optional
	// +kubebuilder:default=Standard
	Access Access `json:"access,omitempty"`

	// permissions of the user inside the home directory: any of list, download, upload, overwrite, delete,
	// rename, mkdir; or one preset alone: ReadWrite (all of them), ReadOnly (list, download) or UploadOnly (list,
	// upload, mkdir). upload creates new files; overwrite is needed as well to change a file that exists
	// (replace, truncate, append to or resume it, set its size) and, with rename, to rename over one. So an
	// UploadOnly user can drop files but never change or empty one already there, including their own.
	// +optional
	// +listType=set
	// +kubebuilder:default={ReadWrite}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=7
	// +kubebuilder:validation:XValidation:rule="self.size() == 1 || !self.exists(p, p in ['ReadWrite', 'ReadOnly', 'UploadOnly'])",message="a preset (ReadWrite, ReadOnly or UploadOnly) must be the only entry in spec.permissions; list single permissions instead to combine them"
	Permissions []Permission `json:"permissions,omitempty"`

	// protocols the user may log in with. Empty means every protocol the endpoint offers.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=2
	Protocols []Protocol `json:"protocols,omitempty"`

	// password names a Secret key holding the user's password, either in plain text or as a bcrypt hash
	// ($2a$/$2b$/$2y$). The operator hashes plain text with bcrypt; it never writes plain text anywhere. The key
	// defaults to "password".
	// +optional
	Password *PasswordSource `json:"password,omitempty"`

	// generatePassword makes the operator generate a random password into a Secret it owns (named in
	// status.passwordSecretRef). Deleting that Secret generates a new password.
	// +optional
	GeneratePassword bool `json:"generatePassword,omitempty"`

	// authorizedKeys are the SSH public keys the user may log in with over SFTP.
	// +optional
	AuthorizedKeys *AuthorizedKeysSource `json:"authorizedKeys,omitempty"`

	// allowedSourceRanges, when set, admits this user only from these networks, in addition to the endpoint's
	// own allowedSourceRanges.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	AllowedSourceRanges []CIDR `json:"allowedSourceRanges,omitempty"`

	// requireAllAuthMethods makes an SFTP login need both an authorized key and the password (two factors),
	// in either order. Such a user cannot log in over FTP, which has no keys.
	// +optional
	RequireAllAuthMethods bool `json:"requireAllAuthMethods,omitempty"`

	// disabled refuses new logins and closes the user's open sessions, keeping the user's files and settings.
	// +optional
	// +kubebuilder:default=false
	Disabled bool `json:"disabled,omitempty"`
}

// Access says whether a user may see other users' files.
// +kubebuilder:validation:Enum=Standard;Administrator
type Access string

const (
	// AccessStandard confines the user to a home directory no other user's home overlaps.
	AccessStandard Access = "Standard"
	// AccessAdministrator lets the user's home directory hold other users' homes.
	AccessAdministrator Access = "Administrator"
)

// Permission is one thing a user may do, or a preset of several.
// +kubebuilder:validation:Enum=list;download;upload;overwrite;delete;rename;mkdir;ReadWrite;ReadOnly;UploadOnly
type Permission string

const (
	PermissionList       Permission = "list"
	PermissionDownload   Permission = "download"
	PermissionUpload     Permission = "upload"
	PermissionOverwrite  Permission = "overwrite"
	PermissionDelete     Permission = "delete"
	PermissionRename     Permission = "rename"
	PermissionMkdir      Permission = "mkdir"
	PermissionReadWrite  Permission = "ReadWrite"
	PermissionReadOnly   Permission = "ReadOnly"
	PermissionUploadOnly Permission = "UploadOnly"
)

// PasswordSource says where a user's password comes from.
type PasswordSource struct {
	// secretRef names the Secret and key holding the password (plain text or a bcrypt hash). The key defaults to
	// "password".
	// +required
	SecretRef SecretKeyReference `json:"secretRef"`
}

// AuthorizedKeysSource lists a user's SSH public keys, from a Secret, inline, or both.
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) || (has(self.keys) && self.keys.size() > 0)",message="spec.authorizedKeys needs secretRef, keys, or both"
type AuthorizedKeysSource struct {
	// secretRef names a Secret key holding keys in OpenSSH authorized_keys format, one per line. The key defaults
	// to "authorized_keys".
	// +optional
	SecretRef *SecretKeyReference `json:"secretRef,omitempty"`

	// keys are public keys written inline, each in authorized_keys format ("ssh-ed25519 AAAA... comment").
	// Public keys are not secret, so they may live in Git beside the TransferUser.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=4096
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh.com|sk-ecdsa-sha2-nistp256@openssh.com) [A-Za-z0-9+/]+=*( .*)?$')",message="each key must be one authorized_keys line: a key type such as ssh-ed25519, the base64 key and an optional comment (options before the key type are not supported inline)"
	Keys []string `json:"keys,omitempty"`
}

// TransferUserStatus is the observed state of a TransferUser.
type TransferUserStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (the user can log in to the endpoint).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// keyFingerprints are the SHA256 fingerprints of the user's authorized keys.
	// +optional
	// +listType=atomic
	KeyFingerprints []string `json:"keyFingerprints,omitempty"`

	// passwordSecretRef names the Secret and key holding the generated password (with generatePassword).
	// +optional
	PasswordSecretRef *SecretKeyReference `json:"passwordSecretRef,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tu,categories=pier
// +kubebuilder:validation:XValidation:rule="!has(self.spec.generatePassword) || !self.spec.generatePassword || self.metadata.name.size() <= 244",message="with spec.generatePassword, a TransferUser's name must be at most 244 characters: the operator writes the password into a Secret named NAME-password, and a Secret's name holds at most 253; shorten the name or set spec.password instead"
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpointRef.name`
// +kubebuilder:printcolumn:name="Username",type=string,JSONPath=`.spec.username`
// +kubebuilder:printcolumn:name="Access",type=string,JSONPath=`.spec.access`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Disabled",type=boolean,JSONPath=`.spec.disabled`,priority=1

// TransferUser is one login on one TransferEndpoint: its credentials, home directory and permissions.
type TransferUser struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired user.
	// +required
	Spec TransferUserSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status TransferUserStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TransferUserList is a list of TransferUsers.
type TransferUserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TransferUser `json:"items"`
}
