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

// The FTP listener of a TransferEndpoint (spec.ftp): FTPS, passive and active data connections.

// FTPSpec configures the FTP listener, FTPS and passive/active data connections.
// The certificate rule lives here rather than on FTPTLSSpec because tls defaults to {} (mode Required), and a
// default must itself pass its own rules.
// +kubebuilder:validation:XValidation:rule="has(self.tls) && ((has(self.tls.mode) && self.tls.mode == 'Disabled' && !has(self.tls.implicitPort)) || has(self.tls.secretRef) || has(self.tls.issuerRef))",message="FTPS needs a certificate: set spec.ftp.tls.secretRef to a kubernetes.io/tls Secret or spec.ftp.tls.issuerRef to a cert-manager issuer (or set spec.ftp.tls.mode Disabled and remove implicitPort to serve plaintext FTP only)"
// +kubebuilder:validation:XValidation:rule="!has(self.tls.implicitPort) || self.tls.implicitPort != self.port",message="spec.ftp.tls.implicitPort must differ from spec.ftp.port"
// +kubebuilder:validation:XValidation:rule="self.port < self.passive.portRange.start || self.port > self.passive.portRange.end",message="spec.ftp.port must lie outside spec.ftp.passive.portRange: every passive port is also a port of the Service"
// +kubebuilder:validation:XValidation:rule="!has(self.tls.implicitPort) || self.tls.implicitPort < self.passive.portRange.start || self.tls.implicitPort > self.passive.portRange.end",message="spec.ftp.tls.implicitPort must lie outside spec.ftp.passive.portRange: every passive port is also a port of the Service"
// +kubebuilder:validation:XValidation:rule="[2121, 2222, 9080, 9990].all(p, p < self.passive.portRange.start || p > self.passive.portRange.end)",message="spec.ftp.passive.portRange must not include 2121, 2222, 9080 or 9990: pier-server listens on those ports inside the pod"
type FTPSpec struct {
	// port is the Service port for the FTP control connection (plain FTP and explicit FTPS).
	// +optional
	// +kubebuilder:default=21
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// tls configures FTPS. It defaults to mode Required, so plaintext logins are refused unless you set
	// mode Optional or Disabled deliberately.
	// +optional
	// +kubebuilder:default={}
	TLS FTPTLSSpec `json:"tls,omitzero"`

	// passive configures passive-mode data connections (PASV/EPSV), the mode nearly every client uses.
	// +optional
	// +kubebuilder:default={}
	Passive PassiveSpec `json:"passive,omitzero"`

	// active configures active-mode data connections (PORT/EPRT), where the server connects back to the client.
	// +optional
	// +kubebuilder:default={}
	Active ActiveSpec `json:"active,omitzero"`
}

// FTPTLSMode says whether the FTP control port requires, offers or refuses TLS.
// +kubebuilder:validation:Enum=Disabled;Optional;Required
type FTPTLSMode string

const (
	// FTPTLSDisabled serves plaintext FTP only; AUTH TLS is refused.
	FTPTLSDisabled FTPTLSMode = "Disabled"
	// FTPTLSOptional offers AUTH TLS but lets clients log in without it.
	FTPTLSOptional FTPTLSMode = "Optional"
	// FTPTLSRequired refuses USER before AUTH TLS and any data transfer without PROT P.
	FTPTLSRequired FTPTLSMode = "Required"
)

// TLSVersion is a minimum TLS protocol version.
// +kubebuilder:validation:Enum="1.2";"1.3"
type TLSVersion string

