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
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Credentials of the documented example; the hash is of the password "change-me".
const (
	testHash     = "$2a$10$q4/yJ4EHtTcJrj.GFl7gouehDy1lE16HGZ/8EHyNiU6s/xV0EClf."
	testPassword = "change-me"
	testKey      = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm1c7zLW9r6BORocz1SsEbjZK4JFG+EoSLC/UzzcQWS alice@laptop"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParse(t testing.TB, data []byte) *Config {
	t.Helper()
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v\n--- input:\n%s", err, data)
	}
	return c
}

// exampleConfig is the parsed testdata/example.yaml, the documented complete example.
func exampleConfig(t testing.TB) *Config {
	t.Helper()
	return mustParse(t, readFile(t, "testdata/example.yaml"))
}

func ptr[T any](v T) *T { return &v }

func dur(d time.Duration) *Duration { return &Duration{Duration: d} }

func TestParseExample(t *testing.T) {
	c := exampleConfig(t)

	if c.SFTP == nil || c.FTP == nil {
		t.Fatal("example enables both protocols")
	}
	if got := c.SFTP.HostKeyFiles; len(got) != 3 || got[0] != "/etc/pier/host-keys/ssh_host_ed25519_key" {
		t.Errorf("sftp.hostKeyFiles = %q", got)
	}
	if c.FTP.TLS.Mode != TLSRequired || c.FTP.TLS.MinVersion != TLSVersion12 || !*c.FTP.TLS.RequireSessionReuse {
		t.Errorf("ftp.tls = %+v", c.FTP.TLS)
	}
	if c.FTP.Passive.PortRange != (PortRange{Start: 30000, End: 30019}) {
		t.Errorf("ftp.passive.portRange = %+v", c.FTP.Passive.PortRange)
	}
	if got := c.FTP.Passive.Addresses(); !reflect.DeepEqual(got, []string{"203.0.113.7", "2001:db8::7"}) {
		t.Errorf("ftp.passive addresses = %q", got)
	}
	if c.Limits.IdleTimeout.Duration != 5*time.Minute || c.Limits.LoginTimeout.Duration != 30*time.Second {
		t.Errorf("limits = %+v", c.Limits)
	}
	names := make([]string, 0, len(c.Users))
	for _, u := range c.Users {
		names = append(names, u.Username)
	}
	if want := []string{"alice", "ci-bot", "partner@example.com", "carol"}; !reflect.DeepEqual(names, want) {
		t.Errorf("users = %q, want %q in the order written", names, want)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(c.Users[0].PasswordHash), []byte(testPassword)); err != nil {
		t.Errorf("the documented hash is not of %q: %v", testPassword, err)
	}
}

// TestOlderPublicAddressStillParses: files written before publicAddresses existed, with the single
// publicAddress, keep working, and are written back as they were.
func TestOlderPublicAddressStillParses(t *testing.T) {
	text := strings.Replace(string(readFile(t, "testdata/example.yaml")),
		"    publicAddresses:\n      - 203.0.113.7\n      - \"2001:db8::7\"\n", "    publicAddress: ftp.example.com\n", 1)
	if !strings.Contains(text, "publicAddress: ftp.example.com") {
		t.Fatal("the example no longer has the publicAddresses this test replaces")
	}
	c := mustParse(t, []byte(text))
	if got := c.FTP.Passive.Addresses(); !reflect.DeepEqual(got, []string{"ftp.example.com"}) {
		t.Fatalf("addresses of the older form = %q", got)
	}
	out := marshal(t, c)
	if !strings.Contains(string(out), `publicAddress: "ftp.example.com"`) || strings.Contains(string(out), "publicAddresses") {
		t.Fatalf("the older form was not written back as it was:\n%s", out)
	}
}

