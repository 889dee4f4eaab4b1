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

// Package config is the pier-server configuration file: its schema, defaults, validation and YAML form.
//
// The file is the contract between the operator, which renders it into a Kubernetes Secret from a TransferEndpoint
// and its TransferUsers, and pier-server, which reads it at start and again whenever it changes. It is the
// flattened, fully resolved form of those resources: no Secret references, passwords only as bcrypt hashes, keys
// inline and defaults applied, so the server never talks to the Kubernetes API. docs/server-config.md describes
// every field.
package serverconfig

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// APIVersion and Kind identify the file format. A server refuses a file with another apiVersion rather than guess
// what its fields mean.
const (
	APIVersion = "server.pier.dev/v1alpha1"
	Kind       = "ServerConfig"
)

// Config is the whole configuration of one pier-server.
type Config struct {
	// APIVersion must be APIVersion.
	APIVersion string `json:"apiVersion"`
	// Kind must be Kind.
	Kind string `json:"kind"`
	// SFTP enables the SFTP listener; nil serves no SFTP.
	SFTP *SFTP `json:"sftp,omitempty"`
	// FTP enables the FTP and FTPS listeners; nil serves no FTP.
	FTP *FTP `json:"ftp,omitempty"`
	// Health is the HTTP listener for probes and metrics. It always runs.
	Health Health `json:"health,omitzero"`
	// Storage is where users' files live.
	Storage Storage `json:"storage"`
	// Limits protect the server from too many or abusive clients.
	Limits Limits `json:"limits,omitzero"`
	// AllowedSourceRanges, when not empty, admits clients only from these networks (CIDRs), for every protocol.
	AllowedSourceRanges []string `json:"allowedSourceRanges,omitempty"`
	// Users are the logins, in the order the operator rendered them.
	Users []User `json:"users,omitempty"`
}

// SFTP configures the SFTP (SSH) listener.
type SFTP struct {
	// Address is the listen address, host:port; an empty host listens on every interface.
	Address string `json:"address"`
	// HostKeyFiles are absolute paths of OpenSSH private host keys. The server offers every one of them, so
	// clients that pinned any of the keys keep working.
	HostKeyFiles []string `json:"hostKeyFiles"`
	// AuthMethods are the SSH login methods offered.
	AuthMethods []AuthMethod `json:"authMethods,omitempty"`
}

// AuthMethod is an SSH user-authentication method.
type AuthMethod string

// The SSH authentication methods a server can offer.
const (
	AuthMethodPassword  AuthMethod = "password"
	AuthMethodPublicKey AuthMethod = "publickey"
)

// FTP configures the FTP control listener, explicit and implicit FTPS, and data connections.
type FTP struct {
	// Address is the listen address of the control connection (plain FTP and explicit FTPS).
	Address string `json:"address"`
	// ImplicitTLSAddress, when set, adds an implicit-FTPS listener: TLS from the first byte.
	ImplicitTLSAddress string `json:"implicitTLSAddress,omitempty"`
	// TLS configures FTPS on both listeners.
	TLS TLS `json:"tls"`
	// Passive configures passive-mode data connections (PASV/EPSV).
	Passive Passive `json:"passive"`
	// Active configures active-mode data connections (PORT/EPRT).
	Active Active `json:"active"`
}

// TLS configures FTPS.
type TLS struct {
	// Mode of explicit FTPS on the control listener.
	Mode TLSMode `json:"mode"`
	// CertFile and KeyFile are absolute paths of the PEM certificate chain and its private key. The server re-reads
	// them when they change, so a renewed certificate needs no restart.
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
	// MinVersion is the lowest TLS version accepted.
	MinVersion TLSVersion `json:"minVersion"`
	// RequireSessionReuse accepts a TLS data connection only when it resumes a TLS session the server issued to
	// a control connection logged in as the same user from the same client address (see docs/server-config.md,
	// "TLS session reuse"), so nobody else can grab a passive port first. Nil means the default, true; use
	// SessionReuseRequired to read it.
	RequireSessionReuse *bool `json:"requireSessionReuse,omitempty"`
}

// SessionReuseRequired is RequireSessionReuse, or its default when it is unset.
func (t *TLS) SessionReuseRequired() bool {
	if t.RequireSessionReuse == nil {
		return DefaultRequireSessionReuse
	}
	return *t.RequireSessionReuse
}

// TLSMode says whether the FTP control listener requires, offers or refuses TLS.
type TLSMode string

