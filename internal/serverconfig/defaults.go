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
	"strconv"
	"time"
)

// The ports pier runs pier-server on: the operator's pods listen on them (internal/controller/render's container
// ports) and `pier-server portable` uses them unless its flags say otherwise, so a server started by hand answers
// where a pod does. They are unprivileged, so the server needs no capability to bind them.
const (
	SFTPPort         = 2222
	FTPPort          = 2121
	ImplicitFTPSPort = 9990
	HealthPort       = 9080
	// PassivePortStart and PassivePortEnd are portable mode's FTP passive ports; an endpoint's come from its spec.
	PassivePortStart = 30000
	PassivePortEnd   = 30019
)

// Defaults of the optional fields. docs/server-config.md lists them too. A listener whose address the file leaves
// out listens on every interface: SFTP and FTP on SFTPPort and FTPPort, health on DefaultHealthPort. That one is
// not HealthPort: a file without a health address has listened on 8080 since the first version of this format,
// and whoever runs pier-server with such a file points its probes there.
const (
	DefaultHealthPort          = 8080
	DefaultTLSMode             = TLSRequired
	DefaultTLSMinVersion       = TLSVersion12
	DefaultRequireSessionReuse = true
	DefaultPermission          = PresetReadWrite
	DefaultIdleTimeout         = 5 * time.Minute
	DefaultLoginTimeout        = 30 * time.Second
	DefaultMaxLoginFailures    = 5
	DefaultBanDuration         = 15 * time.Minute
	DefaultShutdownGracePeriod = 30 * time.Second
)

// ApplyDefaults fills every unset optional field with its default, so the server reads plain values and the
// operator can render the fully resolved file. Empty lists become nil: in this schema an empty list always means
// the same as an absent one, and one representation keeps Marshal and Parse exact inverses. It never overwrites a
// value that is set, even an invalid one, so Validate still reports it. Parse calls it; calling it again changes
// nothing.
func (c *Config) ApplyDefaults() {
	if c.SFTP != nil {
		setString(&c.SFTP.Address, anyInterface(SFTPPort))
		if len(c.SFTP.AuthMethods) == 0 {
			c.SFTP.AuthMethods = []AuthMethod{AuthMethodPassword, AuthMethodPublicKey}
		}
	}
	if c.FTP != nil {
		setString(&c.FTP.Address, anyInterface(FTPPort))
		tls := &c.FTP.TLS
		if tls.Mode == "" {
			tls.Mode = DefaultTLSMode
		}
		if tls.MinVersion == "" {
			tls.MinVersion = DefaultTLSMinVersion
		}
		if tls.RequireSessionReuse == nil {
			reuse := DefaultRequireSessionReuse
			tls.RequireSessionReuse = &reuse
		}
	}
	setString(&c.Health.Address, anyInterface(DefaultHealthPort))

	l := &c.Limits
	setDuration(&l.IdleTimeout, DefaultIdleTimeout)
	setDuration(&l.LoginTimeout, DefaultLoginTimeout)
	setDuration(&l.BanDuration, DefaultBanDuration)
	setDuration(&l.ShutdownGracePeriod, DefaultShutdownGracePeriod)
	if l.MaxLoginFailures == nil {
		n := DefaultMaxLoginFailures
		l.MaxLoginFailures = &n
	}

	c.AllowedSourceRanges = nilIfEmpty(c.AllowedSourceRanges)
	c.Users = nilIfEmpty(c.Users)
	for i := range c.Users {
		c.Users[i].applyDefaults()
	}
}

// applyDefaults fills the user's optional fields. The home directory is left empty for a user without a name,
// rather than defaulted to "/" (all of the storage), should anyone skip Validate.
func (u *User) applyDefaults() {
	if u.HomeDirectory == "" && u.Username != "" {
		u.HomeDirectory = u.HomeDir()
	}
	if len(u.Permissions) == 0 {
		u.Permissions = []Permission{DefaultPermission}
	}
	u.AuthorizedKeys = nilIfEmpty(u.AuthorizedKeys)
	u.Protocols = nilIfEmpty(u.Protocols)
	u.AllowedSourceRanges = nilIfEmpty(u.AllowedSourceRanges)
}

// anyInterface is the listen address of port on every interface.
func anyInterface(port int) string {
	return ":" + strconv.Itoa(port)
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func setDuration(d **Duration, def time.Duration) {
	if *d == nil {
		*d = &Duration{Duration: def}
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