func TestParseMinimalAppliesDefaults(t *testing.T) {
	got := mustParse(t, readFile(t, "testdata/minimal.yaml"))
	want := &Config{
		APIVersion: APIVersion,
		Kind:       Kind,
		SFTP: &SFTP{
			Address:      ":2222",
			HostKeyFiles: []string{"/etc/pier/host-keys/ssh_host_ed25519_key"},
			AuthMethods:  []AuthMethod{AuthMethodPassword, AuthMethodPublicKey},
		},
		Health:  Health{Address: ":8080"},
		Storage: Storage{Root: "/data"},
		Limits: Limits{
			IdleTimeout:         dur(5 * time.Minute),
			LoginTimeout:        dur(30 * time.Second),
			MaxLoginFailures:    ptr(5),
			BanDuration:         dur(15 * time.Minute),
			ShutdownGracePeriod: dur(30 * time.Second),
		},
		Users: []User{{
			Username:       "alice",
			AuthorizedKeys: []string{testKey},
			HomeDirectory:  "/alice",
			Permissions:    []Permission{PresetReadWrite},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(minimal) =\n%s\nwant\n%s", marshal(t, got), marshal(t, want))
	}
}

func TestFTPDefaults(t *testing.T) {
	c := mustParse(t, []byte(`apiVersion: server.pier.dev/v1alpha1
kind: ServerConfig
ftp:
  tls: {certFile: /tls/tls.crt, keyFile: /tls/tls.key}
  passive: {portRange: {start: 30000, end: 30000}}
storage: {root: /data}
`))
	want := &FTP{
		Address: ":2121",
		TLS: TLS{
			Mode: TLSRequired, CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key",
			MinVersion: TLSVersion12, RequireSessionReuse: ptr(true),
		},
		Passive: Passive{PortRange: PortRange{Start: 30000, End: 30000}},
	}
	if !reflect.DeepEqual(c.FTP, want) {
		t.Errorf("ftp = %+v, want %+v", c.FTP, want)
	}
	if c.SFTP != nil {
		t.Error("sftp enabled without being configured")
	}
}

// TestExplicitValuesSurviveDefaults checks that values that look like zero but are set are kept, not defaulted.
func TestExplicitValuesSurviveDefaults(t *testing.T) {
	c := mustParse(t, []byte(`apiVersion: server.pier.dev/v1alpha1
kind: ServerConfig
ftp:
  tls: {mode: Disabled, requireSessionReuse: false}
  passive: {portRange: {start: 30000, end: 30000}}
storage: {root: /data}
limits: {maxLoginFailures: 0, shutdownGracePeriod: 0s}
`))
	if *c.FTP.TLS.RequireSessionReuse {
		t.Error("requireSessionReuse: false became true")
	}
	if *c.Limits.MaxLoginFailures != 0 {
		t.Errorf("maxLoginFailures: 0 became %d", *c.Limits.MaxLoginFailures)
	}
	if c.Limits.ShutdownGracePeriod.Duration != 0 {
		t.Errorf("shutdownGracePeriod: 0s became %v", c.Limits.ShutdownGracePeriod)
	}
}

func TestApplyDefaultsIsIdempotent(t *testing.T) {
	c := exampleConfig(t)
	before := marshal(t, c)
	c.ApplyDefaults()
	if after := marshal(t, c); !bytes.Equal(before, after) {
		t.Errorf("ApplyDefaults changed a defaulted config:\n%s\nto\n%s", before, after)
	}
}

// TestValidateWithoutDefaults checks that a configuration built in Go, as the operator builds it, validates before
// ApplyDefaults: unset optional fields count as their defaults.
func TestValidateWithoutDefaults(t *testing.T) {
	c := &Config{
		APIVersion: APIVersion,
		Kind:       Kind,
		SFTP:       &SFTP{HostKeyFiles: []string{"/keys/ed25519"}},
		FTP: &FTP{
			TLS:     TLS{CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key"},
			Passive: Passive{PortRange: PortRange{Start: 30000, End: 30009}},
		},
		Storage: Storage{Root: "/data"},
		Users:   []User{{Username: "alice", PasswordHash: testHash}},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// The default health port still counts: a listener on it collides.
	c.SFTP.Address = ":8080"
	assertErrors(t, c.Validate(), "health.address: port 8080 is already used by sftp.address")
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, name := range []string{"testdata/example.yaml", "testdata/minimal.yaml"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			c := mustParse(t, readFile(t, name))
			out := marshal(t, c)
			if again := mustParse(t, out); !reflect.DeepEqual(c, again) {
				t.Errorf("Parse(Marshal(c)) differs from c; Marshal gave\n%s", out)
			}
		})
	}
}

// TestMarshalQuotesAmbiguousStrings round-trips usernames that YAML 1.1 or 1.2 readers take for booleans, numbers,
// nulls or timestamps when they are not quoted.
func TestMarshalQuotesAmbiguousStrings(t *testing.T) {
	c := exampleConfig(t)
	c.Users = nil
	for _, name := range []string{
		"yes", "off", "YES", "Off", "null", "NULL", "true", "False", "1_000", "0b101", "017", "0o17", "0x1F",
		"1e3", "123", "1.5", "2001-12-14", "NaN", "inf", "_inf", "1:20", "<<<",
	} {
		if !usernameRE.MatchString(name) || len(name) < minUsernameLength {
			continue
		}
		c.Users = append(c.Users, User{Username: name, PasswordHash: testHash})
	}
	c.ApplyDefaults()
	out := marshal(t, c)
	if again := mustParse(t, out); !reflect.DeepEqual(c, again) {
		t.Errorf("Parse(Marshal(c)) differs from c; Marshal gave\n%s", out)
	}
}

func TestMarshalIsDeterministic(t *testing.T) {
	c := exampleConfig(t)
	first := marshal(t, c)
	for range 20 {
		if again := marshal(t, c); !bytes.Equal(first, again) {
			t.Fatalf("Marshal output changed between calls:\n%s\nthen\n%s", first, again)
		}
	}
	// Marshal output is a fixed point: parsing and marshalling it again changes nothing.
	if again := marshal(t, mustParse(t, first)); !bytes.Equal(first, again) {
		t.Errorf("Marshal(Parse(Marshal(c))) != Marshal(c):\n%s\nthen\n%s", first, again)
	}
	if !bytes.HasPrefix(first, []byte("apiVersion: \"server.pier.dev/v1alpha1\"\nkind: \"ServerConfig\"\n")) {
		t.Errorf("Marshal output does not start with apiVersion and kind:\n%s", first)
	}
}

func TestMarshalDurations(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{5 * time.Minute, `"5m"`},
		{time.Hour, `"1h"`},
		{90 * time.Minute, `"1h30m"`},
		{90 * time.Second, `"1m30s"`},
		{1500 * time.Millisecond, `"1.5s"`},
		{0, `"0s"`},
	} {
		got, err := Duration{Duration: tc.d}.MarshalJSON()
		if err != nil || string(got) != tc.want {
			t.Errorf("MarshalJSON(%v) = %s, %v; want %s", tc.d, got, err, tc.want)
		}
	}
}

func TestUnknownFields(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "top level",
			yaml: "users2: []\n",
			want: []string{"users2: unknown field"},
		},
		{
			name: "nested",
			yaml: "limits: {idleTimeout: 5m, idle: 5m}\nftp2: {}\n",
			want: []string{"limits.idle: unknown field", "ftp2: unknown field"},
		},
		{
			name: "in a user, named",
			yaml: "users: [{username: alice, passwordHash: \"" + testHash + "\"}, " +
				"{username: bob, pasword: \"" + testHash + "\"}]\n",
			want: []string{
				"users[1] (bob).pasword: unknown field",
				// The misspelt password is also why bob cannot log in.
				"users[1] (bob): cannot log in",
			},
		},
		{
			name: "wrong case",
			yaml: "storage: {Root: /data}\n",
			want: []string{"storage.Root: unknown field", "storage.root: required"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(baseYAML(tc.yaml)))
			assertErrors(t, err, tc.want...)
		})
	}
}

