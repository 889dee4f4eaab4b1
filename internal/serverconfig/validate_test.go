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

package serverconfig

import (
	"strings"
	"testing"
	"time"
)

// Keys of types users may not use; their private halves were thrown away.
const (
	testDSAKey = "ssh-dss AAAAB3NzaC1kc3MAAACBANwFdK1F7x7cAWmdaG11MRilyryoSJwonkIzG3G+U43RNETUU3H7sLAhz8Rv+yNpC4k/e9u+ALCrErfys0GthjuTlzUPLihwKbTJzd6oaCWEODxwLdfqsie/L/HVD5jz9soapNKsidJOokxIN77FW3z50Jzr65F4za4d3c29jXGXAAAAFQD87QiLn1EmSpQWVQnKZA2u+RyzMwAAAIBQUXSpIg+uHWIB1gegVXLqdB9iwWAiFteoWAmGLgPBSJCda/6t8nKKEQ5nB0fUrbAbAGhirw85xboAqHG5zLocRHtBk5PhnN31Nt8hDZMRlb7eGR/v6oWIYWkU2FS9t1lS23/svCLyagnHJkyaB18aN2IgG+iDtIGUjLsbn3pFiwAAAIAex4XCOcRxdYIBTSu8752g6rZrr/7PHGY/Xk+2iGVUEOrwpsGnRmpo1TuB0PJ6alWFwN18jVgIjHUMKLp5hL3HtUJwHv7kOEulHqRcfp60BOJgWDZW/EG08dUtpvxR5zsOfwe9ic1rQjls6eNl/kjoUnh7hWmamSDA7R1lfgwdIA== dsa"
	testCert   = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIN+BHBjd8T1nGLfRN8X+5EGIjo6AY4CH4xZqrsPz4LdvAAAAIFd1hSXPh5kB7u2u0AFaUXaFQLJnVcB4LodUy90rrr3HAAAAAAAAAAAAAAABAAAABHRlc3QAAAAJAAAABWFsaWNlAAAAAAAAAAD//////////wAAAAAAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIJ12LAjKIExVN2EaXJjuGucASDGLvkwGxbtrExAQIUHWAAAAUwAAAAtzc2gtZWQyNTUxOQAAAEDG8cUrpfjxrfHnsv8ti0LlVXUJLJXROZT3juTF89YGSXVkyCk5wcONxI0ZWnJgmAPeOABemc7CeJhOuMDOTOwC u"
)

