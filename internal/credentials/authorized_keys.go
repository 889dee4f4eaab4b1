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

package credentials

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// minRSABits is the smallest RSA user key accepted: shorter keys can be factored with affordable effort.
const minRSABits = 2048

// KeyTypeDSA is ssh-dss, spelled out because golang.org/x/crypto/ssh deprecates its constant; it is only used to
// refuse such keys with a clear reason.
const KeyTypeDSA = "ssh-dss"

// AuthorizedKey is one SSH public key a user may log in with.
type AuthorizedKey struct {
	// Line is the key as one authorized_keys line, "<type> <base64>[ <comment>]", with the base64 re-encoded
	// by ssh.MarshalAuthorizedKey and the comment kept.
	Line string
	// Type is the key type, such as ssh-ed25519.
	Type string
	// Fingerprint is the key's SHA256 fingerprint as OpenSSH shows it, "SHA256:...".
	Fingerprint string
}

// LineError says which line of authorized_keys content, or which inline key, is wrong.
type LineError struct {
	// Line is 1-based: the line number in a Secret's authorized_keys, or the position in spec.authorizedKeys.keys.
	Line int
	Err  error
}

func (e *LineError) Error() string {
	return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error()
}

func (e *LineError) Unwrap() error {
	return e.Err
}

// ParseAuthorizedKeys parses authorized_keys content, such as a Secret key's bytes. Blank lines and lines
// starting with # are skipped; every other line must hold exactly one public key. It returns every key in order,
// each key once even if listed twice, or the first bad line as a *LineError and no keys: a user whose list has a
// mistake should notice it rather than lose some keys silently.
//
// Lines with options (from="...", no-pty, command="...") are refused: pier has no per-key options, and dropping
// a from= restriction would let the key in from anywhere. Keys the server would refuse are refused too: DSA,
// certificates and RSA keys shorter than 2048 bits.
func ParseAuthorizedKeys(data []byte) ([]AuthorizedKey, error) {
	// Windows editors may start a text file with a byte order mark, which is not part of the first line.
	text := strings.TrimPrefix(string(data), "\ufeff")
	var keys []AuthorizedKey
	for i, line := range strings.Split(text, "\n") {
		// Files saved on Windows end their lines with "\r\n".
		line = strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, err := parseKeyLine(line)
		if err != nil {
			return nil, &LineError{Line: i + 1, Err: err}
		}
		keys = appendUnique(keys, key)
	}
	return keys, nil
}

// ParseAuthorizedKeyLines parses inline keys, such as spec.authorizedKeys.keys, one key per string, with the rules
// of ParseAuthorizedKeys. Blank strings and comments are refused: each entry is meant to be a key. LineError.Line
// is the entry's 1-based position.
func ParseAuthorizedKeyLines(lines []string) ([]AuthorizedKey, error) {
	var keys []AuthorizedKey
	for i, line := range lines {
		key, err := parseInlineKey(line)
		if err != nil {
			return nil, &LineError{Line: i + 1, Err: err}
		}
		keys = appendUnique(keys, key)
	}
	return keys, nil
}

func parseInlineKey(line string) (AuthorizedKey, error) {
	if strings.ContainsAny(line, "\r\n") {
		return AuthorizedKey{}, errors.New("more than one line in one entry: put each key in its own entry")
	}
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return AuthorizedKey{}, errors.New("empty entry: remove it or put a public key in it")
	}
	if strings.HasPrefix(trimmed, "#") {
		return AuthorizedKey{}, errors.New("a comment, not a public key: remove the entry")
	}
	return parseKeyLine(line)
}

// appendUnique appends key unless the same key (whatever its comment) is already there.
func appendUnique(keys []AuthorizedKey, key AuthorizedKey) []AuthorizedKey {
	if slices.ContainsFunc(keys, func(k AuthorizedKey) bool { return k.Fingerprint == key.Fingerprint }) {
		return keys
	}
	return append(keys, key)
}