// baseYAML returns a valid SFTP-only configuration with extra appended; a key in extra that the base has too
// replaces the base's (the base's is dropped), so extra can override any top-level field.
func baseYAML(extra string) string {
	base := []string{
		"apiVersion: server.pier.dev/v1alpha1",
		"kind: ServerConfig",
		"sftp: {hostKeyFiles: [/keys/ed25519]}",
		"storage: {root: /data}",
	}
	var b strings.Builder
	for _, line := range base {
		key := line[:strings.Index(line, ":")+1]
		if !strings.HasPrefix(extra, key) && !strings.Contains(extra, "\n"+key) {
			b.WriteString(line + "\n")
		}
	}
	b.WriteString(extra)
	return b.String()
}

func TestMultipleErrorsReportedTogether(t *testing.T) {
	_, err := Parse([]byte(`apiVersion: server.pier.dev/v1alpha1
kind: ServerConfig
sftp: {address: ":22", hostKeyFiles: []}
storage: {root: data}
limits: {idleTimeout: soon}
allowedSourceRanges: [10.0.0.0/33]
users:
  - {username: alice, passwordHash: plaintext}
  - {username: bob, authorizedKeys: ["ssh-ed25519 nope"]}
`))
	assertErrors(t, err,
		"sftp.hostKeyFiles: required",
		`storage.root: "data" is not an absolute path`,
		`limits.idleTimeout: "soon" is not a duration such as 90s or 5m`,
		`allowedSourceRanges[0]: "10.0.0.0/33" is not a CIDR`,
		"users[0] (alice).passwordHash: not a bcrypt hash (want $2a$, $2b$ or $2y$)",
		"users[1] (bob).authorizedKeys[0]: invalid public key: ",
	)
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Errorf("errors.As(%T, *FieldError) = false", err)
	}
}