// TestInvalidConfigs changes one thing in the documented example and checks the complete list of errors: each
// want is the start of one error line, field path first. The changed config goes through Marshal and Parse, as the
// operator's file goes to the server.
func TestInvalidConfigs(t *testing.T) {
	longName := strings.Repeat("a", 101)
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		// File and protocols.
		{"apiVersion missing", func(c *Config) { c.APIVersion = "" },
			[]string{"apiVersion: required: this server reads server.pier.dev/v1alpha1"}},
		{"kind wrong", func(c *Config) { c.Kind = "Config" },
			[]string{`kind: "Config" is not supported: want ServerConfig`}},
		{"no protocol", func(c *Config) { c.SFTP, c.FTP = nil, nil },
			[]string{"sftp, ftp: enable at least one protocol"}},

		// Listeners.
		{"address without port", func(c *Config) { c.SFTP.Address = "localhost" },
			[]string{`sftp.address: "localhost" is not a listen address`}},
		{"port 0", func(c *Config) { c.SFTP.Address = ":0" },
			[]string{`sftp.address: ":0": the port must be a number from 1 to 65535`}},
		{"port not a number", func(c *Config) { c.SFTP.Address = ":ssh" },
			[]string{`sftp.address: ":ssh": the port must be a number from 1 to 65535`}},
		{"bad host", func(c *Config) { c.FTP.Address = "ftp_host:2121" },
			[]string{`ftp.address: "ftp_host:2121": the host must be empty`}},
		{"implicit port taken", func(c *Config) { c.FTP.ImplicitTLSAddress = ":2222" },
			[]string{"ftp.implicitTLSAddress: port 2222 is already used by sftp.address"}},
		{"health port taken", func(c *Config) { c.Health.Address = "127.0.0.1:2121" },
			[]string{"health.address: port 2121 is already used by ftp.address"}},
		{"listener in passive range", func(c *Config) { c.Health.Address = ":30005" },
			[]string{"health.address: port 30005 lies inside ftp.passive.portRange (30000-30019)"}},

		// SFTP.
		{"no host keys", func(c *Config) { c.SFTP.HostKeyFiles = nil },
			[]string{"sftp.hostKeyFiles: required"}},
		{"relative host key", func(c *Config) { c.SFTP.HostKeyFiles[1] = "keys/rsa" },
			[]string{`sftp.hostKeyFiles[1]: "keys/rsa" is not an absolute path`}},
		{"host key twice", func(c *Config) { c.SFTP.HostKeyFiles[2] = c.SFTP.HostKeyFiles[0] },
			[]string{`sftp.hostKeyFiles[2]: "/etc/pier/host-keys/ssh_host_ed25519_key" is listed twice`}},
		{"unknown auth method", func(c *Config) { c.SFTP.AuthMethods = []AuthMethod{"keyboard-interactive"} },
			[]string{`sftp.authMethods[0]: "keyboard-interactive" is not an SSH authentication method`}},
		{"auth method twice", func(c *Config) { c.SFTP.AuthMethods = []AuthMethod{"password", "password"} },
			[]string{`sftp.authMethods[1]: "password" is listed twice`}},

		// FTP TLS.
		{"unknown TLS mode", func(c *Config) { c.FTP.TLS.Mode = "Strict" },
			[]string{`ftp.tls.mode: "Strict" is not a TLS mode (want Disabled, Optional or Required)`}},
		{"old TLS version", func(c *Config) { c.FTP.TLS.MinVersion = "1.1" },
			[]string{`ftp.tls.minVersion: "1.1" is not a TLS version`}},
		{"no certificate", func(c *Config) { c.FTP.TLS.CertFile = "" },
			[]string{"ftp.tls.certFile: required: tls.mode Required serves FTPS, which needs a certificate"}},
		{"implicit FTPS needs a certificate", func(c *Config) {
			c.FTP.TLS = TLS{Mode: TLSDisabled}
		}, []string{
			"ftp.tls.certFile: required: implicitTLSAddress serves FTPS",
			"ftp.tls.keyFile: required: implicitTLSAddress serves FTPS",
		}},
		{"certificate without key", func(c *Config) {
			c.FTP.ImplicitTLSAddress = ""
			c.FTP.TLS = TLS{Mode: TLSDisabled, CertFile: "/tls/tls.crt"}
		}, []string{"ftp.tls.keyFile: required: certFile and keyFile go together"}},
		{"relative key file", func(c *Config) { c.FTP.TLS.KeyFile = "tls.key" },
			[]string{`ftp.tls.keyFile: "tls.key" is not an absolute path`}},

		// FTP passive.
		{"no passive range", func(c *Config) { c.FTP.Passive.PortRange = PortRange{} },
			[]string{"ftp.passive.portRange: required"}},
		{"privileged passive port", func(c *Config) { c.FTP.Passive.PortRange = PortRange{Start: 80, End: 90} },
			[]string{"ftp.passive.portRange.start: 80 is outside 1024-65535"}},
		{"passive port too high", func(c *Config) { c.FTP.Passive.PortRange.End = 70000 },
			[]string{"ftp.passive.portRange.end: 70000 is outside 1024-65535"}},
		{"passive range reversed", func(c *Config) { c.FTP.Passive.PortRange = PortRange{Start: 30010, End: 30000} },
			[]string{"ftp.passive.portRange.end: 30000 is less than start 30010"}},
		{"passive range too large", func(c *Config) { c.FTP.Passive.PortRange = PortRange{Start: 30000, End: 31000} },
			[]string{"ftp.passive.portRange: 1001 ports; at most 256"}},
		{"bad public address", func(c *Config) {
			c.FTP.Passive.PublicAddresses, c.FTP.Passive.PublicAddress = nil, "ftp example.com"
		}, []string{`ftp.passive.publicAddress: "ftp example.com" is neither an IP address nor a host name`}},
		{"both forms of the public address", func(c *Config) { c.FTP.Passive.PublicAddress = "203.0.113.9" },
			[]string{"ftp.passive.publicAddress: set only publicAddresses: publicAddress is its older, single-address form"}},
		{"bad entry in public addresses", func(c *Config) { c.FTP.Passive.PublicAddresses[1] = "2001:db8::7/64" },
			[]string{`ftp.passive.publicAddresses[1]: "2001:db8::7/64" is neither an IP address nor a host name`}},
		{"public address with a zone", func(c *Config) { c.FTP.Passive.PublicAddresses[1] = "fe80::1%eth0" },
			[]string{`ftp.passive.publicAddresses[1]: "fe80::1%eth0" has a zone; give an address clients can reach, without %eth0`}},
		{"two IPv4 public addresses", func(c *Config) { c.FTP.Passive.PublicAddresses[1] = "::ffff:203.0.113.8" },
			[]string{"ftp.passive.publicAddresses: lists 2 IPv4 addresses; list at most one per IP family"}},
		{"two IPv6 public addresses", func(c *Config) {
			c.FTP.Passive.PublicAddresses = []string{"2001:db8::7", "2001:db8::8"}
		}, []string{"ftp.passive.publicAddresses: lists 2 IPv6 addresses; list at most one per IP family"}},
		{"host name beside an address", func(c *Config) {
			c.FTP.Passive.PublicAddresses = []string{"ftp.example.com", "2001:db8::7"}
		}, []string{"ftp.passive.publicAddresses: a host name must be the only entry"}},

		// Storage.
		{"no storage root", func(c *Config) { c.Storage.Root = "" },
			[]string{"storage.root: required"}},
		{"relative storage root", func(c *Config) { c.Storage.Root = "data" },
			[]string{`storage.root: "data" is not an absolute path`}},
		{"storage root is /", func(c *Config) { c.Storage.Root = "/" },
			[]string{`storage.root: must not be "/"`}},
		{"storage root with ..", func(c *Config) { c.Storage.Root = "/data/../etc" },
			[]string{`storage.root: "/data/../etc" must not contain . or .. segments`}},
		{"storage root with newline", func(c *Config) { c.Storage.Root = "/data\n" },
			[]string{`storage.root: "/data\n" contains control characters`}},

		// Limits.
		{"negative maxConnections", func(c *Config) { c.Limits.MaxConnections = -1 },
			[]string{"limits.maxConnections: -1 is negative"}},
		{"negative maxConnectionsPerIP", func(c *Config) { c.Limits.MaxConnectionsPerIP = -1 },
			[]string{"limits.maxConnectionsPerIP: -1 is negative"}},
		{"negative maxLoginFailures", func(c *Config) { c.Limits.MaxLoginFailures = ptr(-1) },
			[]string{"limits.maxLoginFailures: -1 is negative"}},
		{"idle timeout too short", func(c *Config) { c.Limits.IdleTimeout = dur(500 * time.Millisecond) },
			[]string{"limits.idleTimeout: 500ms is outside 1s to 24h"}},
		{"idle timeout too long", func(c *Config) { c.Limits.IdleTimeout = dur(48 * time.Hour) },
			[]string{"limits.idleTimeout: 48h is outside 1s to 24h"}},
		{"zero login timeout", func(c *Config) { c.Limits.LoginTimeout = dur(0) },
			[]string{"limits.loginTimeout: 0s is outside 1s to 10m"}},
		{"negative ban", func(c *Config) { c.Limits.BanDuration = dur(-time.Minute) },
			[]string{"limits.banDuration: -1m is outside 1s to 720h"}},
		{"long grace period", func(c *Config) { c.Limits.ShutdownGracePeriod = dur(2 * time.Hour) },
			[]string{"limits.shutdownGracePeriod: 2h is outside 0s to 1h"}},

		// Source ranges.
		{"bad prefix length", func(c *Config) { c.AllowedSourceRanges = append(c.AllowedSourceRanges, "10.0.0.0/33") },
			[]string{`allowedSourceRanges[3]: "10.0.0.0/33" is not a CIDR`}},
		{"address, not CIDR", func(c *Config) { c.AllowedSourceRanges[0] = "10.0.0.1" },
			[]string{`allowedSourceRanges[0]: "10.0.0.1" is not a CIDR`}},

		// Users: names.
		{"no username", func(c *Config) { c.Users[1].Username = "" },
			[]string{"users[1].username: required"}},
		{"short username", func(c *Config) { c.Users[0].Username = "al" },
			[]string{`users[0] (al).username: "al" must be 3 to 100 characters long`}},
		{"long username", func(c *Config) { c.Users[0].Username = longName },
			[]string{`users[0] ("` + longName[:100] + `...").username: "` + longName[:100] + `..." must be 3 to 100`}},
		{"username starts with -", func(c *Config) { c.Users[0].Username = "-alice" },
			[]string{`users[0] ("-alice").username: "-alice" may contain only letters, digits`}},
		{"username with space", func(c *Config) { c.Users[2].Username = "bob smith" },
			[]string{`users[2] ("bob smith").username: "bob smith" may contain only`}},
		{"duplicate username", func(c *Config) { c.Users[3].Username = "alice" },
			[]string{"users[3] (alice).username: already used by users[0]"}},

		// Users: credentials.
		{"plaintext password", func(c *Config) { c.Users[0].PasswordHash = "change-me" },
			[]string{"users[0] (alice).passwordHash: not a bcrypt hash (want $2a$, $2b$ or $2y$)"}},
		{"md5-crypt hash", func(c *Config) { c.Users[0].PasswordHash = "$1$saltsalt$qjXMvbEw8oaL.CzflDugX." },
			[]string{"users[0] (alice).passwordHash: not a bcrypt hash"}},
		{"unknown bcrypt version", func(c *Config) { c.Users[0].PasswordHash = "$2x$" + testHash[4:] },
			[]string{"users[0] (alice).passwordHash: not a bcrypt hash"}},
		{"bcrypt cost below 4", func(c *Config) { c.Users[0].PasswordHash = "$2a$03$" + testHash[7:] },
			[]string{"users[0] (alice).passwordHash: not a bcrypt hash"}},
		{"truncated hash", func(c *Config) { c.Users[0].PasswordHash = testHash[:59] },
			[]string{"users[0] (alice).passwordHash: not a bcrypt hash"}},
		{"invalid key", func(c *Config) { c.Users[1].AuthorizedKeys[0] = "ssh-ed25519 AAAA ci" },
			[]string{"users[1] (ci-bot).authorizedKeys[0]: invalid public key: "}},
		{"comment, not key", func(c *Config) { c.Users[1].AuthorizedKeys = []string{"# my key"} },
			[]string{"users[1] (ci-bot).authorizedKeys[0]: invalid public key: ssh: no key found"}},
		{"two keys in one entry", func(c *Config) { c.Users[0].AuthorizedKeys[0] = testKey + "\n" + testKey },
			[]string{"users[0] (alice).authorizedKeys[0]: must be a single authorized_keys line"}},
		{"control character in key", func(c *Config) { c.Users[0].AuthorizedKeys[0] = testKey + "\x00" },
			[]string{"users[0] (alice).authorizedKeys[0]: contains control characters"}},
		{"DSA key", func(c *Config) {
			c.Users[0].AuthorizedKeys[0] = testDSAKey
		}, []string{"users[0] (alice).authorizedKeys[0]: key type ssh-dss is not accepted (want one of ssh-ed25519, "}},
		{"certificate, not key", func(c *Config) {
			c.Users[0].AuthorizedKeys[0] = testCert
		}, []string{"users[0] (alice).authorizedKeys[0]: key type ssh-ed25519-cert-v01@openssh.com is not accepted"}},
		{"no credentials", func(c *Config) { c.Users[0].PasswordHash, c.Users[0].AuthorizedKeys = "", nil },
			[]string{"users[0] (alice): cannot log in: set passwordHash, authorizedKeys or both"}},
		{"FTP without password", func(c *Config) { c.Users[1].Protocols = []Protocol{ProtocolSFTP, ProtocolFTP} },
			[]string{"users[1] (ci-bot).protocols: ftp needs a passwordHash"}},
		{"bcrypt cost too high", func(c *Config) {
			c.Users[0].PasswordHash = "$2a$15$" + strings.Repeat("a", 53)
		}, []string{"users[0] (alice).passwordHash: bcrypt cost 15 is above 14"}},
		{"two factors without a password", func(c *Config) { c.Users[1].RequireAllAuthMethods = true },
			[]string{"users[1] (ci-bot).requireAllAuthMethods: needs both passwordHash and authorizedKeys"}},

		// Users: home, permissions, protocols, ranges.
		{"relative home", func(c *Config) { c.Users[0].HomeDirectory = "alice" },
			[]string{`users[0] (alice).homeDirectory: "alice" is not an absolute path`}},
		{"home with ..", func(c *Config) { c.Users[0].HomeDirectory = "/alice/../bob" },
			[]string{`users[0] (alice).homeDirectory: "/alice/../bob" must not contain . or .. segments`}},
		{"home with .", func(c *Config) { c.Users[0].HomeDirectory = "/./alice" },
			[]string{`users[0] (alice).homeDirectory: "/./alice" must not contain . or .. segments`}},
		{"home too long", func(c *Config) { c.Users[0].HomeDirectory = "/" + strings.Repeat("a", 1024) },
			[]string{"users[0] (alice).homeDirectory: longer than 1024 bytes"}},
		{"unknown permission", func(c *Config) { c.Users[0].Permissions = []Permission{"write"} },
			[]string{`users[0] (alice).permissions[0]: "write" is not a permission`}},
		{"preset with others", func(c *Config) { c.Users[0].Permissions = []Permission{"ReadOnly", "upload"} },
			[]string{"users[0] (alice).permissions[0]: preset ReadOnly must be the only entry"}},
		{"permission twice", func(c *Config) { c.Users[2].Permissions = []Permission{"list", "upload", "list"} },
			[]string{`users[2] (partner@example.com).permissions[2]: "list" is listed twice`}},
		{"unknown protocol", func(c *Config) { c.Users[0].Protocols = []Protocol{"scp"} },
			[]string{`users[0] (alice).protocols[0]: "scp" is not a protocol (want sftp or ftp)`}},
		{"bad user CIDR", func(c *Config) { c.Users[1].AllowedSourceRanges = []string{"192.0.2.0/24", "bad"} },
			[]string{`users[1] (ci-bot).allowedSourceRanges[1]: "bad" is not a CIDR`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := exampleConfig(t)
			tc.mutate(c)
			_, err := Parse(marshal(t, c))
			assertErrors(t, err, tc.want...)
			// Validate alone, on the config as built, finds the same.
			assertErrors(t, c.Validate(), tc.want...)
		})
	}
}

