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

package ftp

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// RFC 2428 network protocol numbers, as EPRT and EPSV write them.
const (
	netPrtIPv4 = "1"
	netPrtIPv6 = "2"
)

// Replies to data-connection commands the filter refuses. A refused PORT and a refused EPRT get the same reply
// for the same reason, so neither tells a prober more than the other.
const (
	replyEPSVOnly       = "503 Only EPSV may set up data connections after EPSV ALL."
	replyActiveDisabled = "502 Active mode (PORT/EPRT) is disabled on this server: use passive mode (EPSV or PASV)."
	replyForeignAddress = "501 Active mode connects only to the address of this control connection."
	replyPrivilegedPort = "504 Refusing to connect to a privileged port."
	replyPASVOnIPv6     = "501 PASV can only announce an IPv4 address and this connection is IPv6: use EPSV (RFC 2428)."
	replyPASVNoAddress  = "501 PASV has no IPv4 address to announce on this server: use EPSV."
	replyPORTOnIPv6     = "501 PORT can only carry an IPv4 address and this connection is IPv6: use EPRT |2|address|port|."
	replyPORTSyntax     = "501 Syntax error in PORT: want PORT h1,h2,h3,h4,p1,p2."
	replyEPRTSyntax     = "501 Syntax error in EPRT: want EPRT |1|IPv4 address|port| or EPRT |2|IPv6 address|port| (RFC 2428)."
	replyEPSVSyntax     = "501 Syntax error in EPSV: want EPSV, EPSV 1, EPSV 2 or EPSV ALL (RFC 2428)."
)

var (
	errActiveSyntax   = errors.New("malformed active-mode argument")
	errNetPrtUnknown  = errors.New("unknown network protocol")
	errFamilyMismatch = errors.New("address family differs from the control connection's")
)

// dataCommand decides on the commands that set up a data connection, so that data connections use the control
// connection's own address and IP family, and whatever is refused gets a reply that says why:
//
//   - PASV only on IPv4 control connections, announcing an IPv4 address (the reply has room for nothing else);
//   - EPSV with no argument or the control connection's own network protocol, and EPSV ALL (RFC 2428 section 4);
//   - PORT and EPRT only with active mode on, only to the control connection's address (the unspecified
//     address 0.0.0.0 or :: stands for it), never to a privileged port. They are handed to ftpserverlib rewritten
//     in canonical form, so that it connects to exactly the address checked here, whatever its own parser would
//     make of odd input.
//
// ftpserverlib alone would answer PASV on IPv6, and PORT/EPRT with active mode off, with 421, which tells the
// client the server is closing the connection; it ignores EPSV's argument and treats EPSV ALL as a plain EPSV.
func (c *controlConn) dataCommand(line []byte, verb, param string) ([]byte, error) {
	switch verb {
	case "PASV":
		return c.pasv(line)
	case "EPSV":
		return c.epsv(line, param)
	case verbPORT, verbEPRT:
		return c.active(verb, param)
	}
	return line, nil
}

// controlIP is the client's address on the control connection, IPv4-mapped IPv6 addresses as IPv4.
func (c *controlConn) controlIP() netip.Addr { return c.conn.remote.Addr() }

// netPrt is the RFC 2428 network protocol of the control connection.
func (c *controlConn) netPrt() string {
	if c.controlIP().Is4() {
		return netPrtIPv4
	}
	return netPrtIPv6
}

// unsupportedNetPrt is RFC 2428's reply to a network protocol the server does not serve, listing the one it
// does: the control connection's, as a data connection over the other family would come from another address.
func (c *controlConn) unsupportedNetPrt() string {
	family := "IPv4"
	if c.netPrt() == netPrtIPv6 {
		family = "IPv6"
	}
	return fmt.Sprintf("522 Network protocol not supported: this connection is %s, use (%s)", family, c.netPrt())
}

// pasv lets PASV through on an IPv4 control connection with an IPv4 address to announce, which the driver's
// PublicIPResolver then hands ftpserverlib. A client that came over IPv6 could not use an IPv4 address: its
// data connection would come from its IPv4 address, not the control connection's, and be refused. proftpd
// refuses PASV there in the same way.
func (c *controlConn) pasv(line []byte) ([]byte, error) {
	if c.epsvAll {
		return nil, c.reply(replyEPSVOnly)
	}
	if !c.controlIP().Is4() {
		return nil, c.reply(replyPASVOnIPv6)
	}
	addr, err := c.policy.passiveIPv4()
	if err != nil {
		c.conn.log.Warn("PASV refused", "error", err)
		return nil, c.reply(replyPASVNoAddress)
	}
	c.pasvAddr = addr
	return line, nil
}