func TestOtherAPIVersionIsTheOnlyError(t *testing.T) {
	_, err := Parse([]byte("apiVersion: server.pier.dev/v1\nkind: ServerConfig\nsomethingNew: {}\n"))
	assertErrors(t, err,
		`apiVersion: "server.pier.dev/v1" is not supported: this server reads server.pier.dev/v1alpha1`)
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, readFile(t, "testdata/example.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(good); err != nil || len(c.Users) != 4 {
		t.Fatalf("Load(example) = %v, %v", c, err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(baseYAML("storage: {root: data}\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(bad)
	if c != nil || err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "storage.root") {
		t.Errorf("Load(bad) = %v, %v; want nil and an error naming the file and storage.root", c, err)
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want os.ErrNotExist", err)
	}
}

func TestUserHelpers(t *testing.T) {
	u := User{Username: "alice"}
	if got := u.HomeDir(); got != "/alice" {
		t.Errorf("HomeDir() = %q, want /alice", got)
	}
	u.HomeDirectory = "/shared"
	if got := u.HomeDir(); got != "/shared" {
		t.Errorf("HomeDir() = %q, want /shared", got)
	}

	if !u.AllowsProtocol(ProtocolFTP) || !u.AllowsProtocol(ProtocolSFTP) {
		t.Error("a user without protocols must be allowed every protocol")
	}
	u.Protocols = []Protocol{ProtocolSFTP}
	if u.AllowsProtocol(ProtocolFTP) || !u.AllowsProtocol(ProtocolSFTP) {
		t.Error("protocols [sftp] must allow sftp and only sftp")
	}

	for _, tc := range []struct {
		have    []Permission
		allowed []Permission
	}{
		{nil, singlePermissions},
		{[]Permission{PresetReadWrite}, singlePermissions},
		{[]Permission{PresetReadOnly}, []Permission{PermissionList, PermissionDownload}},
		{[]Permission{PresetUploadOnly}, []Permission{PermissionList, PermissionUpload, PermissionMkdir}},
		{[]Permission{PermissionUpload, PermissionDelete}, []Permission{PermissionUpload, PermissionDelete}},
	} {
		u := User{Permissions: tc.have}
		for _, p := range singlePermissions {
			want := false
			for _, a := range tc.allowed {
				want = want || a == p
			}
			if got := u.HasPermission(p); got != want {
				t.Errorf("permissions %v: HasPermission(%s) = %v, want %v", tc.have, p, got, want)
			}
		}
		// GrantedPermissions lists the same, in the order of singlePermissions.
		var want []Permission
		for _, p := range singlePermissions {
			if slices.Contains(tc.allowed, p) {
				want = append(want, p)
			}
		}
		if got := u.GrantedPermissions(); !slices.Equal(got, want) {
			t.Errorf("permissions %v: GrantedPermissions() = %v, want %v", tc.have, got, want)
		}
	}
}

func TestUserValidate(t *testing.T) {
	u := User{Username: "alice", PasswordHash: "hunter2", HomeDirectory: "alice"}
	err := u.Validate()
	assertErrors(t, err,
		"passwordHash: not a bcrypt hash (want $2a$, $2b$ or $2y$)",
		`homeDirectory: "alice" is not an absolute path`,
	)
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error quotes the password hash field, which may hold a plaintext password: %v", err)
	}
	// Only a config built in Go can hold invalid UTF-8: decoding replaces it. Marshal would too, so it is an error.
	latin1 := User{Username: "alice", AuthorizedKeys: []string{testKey + "\xe9"}, HomeDirectory: "/caf\xe9"}
	assertErrors(t, latin1.Validate(),
		"authorizedKeys[0]: not valid UTF-8",
		`homeDirectory: "/caf\xe9" is not valid UTF-8`,
	)
	ok := User{Username: "alice", AuthorizedKeys: []string{testKey}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(valid user) = %v", err)
	}
}

// docExampleRE finds each fenced YAML block in the docs that follows a marker naming a file of testdata.
var docExampleRE = regexp.MustCompile("(?s)<!-- testdata/([a-z-]+\\.yaml) -->\n```yaml\n(.*?)```\n")

// TestDocExamplesMatchTestdata keeps docs/server-config.md honest: each example marked with a testdata file must be
// that file byte for byte, and parse. The complete example must be among them.
func TestDocExamplesMatchTestdata(t *testing.T) {
	doc := readFile(t, "../../docs/server-config.md")
	found := map[string]bool{}
	for _, m := range docExampleRE.FindAllSubmatch(doc, -1) {
		name, fromDoc := string(m[1]), m[2]
		if found[name] {
			t.Errorf("docs/server-config.md marks two examples as testdata/%s", name)
		}
		found[name] = true
		if want := readFile(t, filepath.Join("testdata", name)); !bytes.Equal(fromDoc, want) {
			t.Errorf("the example in docs/server-config.md differs from testdata/%s; copy one over the other", name)
		}
		mustParse(t, fromDoc)
	}
	for _, name := range []string{"example.yaml", "minimal.yaml"} {
		if !found[name] {
			t.Errorf("docs/server-config.md has no block marked <!-- testdata/%s --> followed by ```yaml", name)
		}
	}
}

func marshal(t testing.TB, c *Config) []byte {
	t.Helper()
	out, err := c.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return out
}

// assertErrors checks that err has exactly one line per want, each starting with that want: the field path,
// ": " and the start of the message.
func assertErrors(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	lines := strings.Split(err.Error(), "\n")
	for _, w := range want {
		found := false
		for _, line := range lines {
			found = found || strings.HasPrefix(line, w)
		}
		if !found {
			t.Errorf("no error line starts with %q; got:\n%v", w, err)
		}
	}
	if len(lines) != len(want) {
		t.Errorf("got %d error lines, want %d:\n%v", len(lines), len(want), err)
	}
}

// TestSessionReuseRequired: an unset requireSessionReuse means the default, required; a set one is taken as it is.
func TestSessionReuseRequired(t *testing.T) {
	for _, tt := range []struct {
		set  *bool
		want bool
	}{{nil, true}, {ptr(true), true}, {ptr(false), false}} {
		tls := TLS{RequireSessionReuse: tt.set}
		if got := tls.SessionReuseRequired(); got != tt.want {
			t.Errorf("requireSessionReuse %v: SessionReuseRequired() = %t, want %t", tt.set, got, tt.want)
		}
	}
}
