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

// Package served reads which users an endpoint's config Secret serves, and with which password hash: what the
// control-plane bench waits for. It decodes the config as pier-server does (serverconfig.Parse), and falls back to
// reading only the users when the strict decode fails, so that a manager built from another revision, whose
// config has a field this one does not know, is still measured (the caller is told, and says so).
package served

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/pier-dev/pier/internal/serverconfig"
)

// Config is what a config Secret says about its users.
type Config struct {
	// Users maps each username to its password hash ("" for a user without a password).
	Users map[string]string
	// Lenient, when not nil, is why serverconfig.Parse refused the config, which was then read for its users only.
	Lenient error
}

// Decode reads a config Secret's configuration file (render.ConfigData: plain or gzipped).
func Decode(data []byte) (Config, error) {
	cfg, strictErr := serverconfig.Parse(data)
	if strictErr == nil {
		out := Config{Users: make(map[string]string, len(cfg.Users))}
		for _, u := range cfg.Users {
			out.Users[u.Username] = u.PasswordHash
		}
		return out, nil
	}
	users, err := lenient(data)
	if err != nil {
		return Config{}, fmt.Errorf("the config is not valid (%w), and its users cannot be read either: %w", strictErr, err)
	}
	return Config{Users: users, Lenient: strictErr}, nil
}

// maxInflated bounds a gzipped config's content, as the server does.
const maxInflated = serverconfig.MaxInflatedBytes

// lenient reads the users' names and hashes of a config, ignoring every other field.
func lenient(data []byte) (map[string]string, error) {
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("not valid gzip: %w", err)
		}
		if data, err = io.ReadAll(io.LimitReader(r, maxInflated+1)); err != nil {
			return nil, fmt.Errorf("not valid gzip: %w", err)
		}
		if len(data) > maxInflated {
			return nil, fmt.Errorf("gzipped config expands to more than %d bytes", maxInflated)
		}
	}
	var doc struct {
		Users []struct {
			Username     string `json:"username"`
			PasswordHash string `json:"passwordHash"`
		} `json:"users"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	users := make(map[string]string, len(doc.Users))
	for _, u := range doc.Users {
		if u.Username == "" {
			return nil, fmt.Errorf("a user without a username")
		}
		users[u.Username] = u.PasswordHash
	}
	return users, nil
}