// FTPTLSSpec configures explicit and implicit FTPS and where the certificate comes from.
// +kubebuilder:validation:XValidation:rule="!(has(self.secretRef) && has(self.issuerRef))",message="set only one certificate source: spec.ftp.tls.secretRef (an existing kubernetes.io/tls Secret) or spec.ftp.tls.issuerRef (a cert-manager issuer), not both"
// +kubebuilder:validation:XValidation:rule="!has(self.issuerRef) || (has(self.dnsNames) && self.dnsNames.size() > 0)",message="spec.ftp.tls.issuerRef needs spec.ftp.tls.dnsNames: the names clients connect to, written into the certificate"
// +kubebuilder:validation:XValidation:rule="!has(self.dnsNames) || has(self.issuerRef)",message="spec.ftp.tls.dnsNames is used only with spec.ftp.tls.issuerRef; with secretRef the names come from the Secret's certificate"
type FTPTLSSpec struct {
	// mode of explicit FTPS on the FTP port. Required (the default): no USER before AUTH TLS and no data transfer
	// without PROT P. Optional: TLS offered, plaintext allowed. Disabled: plaintext only.
	// +optional
	// +kubebuilder:default=Required
	Mode FTPTLSMode `json:"mode,omitempty"`

	// implicitPort, when set, adds an implicit-FTPS listener (TLS from the first byte, traditionally port 990)
	// on this Service port.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	ImplicitPort *int32 `json:"implicitPort,omitempty"`

	// secretRef names an existing kubernetes.io/tls Secret (tls.crt, tls.key), for example one cert-manager
	// writes. The server reloads it when it changes, without dropping sessions.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// issuerRef makes the operator create a cert-manager Certificate for dnsNames, signed by this issuer, and
	// use the Secret cert-manager writes.
	// +optional
	IssuerRef *IssuerReference `json:"issuerRef,omitempty"`

	// dnsNames are the host names clients connect to; they go into the Certificate requested with issuerRef.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^(\\\\*\\\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="each DNS name must be a lower-case host name such as ftp.example.com, or a wildcard such as *.example.com"
	DNSNames []string `json:"dnsNames,omitempty"`

	// requireSessionReuse makes the server accept a TLS data connection only when it resumes a TLS session of
	// the same login: one the server issued to a control connection logged in as the same user from the same
	// client address (like vsftpd's require_ssl_reuse, widened from one connection to the login because clients
	// such as rclone share one session cache between concurrent connections). Resuming proves the client holds
	// the session's secret, so a client with no session, a session of another user (even from the same
	// address) or of a connection that never logged in is refused, and one from another address never gets
	// that far; only a client that can log in as this very user from this very address gets through.
	// curl, lftp, rclone and Go clients reuse sessions; turn this off only for a client that does not (such as
	// Python's ftplib.FTP_TLS or curl --no-sessionid).
	// +optional
	// +kubebuilder:default=true
	RequireSessionReuse *bool `json:"requireSessionReuse,omitempty"`

	// minVersion is the lowest TLS version accepted.
	// +optional
	// +kubebuilder:default="1.2"
	MinVersion TLSVersion `json:"minVersion,omitempty"`
}

// IssuerReference names a cert-manager Issuer or ClusterIssuer.
type IssuerReference struct {
	// name of the issuer.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// kind of the issuer: Issuer (same namespace) or ClusterIssuer. Issuers of other API groups may use other
	// kinds.
	// +optional
	// +kubebuilder:default=Issuer
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind,omitempty"`

	// group of the issuer's API; cert-manager.io for cert-manager's own issuers, another group for an external
	// issuer.
	// +optional
	// +kubebuilder:default=cert-manager.io
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group,omitempty"`
}

// PassiveSpec configures passive-mode data connections.
type PassiveSpec struct {
	// portRange is the range of ports the server listens on for data connections. Each port becomes a port of
	// the Service (Services have no ranges), so keep it small: at most 256 ports, typically 10-50. The number of
	// transfers running at once per pod is limited by its size.
	// +optional
	// +kubebuilder:default={start: 30000, end: 30019}
	PortRange PortRange `json:"portRange,omitzero"`

	// address is where FTP clients reach the endpoint, announced in PASV replies: an IP address of either
	// family, or a host name (it then stands for both families). When empty, the operator uses the Service's
	// load-balancer addresses, one per IP family (or its host name) once it has them; an IP address given here
	// replaces the load balancer's of the same family only. PASV can announce only IPv4, so IPv4 clients get the
	// IPv4 address; clients over IPv6 use EPSV, which carries no address and needs none. With no address at all,
	// the server announces the address the client connected to, which suits clients inside the cluster.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="isIP(self) || self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.ftp.passive.address must be an IP address or a lower-case DNS host name"
	Address string `json:"address,omitempty"`
}

// PortRange is an inclusive range of unprivileged TCP ports.
// +kubebuilder:validation:XValidation:rule="self.end >= self.start",message="portRange.end must be greater than or equal to portRange.start"
// +kubebuilder:validation:XValidation:rule="self.end - self.start < 256",message="portRange may hold at most 256 ports: each one becomes a port of the Service"
type PortRange struct {
	// start is the first port of the range. Passive ports are unprivileged: 1024 or above.
	// +required
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=65535
	Start int32 `json:"start"`

	// end is the last port of the range, inclusive.
	// +required
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=65535
	End int32 `json:"end"`
}

// ActiveSpec configures active-mode data connections.
type ActiveSpec struct {
	// enabled allows PORT/EPRT. The server then connects only to the IP address of the client's control
	// connection. Off by default: active mode rarely works through NAT and load balancers.
	// +optional
	Enabled bool `json:"enabled,omitempty"`
}