// TestInvalidYAML covers what only the file's text can get wrong: types, syntax and values that are not durations.
func TestInvalidYAML(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"duration not a duration", "limits: {idleTimeout: soon}\n",
			[]string{`limits.idleTimeout: "soon" is not a duration such as 90s or 5m`}},
		{"duration as a number", "limits: {banDuration: 300}\n",
			[]string{"limits.banDuration: 300 is not a duration such as 90s or 5m"}},
		{"kind missing", "kind: \"\"\n",
			[]string{"kind: required: want ServerConfig"}},
		{"string for a number", "ftp: {passive: {portRange: {start: abc, end: 30001}}}\n",
			[]string{"ftp.passive.portRange.start: got a string, want a whole number"}},
		{"unquoted TLS version", "ftp: {tls: {minVersion: 1.3}}\n",
			[]string{"ftp.tls.minVersion: got a number, want a string: quote it"}},
		{"users not a list", "users: alice\n",
			[]string{"users: got a string, want a list"}},
		{"string for a boolean", "users: [{username: alice, disabled: \"yes\"}]\n",
			[]string{"users.disabled: got a string, want true or false"}},
		{"not YAML", "sftp: [\n",
			[]string{"not valid YAML: "}},
		{"duplicate key", "storage: {root: /data}\nstorage: {root: /srv}\n",
			[]string{"not valid YAML: "}},
		{"not a mapping", "- apiVersion: server.pier.dev/v1alpha1\n",
			[]string{"the file must be a YAML mapping"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := tc.yaml
			if !strings.HasPrefix(yaml, "- ") {
				yaml = baseYAML(yaml)
			}
			_, err := Parse([]byte(yaml))
			assertErrors(t, err, tc.want...)
		})
	}
}