// The explicit-FTPS modes.
const (
	// TLSDisabled serves plaintext FTP only and refuses AUTH TLS.
	TLSDisabled TLSMode = "Disabled"
	// TLSOptional offers AUTH TLS and still lets clients log in without it.
	TLSOptional TLSMode = "Optional"
	// TLSRequired refuses USER before AUTH TLS and data transfers without PROT P.
	TLSRequired TLSMode = "Required"
)

// TLSVersion is a minimum TLS protocol version, "1.2" or "1.3".
type TLSVersion string

// The TLS versions a server can require as its minimum.
const (
	TLSVersion12 TLSVersion = "1.2"
	TLSVersion13 TLSVersion = "1.3"
)

// Passive configures passive-mode data connections.
type Passive struct {
	// PortRange is where the server listens for data connections; every port is also a port of the Service.
	PortRange PortRange `json:"portRange"`
	// PublicAddresses are the addresses clients reach the server at, at most one per IP family: an IPv4 address,
	// an IPv6 address, both, or a single host name (resolved at each PASV). PASV announces the IPv4 one to clients
	// that came over IPv4; it cannot carry IPv6, so clients that came over IPv6 use EPSV, which carries only a
	// port. Empty announces the local address of the client's control connection.
	PublicAddresses []string `json:"publicAddresses,omitempty"`
	// PublicAddress is the older, single-address form of PublicAddresses, still read so that existing files
	// keep working. Set at most one of the two.
	PublicAddress string `json:"publicAddress,omitempty"`
}

// Addresses are the public addresses from whichever of PublicAddresses and PublicAddress is set.
func (p *Passive) Addresses() []string {
	if p.PublicAddress != "" {
		return []string{p.PublicAddress}
	}
	return slices.Clone(p.PublicAddresses)
}

// PortRange is an inclusive range of TCP ports.
type PortRange struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Contains reports whether port lies in the range.
func (r PortRange) Contains(port int) bool {
	return port >= r.Start && port <= r.End
}

// Active configures active-mode data connections.
type Active struct {
	// Enabled allows PORT/EPRT; the server then connects only to the client's own IP address.
	Enabled bool `json:"enabled"`
}

// Health configures the HTTP listener serving /healthz, /readyz and /metrics.
type Health struct {
	Address string `json:"address"`
}

// Storage is where users' files live.
type Storage struct {
	// Root is the absolute directory holding every user's home directory.
	Root string `json:"root"`
}

// Limits protect the server from too many or abusive clients. Pointer fields are nil when unset, so that an
// explicit 0 can mean something ("no banning") or be refused ("0s idle timeout") instead of silently becoming the
// default.
type Limits struct {
	// MaxConnections is the most client connections at once; 0 means no limit.
	MaxConnections int `json:"maxConnections"`
	// MaxConnectionsPerIP is the most connections one client address may hold at once; 0 means no limit.
	MaxConnectionsPerIP int `json:"maxConnectionsPerIP"`
	// IdleTimeout closes a connection without activity for this long.
	IdleTimeout *Duration `json:"idleTimeout,omitempty"`
	// LoginTimeout is how long the handshake and authentication together may take.
	LoginTimeout *Duration `json:"loginTimeout,omitempty"`
	// MaxLoginFailures failed logins from one address within BanDuration ban it for BanDuration; 0 disables bans.
	MaxLoginFailures *int `json:"maxLoginFailures,omitempty"`
	// BanDuration is how long a banned address is refused.
	BanDuration *Duration `json:"banDuration,omitempty"`
	// ShutdownGracePeriod is how long running transfers may continue after the server is asked to stop.
	ShutdownGracePeriod *Duration `json:"shutdownGracePeriod,omitempty"`
}

// User is one login.
type User struct {
	// Username is the login name.
	Username string `json:"username"`
	// PasswordHash is a bcrypt hash of the password. A plaintext password is refused, never compared.
	PasswordHash string `json:"passwordHash,omitempty"`
	// AuthorizedKeys are SSH public keys, one authorized_keys line each.
	AuthorizedKeys []string `json:"authorizedKeys,omitempty"`
	// HomeDirectory is the user's directory inside Storage.Root; the user sees it as "/". Use HomeDir to read it.
	HomeDirectory string `json:"homeDirectory,omitempty"`
	// Permissions are what the user may do, or a single preset. Use HasPermission to check one.
	Permissions []Permission `json:"permissions,omitempty"`
	// Protocols the user may log in with; empty means every protocol the server serves.
	Protocols []Protocol `json:"protocols,omitempty"`
	// AllowedSourceRanges, when not empty, admits the user only from these networks, in addition to the server's
	// own AllowedSourceRanges.
	AllowedSourceRanges []string `json:"allowedSourceRanges,omitempty"`
	// RequireAllAuthMethods makes an SFTP login need both an authorized key and the password (two factors);
	// otherwise either one is enough. Such a user cannot log in over FTP, which has no keys.
	RequireAllAuthMethods bool `json:"requireAllAuthMethods,omitempty"`
	// Disabled refuses the user's logins and ends their sessions while keeping their files.
	Disabled bool `json:"disabled,omitempty"`
}

