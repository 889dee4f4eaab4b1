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
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldError is one problem with one field. Validate and Parse return every problem they find, joined with
// errors.Join, one FieldError each, so that whoever fixes the file sees all of them at once.
type FieldError struct {
	// Field is the path of the field, such as "limits.idleTimeout" or "users[2] (alice).passwordHash"; users are
	// named as well as numbered because the operator sorts them. Empty for the file as a whole.
	Field string
	// Message says what is wrong and, where it helps, what would be right. It never quotes a password hash: a
	// plaintext password written there by mistake must not reach a log.
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// errorList collects FieldErrors.
type errorList []error

func (l *errorList) add(field, format string, args ...any) {
	*l = append(*l, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// child returns the path of field name inside parent.
func child(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// index returns the path of item i of list field.
func index(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// Limits of the durations. They catch typos such as 30h for 30s rather than encode policy.
const (
	minIdleTimeout         = time.Second
	maxIdleTimeout         = 24 * time.Hour
	minLoginTimeout        = time.Second
	maxLoginTimeout        = 10 * time.Minute
	minBanDuration         = time.Second
	maxBanDuration         = 720 * time.Hour
	maxShutdownGracePeriod = time.Hour
)

// Passive port rules: unprivileged ports, and few enough that each can be a port of the Service.
const (
	minPassivePort  = 1024
	maxPassivePorts = 256
)

// hostNameRE matches a DNS host name such as ftp.example.com.
var hostNameRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$`)

// Validate reports every problem of the configuration, or nil. It accepts a configuration with or without defaults
// applied: an unset optional field is checked as its default. It checks values only; whether the key and
// certificate files exist and parse is for the server to find out when it loads them.
func (c *Config) Validate() error {
	var errs errorList
	c.validate(&errs)
	return errors.Join(errs...)
}

func (c *Config) validate(errs *errorList) {
	c.validateHeader(errs)
	if c.SFTP == nil && c.FTP == nil {
		errs.add("sftp, ftp", "enable at least one protocol: set sftp, ftp or both")
	}
	if c.SFTP != nil {
		c.SFTP.validate(errs)
	}
	if c.FTP != nil {
		c.FTP.validate(errs)
	}
	c.validateListeners(errs)
	if checkPath(errs, "storage.root", c.Storage.Root) && c.Storage.Root == "/" {
		errs.add("storage.root", `must not be "/": users could then reach the server's own files, keys included`)
	}
	c.Limits.validate(errs)
	validateCIDRs(errs, "allowedSourceRanges", c.AllowedSourceRanges)
	c.validateUsers(errs)
}

func (c *Config) validateHeader(errs *errorList) {
	switch c.APIVersion {
	case APIVersion:
	case "":
		errs.add("apiVersion", "required: this server reads %s", APIVersion)
	default:
		errs.add("apiVersion", "%s", unsupportedAPIVersion(c.APIVersion))
	}
	switch c.Kind {
	case Kind:
	case "":
		errs.add("kind", "required: want %s", Kind)
	default:
		errs.add("kind", "%q is not supported: want %s", c.Kind, Kind)
	}
}

func (s *SFTP) validate(errs *errorList) {
	if len(s.HostKeyFiles) == 0 {
		errs.add("sftp.hostKeyFiles", "required: at least one OpenSSH private key file")
	}
	for i, f := range s.HostKeyFiles {
		field := index("sftp.hostKeyFiles", i)
		if checkPath(errs, field, f) && slices.Contains(s.HostKeyFiles[:i], f) {
			errs.add(field, "%q is listed twice", f)
		}
	}
	checkEnumList(errs, "sftp.authMethods", s.AuthMethods,
		[]AuthMethod{AuthMethodPassword, AuthMethodPublicKey}, "an SSH authentication method (want password or publickey)")
}

func (f *FTP) validate(errs *errorList) {
	tls := &f.TLS
	mode := tls.Mode
	switch mode {
	case "":
		mode = DefaultTLSMode
	case TLSDisabled, TLSOptional, TLSRequired:
	default:
		errs.add("ftp.tls.mode", "%q is not a TLS mode (want Disabled, Optional or Required)", tls.Mode)
	}
	switch tls.MinVersion {
	case "", TLSVersion12, TLSVersion13:
	default:
		errs.add("ftp.tls.minVersion", "%q is not a TLS version (want \"1.2\" or \"1.3\")", tls.MinVersion)
	}

	// Both files or neither; both whenever some listener speaks TLS.
	var why string
	switch {
	case mode == TLSOptional || mode == TLSRequired:
		why = fmt.Sprintf("tls.mode %s serves FTPS, which needs a certificate", mode)
	case mode != TLSDisabled:
		why = "FTPS needs a certificate unless tls.mode is Disabled"
	case f.ImplicitTLSAddress != "":
		why = "implicitTLSAddress serves FTPS, which needs a certificate"
	case tls.CertFile != "" || tls.KeyFile != "":
		why = "certFile and keyFile go together"
	}
	if why != "" {
		for _, file := range []struct{ field, value string }{
			{"ftp.tls.certFile", tls.CertFile},
			{"ftp.tls.keyFile", tls.KeyFile},
		} {
			if file.value == "" {
				errs.add(file.field, "required: %s", why)
			} else {
				checkPath(errs, file.field, file.value)
			}
		}
	}

	f.Passive.validate(errs)
}

func (p *Passive) validate(errs *errorList) {
	const field = "ftp.passive.portRange"
	r := p.PortRange
	switch {
	case r.Start == 0 && r.End == 0:
		errs.add(field, "required: the ports the server listens on for passive data connections, such as {start: 30000, end: 30019}")
	case r.Start < minPassivePort || r.Start > 65535:
		errs.add(field+".start", "%d is outside %d-65535", r.Start, minPassivePort)
	case r.End < minPassivePort || r.End > 65535:
		errs.add(field+".end", "%d is outside %d-65535", r.End, minPassivePort)
	case r.End < r.Start:
		errs.add(field+".end", "%d is less than start %d", r.End, r.Start)
	case r.End-r.Start+1 > maxPassivePorts:
		errs.add(field, "%d ports; at most %d, because each one is a port of the Service", r.End-r.Start+1, maxPassivePorts)
	}
	if p.PublicAddress != "" {
		checkPublicAddress(errs, "ftp.passive.publicAddress", p.PublicAddress)
		if len(p.PublicAddresses) > 0 {
			errs.add("ftp.passive.publicAddress", "set only publicAddresses: publicAddress is its older, single-address form")
		}
	}
	p.validateAddresses(errs)
}

// validateAddresses checks publicAddresses: at most one address per IP family, because PASV announces one
// address, or a single host name, which stands for every address it resolves to.
func (p *Passive) validateAddresses(errs *errorList) {
	const field = "ftp.passive.publicAddresses"
	var v4, v6, host int
	for i, a := range p.PublicAddresses {
		if !checkPublicAddress(errs, index(field, i), a) {
			continue
		}
		ip, err := netip.ParseAddr(a)
		switch {
		case err != nil:
			host++
		case ip.Unmap().Is4():
			v4++
		default:
			v6++
		}
	}
	switch {
	case host > 0 && len(p.PublicAddresses) > 1:
		errs.add(field, "a host name must be the only entry: it already stands for its IPv4 and IPv6 addresses")
	case v4 > 1:
		errs.add(field, "lists %d IPv4 addresses; list at most one per IP family, PASV announces one", v4)
	case v6 > 1:
		errs.add(field, "lists %d IPv6 addresses; list at most one per IP family", v6)
	}
}

// checkPublicAddress checks one address clients reach the server at: an IP address without a zone (a zone names
// an interface of this machine and means nothing to a client) or a host name.
func checkPublicAddress(errs *errorList, field, address string) bool {
	if ip, err := netip.ParseAddr(address); err == nil && ip.Zone() != "" {
		errs.add(field, "%q has a zone; give an address clients can reach, without %%%s", address, ip.Zone())
		return false
	}
	if !isIPOrHostName(address) {
		errs.add(field, "%q is neither an IP address nor a host name", truncate(address))
		return false
	}
	return true
}

// validateListeners checks every listen address, that no two listeners share a port (whatever their hosts: in a
// pod they would still collide on the wildcard address) and that none lies inside the passive port range.
func (c *Config) validateListeners(errs *errorList) {
	type listener struct {
		field string
		port  int
	}
	var listeners []listener
	listen := func(field, address string) {
		if port, ok := checkListenAddress(errs, field, address); ok {
			listeners = append(listeners, listener{field, port})
		}
	}
	if c.SFTP != nil {
		listen("sftp.address", cmp.Or(c.SFTP.Address, anyInterface(SFTPPort)))
	}
	if c.FTP != nil {
		listen("ftp.address", cmp.Or(c.FTP.Address, anyInterface(FTPPort)))
		if c.FTP.ImplicitTLSAddress != "" {
			listen("ftp.implicitTLSAddress", c.FTP.ImplicitTLSAddress)
		}
	}
	listen("health.address", cmp.Or(c.Health.Address, anyInterface(DefaultHealthPort)))

	for i, l := range listeners {
		for _, earlier := range listeners[:i] {
			if l.port == earlier.port {
				errs.add(l.field, "port %d is already used by %s", l.port, earlier.field)
				break
			}
		}
		if c.FTP != nil && c.FTP.Passive.PortRange.Contains(l.port) {
			r := c.FTP.Passive.PortRange
			errs.add(l.field, "port %d lies inside ftp.passive.portRange (%d-%d)", l.port, r.Start, r.End)
		}
	}
}

// checkListenAddress checks a host:port listen address and returns its port.
func checkListenAddress(errs *errorList, field, address string) (int, bool) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		errs.add(field, "%q is not a listen address host:port such as :2222 or 0.0.0.0:2222", address)
		return 0, false
	}
	ok := true
	if host != "" && !isIPOrHostName(host) {
		errs.add(field, "%q: the host must be empty (every interface), an IP address or a host name", address)
		ok = false
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 || strings.TrimLeft(portText, "0123456789") != "" {
		errs.add(field, "%q: the port must be a number from 1 to 65535", address)
		return 0, false
	}
	return port, ok
}

func (l *Limits) validate(errs *errorList) {
	if l.MaxConnections < 0 {
		errs.add("limits.maxConnections", "%d is negative (0 means no limit)", l.MaxConnections)
	}
	if l.MaxConnectionsPerIP < 0 {
		errs.add("limits.maxConnectionsPerIP", "%d is negative (0 means no limit)", l.MaxConnectionsPerIP)
	}
	if l.MaxLoginFailures != nil && *l.MaxLoginFailures < 0 {
		errs.add("limits.maxLoginFailures", "%d is negative (0 turns banning off)", *l.MaxLoginFailures)
	}
	checkDuration(errs, "limits.idleTimeout", l.IdleTimeout, minIdleTimeout, maxIdleTimeout)
	checkDuration(errs, "limits.loginTimeout", l.LoginTimeout, minLoginTimeout, maxLoginTimeout)
	checkDuration(errs, "limits.banDuration", l.BanDuration, minBanDuration, maxBanDuration)
	checkDuration(errs, "limits.shutdownGracePeriod", l.ShutdownGracePeriod, 0, maxShutdownGracePeriod)
}

// checkDuration checks a duration that is set; nil means the default.
func checkDuration(errs *errorList, field string, d *Duration, lowest, highest time.Duration) {
	switch {
	case d == nil:
	case d.invalid != "":
		errs.add(field, "%s is not a duration such as 90s or 5m", truncate(d.invalid))
	case d.Duration < lowest || d.Duration > highest:
		errs.add(field, "%s is outside %s to %s", formatDuration(d.Duration), formatDuration(lowest), formatDuration(highest))
	}
}

// checkPath checks an absolute path such as storage.root or a key file and reports whether it is one.
func checkPath(errs *errorList, field, p string) bool {
	switch {
	case p == "":
		errs.add(field, "required")
	case !utf8.ValidString(p):
		errs.add(field, "%q is not valid UTF-8", p)
	case strings.ContainsFunc(p, isControl):
		errs.add(field, "%q contains control characters", p)
	case !path.IsAbs(p):
		errs.add(field, "%q is not an absolute path", p)
	case hasDotSegment(p):
		errs.add(field, "%q must not contain . or .. segments", p)
	default:
		return true
	}
	return false
}

func hasDotSegment(p string) bool {
	for _, segment := range strings.Split(p, "/") {
		if segment == "." || segment == ".." {
			return true
		}
	}
	return false
}

func validateCIDRs(errs *errorList, field string, cidrs []string) {
	for i, s := range cidrs {
		if _, err := netip.ParsePrefix(s); err != nil {
			errs.add(index(field, i), "%q is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32", s)
		}
	}
}

// checkEnumList checks that every item is known and listed once; what describes a known item.
func checkEnumList[T ~string](errs *errorList, field string, items, known []T, what string) {
	for i, item := range items {
		switch {
		case !slices.Contains(known, item):
			errs.add(index(field, i), "%q is not %s", item, what)
		case slices.Contains(items[:i], item):
			errs.add(index(field, i), "%q is listed twice", item)
		}
	}
}

func isIPOrHostName(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return len(s) <= 253 && hostNameRE.MatchString(s)
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f
}

// truncate shortens a value quoted in an error message so that one bad field cannot flood a log.
func truncate(s string) string {
	const limit = 100
	for i := range s {
		if i >= limit {
			return s[:i] + "..."
		}
	}
	return s
}
