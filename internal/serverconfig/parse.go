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
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Load reads and parses the configuration file at path (or path.gz, see ReadFile); see Parse.
func Load(path string) (*Config, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("invalid config %s:\n%w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration file, applies defaults and validates it. It returns either a valid configuration
// or nil and every problem found, joined with errors.Join and one per line; the caller (the server, on start or
// reload) can then keep serving with the configuration it has.
//
// Decoding is strict: field names are case-sensitive and an unknown or duplicate field is an error, because a
// misspelt field would otherwise be silently ignored, and a misspelt security setting silently not applied.
//
// data may be gzipped (see Gzip).
func Parse(data []byte) (*Config, error) {
	data, err := inflate(data)
	if err != nil {
		return nil, err
	}
	if err := checkAPIVersion(data); err != nil {
		return nil, err
	}
	jsonData, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		// One line, like every other error: yaml.v2 lists several problems on lines of their own.
		return nil, errors.New("not valid YAML: " + strings.Join(strings.Fields(err.Error()), " "))
	}
	var c Config
	strictErrs, err := sigsjson.UnmarshalStrict(jsonData, &c)
	if err != nil {
		return nil, decodeError(err)
	}
	c.ApplyDefaults()

	var errs errorList
	for _, err := range strictErrs {
		errs = append(errs, c.strictError(err))
	}
	c.validate(&errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

// checkAPIVersion refuses a file written for another version of the format before reading its fields: they could
// mean anything, and a list of unknown fields would bury the one error that matters. A missing or malformed
// apiVersion is left for the full decode to report with everything else.
func checkAPIVersion(data []byte) error {
	jsonData, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
	}
	if sigsjson.UnmarshalCaseSensitivePreserveInts(jsonData, &head) != nil {
		return nil
	}
	if head.APIVersion == "" || head.APIVersion == APIVersion {
		return nil
	}
	return &FieldError{Field: "apiVersion", Message: unsupportedAPIVersion(head.APIVersion)}
}

func unsupportedAPIVersion(v string) string {
	return fmt.Sprintf("%q is not supported: this server reads %s", truncate(v), APIVersion)
}

// userIndexRE matches a decoder path into the users list.
var userIndexRE = regexp.MustCompile(`^users\[([0-9]+)\](.*)$`)

// strictError turns an unknown or duplicate field reported by the decoder into a FieldError whose path names the
// user the way validation errors do.
func (c *Config) strictError(err error) error {
	var fe sigsjson.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	field := fe.FieldPath()
	if m := userIndexRE.FindStringSubmatch(field); m != nil {
		if i, err := strconv.Atoi(m[1]); err == nil && i < len(c.Users) {
			field = userPath(i, c.Users[i].Username) + m[2]
		}
	}
	if strings.ContainsFunc(field, isControl) {
		field = strconv.Quote(field)
	}
	message := "unknown field"
	if strings.HasPrefix(err.Error(), "duplicate field") {
		message = "duplicate field"
	}
	return &FieldError{Field: field, Message: message}
}

// typeErrorRE matches encoding/json's message for a value of the wrong type, such as
// `json: cannot unmarshal number into Go struct field TLS.ftp.tls.minVersion of type config.TLSVersion`.
var typeErrorRE = regexp.MustCompile(`^json: cannot unmarshal (\w+).* into Go struct field \w+\.(\S+) of type (\S+)$`)

// decodeError rewords a type error in this package's "path: problem" form; other errors pass through.
func decodeError(err error) error {
	m := typeErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		if strings.Contains(err.Error(), "into Go value of type config.Config") {
			return errors.New("the file must be a YAML mapping that starts with apiVersion and kind")
		}
		return fmt.Errorf("cannot decode: %w", err)
	}
	got, want := jsonKinds[m[1]], describeGoType(m[3])
	if got.name == "" {
		got.name = m[1]
	}
	message := fmt.Sprintf("got %s, want %s", got.name, want)
	if want == aString && got.scalar && got.name != aString {
		message += ": quote it"
	}
	return &FieldError{Field: m[2], Message: message}
}

// aString describes a string in decoding errors.
const aString = "a string"

// jsonKinds describes the kinds of JSON value encoding/json names in its errors.
var jsonKinds = map[string]struct {
	name   string
	scalar bool
}{
	"string": {aString, true},
	"number": {"a number", true},
	"bool":   {"a boolean", true},
	"array":  {"a list", false},
	"object": {"a mapping", false},
}

func describeGoType(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case t == "int":
		return "a whole number"
	case t == "bool":
		return "true or false"
	case t == "string", t == "config.AuthMethod", t == "config.TLSMode", t == "config.TLSVersion",
		t == "config.Permission", t == "config.Protocol":
		return aString
	default:
		return "a mapping"
	}
}