// parseKeyLine parses one line that is neither blank nor a comment.
func parseKeyLine(line string) (AuthorizedKey, error) {
	// The server refuses lines that are not valid UTF-8 or hold control characters; the comment is copied into
	// the server configuration, so catch them here.
	if !utf8.ValidString(line) {
		return AuthorizedKey{}, errors.New("not valid UTF-8 text")
	}
	if strings.ContainsFunc(line, func(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }) {
		return AuthorizedKey{}, errors.New("contains control characters")
	}
	// ssh.ParseAuthorizedKey skips lines it cannot parse and goes on with the next one; line is a single line,
	// so an error here is about this line.
	key, comment, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return AuthorizedKey{}, fmt.Errorf("not a public key in authorized_keys format "+
			"(want \"ssh-ed25519 AAAA... comment\"): %w", err)
	}
	if len(options) > 0 {
		return AuthorizedKey{}, fmt.Errorf("options (%s) before the key are not supported: pier has no "+
			"per-key options, and ignoring them could let the key in where they forbid it: remove them (restrict "+
			"source addresses with spec.allowedSourceRanges)", optionNames(options))
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(comment)); err == nil {
		// Two keys pasted on one line: the second one would silently become the first one's comment.
		return AuthorizedKey{}, errors.New("more than one key on one line: put each key on its own line")
	}
	if err := checkKeyAccepted(key); err != nil {
		return AuthorizedKey{}, err
	}
	normalized := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n")
	if comment != "" {
		normalized += " " + comment
	}
	return AuthorizedKey{Line: normalized, Type: key.Type(), Fingerprint: ssh.FingerprintSHA256(key)}, nil
}

// optionNames lists the names of authorized_keys options, without their values: enough to find them in the line.
func optionNames(options []string) string {
	names := make([]string, len(options))
	for i, o := range options {
		name, _, _ := strings.Cut(o, "=")
		names[i] = name
	}
	return strings.Join(names, ", ")
}

// checkKeyAccepted refuses keys the server would refuse or that are too weak to protect an account.
func checkKeyAccepted(key ssh.PublicKey) error {
	switch t := key.Type(); {
	case t == KeyTypeDSA:
		return errors.New("ssh-dss (DSA) keys are refused: DSA is limited to 1024 bits and OpenSSH no longer " +
			"supports it; use an ed25519 key (ssh-keygen -t ed25519)")
	case strings.Contains(t, "-cert-"):
		return fmt.Errorf("%s is an SSH certificate, which pier does not support: use the plain public key", t)
	case !serverconfig.KeyTypeAccepted(t):
		return fmt.Errorf("key type %s is not accepted (want one of %s)", t,
			strings.Join(serverconfig.AcceptedKeyTypes(), ", "))
	}
	if cryptoKey, ok := key.(ssh.CryptoPublicKey); ok {
		if rsaKey, ok := cryptoKey.CryptoPublicKey().(*rsa.PublicKey); ok && rsaKey.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits is too weak to protect a login; use at least %d bits, or better an "+
				"ed25519 key (ssh-keygen -t ed25519)", rsaKey.N.BitLen(), minRSABits)
		}
	}
	return nil
}

// Fingerprints returns the SHA256 fingerprint of every key that authorized_keys content lists on a line of its
// own, leniently: lines that ParseAuthorizedKeys would refuse (options, a bad key beside good ones) are read as
// well as they can be, and the others skipped. The operator uses it on a Secret it cannot use, to keep only last
// good keys that the Secret still lists: a key removed from the Secret is gone even when another line is broken.
func Fingerprints(data []byte) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil {
			out[ssh.FingerprintSHA256(key)] = true
		}
	}
	return out
}

// Fingerprint is the SHA256 fingerprint of one authorized_keys line, "" if it does not parse.
func Fingerprint(line string) string {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return ""
	}
	return ssh.FingerprintSHA256(key)
}