// TestValidVariants changes the documented example within the rules; each must still be valid.
func TestValidVariants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
	}{
		{"plaintext FTP only", func(c *Config) {
			c.FTP.ImplicitTLSAddress = ""
			c.FTP.TLS = TLS{Mode: TLSDisabled}
		}},
		{"optional TLS, TLS 1.3, no session reuse", func(c *Config) {
			c.FTP.TLS.Mode, c.FTP.TLS.MinVersion, c.FTP.TLS.RequireSessionReuse = TLSOptional, TLSVersion13, ptr(false)
		}},
		{"SFTP only, users still list ftp", func(c *Config) { c.FTP = nil }},
		{"FTP only", func(c *Config) { c.SFTP = nil }},
		{"listen addresses with hosts", func(c *Config) {
			c.SFTP.Address, c.FTP.Address, c.Health.Address = "[::]:22", "0.0.0.0:21", "localhost:8080"
			c.FTP.ImplicitTLSAddress = "[2001:db8::1]:990"
		}},
		{"one IPv6 public address", func(c *Config) { c.FTP.Passive.PublicAddresses = []string{"2001:db8::7"} }},
		{"one IPv4 public address", func(c *Config) { c.FTP.Passive.PublicAddresses = []string{"203.0.113.7"} }},
		{"IPv6 before IPv4", func(c *Config) { c.FTP.Passive.PublicAddresses = []string{"2001:db8::7", "203.0.113.7"} }},
		{"public host name", func(c *Config) { c.FTP.Passive.PublicAddresses = []string{"ftp.example.com"} }},
		{"older single public address", func(c *Config) {
			c.FTP.Passive.PublicAddresses, c.FTP.Passive.PublicAddress = nil, "2001:db8::7"
		}},
		{"no public address", func(c *Config) { c.FTP.Passive.PublicAddresses = nil }},
		{"largest passive range", func(c *Config) { c.FTP.Passive.PortRange = PortRange{Start: 1024, End: 1279} }},
		{"one passive port at the top", func(c *Config) { c.FTP.Passive.PortRange = PortRange{Start: 65535, End: 65535} }},
		{"no banning, no grace", func(c *Config) {
			c.Limits.MaxLoginFailures, c.Limits.ShutdownGracePeriod = ptr(0), dur(0)
		}},
		{"limits at their bounds", func(c *Config) {
			c.Limits.IdleTimeout, c.Limits.LoginTimeout = dur(24*time.Hour), dur(time.Second)
			c.Limits.BanDuration, c.Limits.ShutdownGracePeriod = dur(720*time.Hour), dur(time.Hour)
		}},
		{"no source ranges, no users", func(c *Config) { c.AllowedSourceRanges, c.Users = nil, nil }},
		{"disabled user without credentials", func(c *Config) {
			c.Users[3].PasswordHash, c.Users[3].Protocols = "", []Protocol{ProtocolFTP}
		}},
		{"usernames at the edges", func(c *Config) {
			c.Users[0].Username, c.Users[1].Username = "abc", strings.Repeat("z", 100)
			c.Users[2].Username = "_a.b@c-d"
		}},
		{"bcrypt $2b$ and $2y$", func(c *Config) {
			c.Users[0].PasswordHash, c.Users[2].PasswordHash = "$2b$"+testHash[4:], "$2y$"+testHash[4:]
		}},
		{"key with options", func(c *Config) {
			c.Users[0].AuthorizedKeys[0] = `from="10.0.0.0/8",no-pty,no-port-forwarding ` + testKey
		}},
		{"key without comment", func(c *Config) {
			c.Users[0].AuthorizedKeys[0] = testKey[:strings.LastIndex(testKey, " ")]
		}},
		{"home is the whole storage", func(c *Config) { c.Users[0].HomeDirectory = "/" }},
		{"single permissions", func(c *Config) {
			c.Users[0].Permissions = []Permission{"list", "download", "upload", "delete", "rename", "mkdir"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := exampleConfig(t)
			tc.mutate(c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			mustParse(t, marshal(t, c))
		})
	}
}