// Permission is one thing a user may do, or a preset of several.
type Permission string

// Single permissions and presets. A preset must be the only entry of User.Permissions.
const (
	PermissionList     Permission = "list"
	PermissionDownload Permission = "download"
	PermissionUpload   Permission = "upload"
	// PermissionOverwrite allows changing an existing file: replacing, truncating, appending to or resuming it,
	// setting its size, and renaming another file over it.
	PermissionOverwrite Permission = "overwrite"
	PermissionDelete    Permission = "delete"
	PermissionRename    Permission = "rename"
	PermissionMkdir     Permission = "mkdir"

	// PresetReadWrite grants every single permission.
	PresetReadWrite Permission = "ReadWrite"
	// PresetReadOnly grants list and download.
	PresetReadOnly Permission = "ReadOnly"
	// PresetUploadOnly grants list, upload and mkdir: a drop box whose files cannot be changed once uploaded.
	PresetUploadOnly Permission = "UploadOnly"
)

// presets maps each preset to the single permissions it grants.
var presets = map[Permission][]Permission{
	PresetReadWrite: {
		PermissionList, PermissionDownload, PermissionUpload, PermissionOverwrite, PermissionDelete, PermissionRename,
		PermissionMkdir,
	},
	PresetReadOnly:   {PermissionList, PermissionDownload},
	PresetUploadOnly: {PermissionList, PermissionUpload, PermissionMkdir},
}

// Protocol is a file-transfer protocol.
type Protocol string

// The protocols a user may be limited to. ProtocolFTP covers plain FTP and explicit and implicit FTPS.
const (
	ProtocolSFTP Protocol = "sftp"
	ProtocolFTP  Protocol = "ftp"
)

// HomeDir returns the user's home directory inside the storage root, /<username> when HomeDirectory is empty.
func (u *User) HomeDir() string {
	if u.HomeDirectory != "" {
		return u.HomeDirectory
	}
	return "/" + u.Username
}

// AllowsProtocol reports whether the user may log in with p. It does not know whether the server serves p: a
// connection on a listener of p already proves that.
func (u *User) AllowsProtocol(p Protocol) bool {
	return len(u.Protocols) == 0 || slices.Contains(u.Protocols, p)
}

// HasPermission reports whether the user may do p, a single permission; presets in Permissions are expanded.
// Empty Permissions mean the default, DefaultPermission.
func (u *User) HasPermission(p Permission) bool {
	if len(u.Permissions) == 0 {
		return slices.Contains(presets[DefaultPermission], p)
	}
	for _, have := range u.Permissions {
		if have == p || slices.Contains(presets[have], p) {
			return true
		}
	}
	return false
}

// GrantedPermissions lists the single permissions the user has, presets expanded, in a fixed order.
func (u *User) GrantedPermissions() []Permission {
	var granted []Permission
	for _, p := range singlePermissions {
		if u.HasPermission(p) {
			granted = append(granted, p)
		}
	}
	return granted
}

// Duration is a time.Duration written as a Go duration string such as "90s", "5m" or "1h30m".
//
// A value that is not such a string does not fail decoding: it is kept and reported by Validate with its field
// path, together with every other problem of the file.
type Duration struct {
	time.Duration
	// invalid is the JSON text of a value that did not parse, empty for a valid one.
	invalid string
}

// UnmarshalJSON reads a duration string, keeping anything else for Validate to report.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		if v, err := time.ParseDuration(s); err == nil {
			*d = Duration{Duration: v}
			return nil
		}
	}
	*d = Duration{invalid: string(data)}
	return nil
}

// MarshalJSON writes the shortest form that parses back to the same value ("5m", not "5m0s"); a value that did not
// parse is written back as it was read.
func (d Duration) MarshalJSON() ([]byte, error) {
	if d.invalid != "" {
		return []byte(d.invalid), nil
	}
	return json.Marshal(formatDuration(d.Duration))
}

// formatDuration trims the zero minutes and seconds time.Duration.String adds: 5m0s becomes 5m, 1h0m0s becomes 1h.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