// epsv checks EPSV's optional argument; ftpserverlib ignores it.
func (c *controlConn) epsv(line []byte, param string) ([]byte, error) {
	arg := strings.TrimSpace(param)
	switch {
	case arg == "", arg == c.netPrt():
		return line, nil
	case strings.EqualFold(arg, "ALL"):
		c.epsvAll = true
		return nil, c.reply("200 EPSV ALL accepted: from now on only EPSV sets up data connections.")
	case isDecimal(arg):
		return nil, c.reply(c.unsupportedNetPrt())
	default:
		return nil, c.reply(replyEPSVSyntax)
	}
}

// active checks PORT and EPRT and hands ftpserverlib the canonical form of an allowed one.
func (c *controlConn) active(verb, param string) ([]byte, error) {
	switch {
	case c.epsvAll:
		return nil, c.reply(replyEPSVOnly)
	case !c.policy.activeMode:
		return nil, c.reply(replyActiveDisabled)
	}
	var target netip.AddrPort
	var err error
	if verb == verbPORT {
		target, err = parsePORT(param)
		if err == nil && !c.controlIP().Is4() {
			return nil, c.reply(replyPORTOnIPv6)
		}
	} else {
		target, err = parseEPRT(param, c.netPrt())
	}
	if err == nil && target.Addr().IsUnspecified() {
		// "Any address": lftp sends EPRT |2|::|port| when its data socket is not bound to an interface, as over
		// loopback. The only address it can mean here is the client's own.
		target = netip.AddrPortFrom(c.controlIP().WithZone(""), target.Port())
	}
	switch {
	case errors.Is(err, errNetPrtUnknown), errors.Is(err, errFamilyMismatch):
		return nil, c.reply(c.unsupportedNetPrt())
	case err != nil && verb == verbPORT:
		return nil, c.reply(replyPORTSyntax)
	case err != nil:
		return nil, c.reply(replyEPRTSyntax)
	case target.Addr() != c.controlIP().WithZone(""):
		// A server that connects wherever it is told is a relay for port scans and FTP bounce attacks.
		c.conn.log.Warn("refused an active-mode connection to another address than the client's",
			"command", verb, "target", target.String())
		return nil, c.reply(replyForeignAddress)
	case target.Port() < 1024:
		return nil, c.reply(replyPrivilegedPort)
	}
	if verb == verbPORT {
		a := target.Addr().As4()
		return fmt.Appendf(nil, "PORT %d,%d,%d,%d,%d,%d\r\n", a[0], a[1], a[2], a[3], target.Port()>>8, target.Port()&0xff), nil
	}
	return fmt.Appendf(nil, "EPRT |%s|%s|%d|\r\n", c.netPrt(), target.Addr(), target.Port()), nil
}

// parsePORT reads PORT's "h1,h2,h3,h4,p1,p2": six decimal numbers 0-255 of at most three digits, an IPv4
// address and a port.
func parsePORT(param string) (netip.AddrPort, error) {
	parts := strings.Split(strings.TrimSpace(param), ",")
	if len(parts) != 6 {
		return netip.AddrPort{}, errActiveSyntax
	}
	var b [6]byte
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil || !isDecimal(p) || len(p) > 3 {
			return netip.AddrPort{}, errActiveSyntax
		}
		b[i] = byte(n)
	}
	port := uint16(b[4])<<8 | uint16(b[5])
	if port == 0 {
		return netip.AddrPort{}, errActiveSyntax
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), port), nil
}

// parseEPRT reads EPRT's "<d><net-prt><d><net-addr><d><tcp-port><d>" (RFC 2428 section 2), where the delimiter
// d is any printable ASCII character other than space, "|" by convention. want is the network protocol the
// address must have: the control connection's.
func parseEPRT(param, want string) (netip.AddrPort, error) {
	param = strings.TrimSpace(param)
	if param == "" || param[0] < 33 || param[0] > 126 {
		return netip.AddrPort{}, errActiveSyntax
	}
	fields := strings.Split(param, param[:1])
	if len(fields) != 5 || fields[0] != "" || fields[4] != "" {
		return netip.AddrPort{}, errActiveSyntax
	}
	netPrt, host, portText := fields[1], fields[2], fields[3]
	switch {
	case netPrt != netPrtIPv4 && netPrt != netPrtIPv6 && isDecimal(netPrt):
		return netip.AddrPort{}, errNetPrtUnknown
	case netPrt != netPrtIPv4 && netPrt != netPrtIPv6:
		return netip.AddrPort{}, errActiveSyntax
	}
	addr, err := netip.ParseAddr(host)
	// An IPv4 address must be written as one, and an IPv6 address (an IPv4-mapped one included) as IPv6. A zone
	// names an interface of the client's machine, which means nothing here.
	if err != nil || addr.Zone() != "" || addr.Is4() != (netPrt == netPrtIPv4) {
		return netip.AddrPort{}, errActiveSyntax
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || !isDecimal(portText) || port == 0 {
		return netip.AddrPort{}, errActiveSyntax
	}
	if netPrt != want {
		return netip.AddrPort{}, errFamilyMismatch
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// isDecimal reports whether s is a non-empty run of ASCII digits; strconv also accepts a sign.
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
