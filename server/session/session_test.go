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

package session

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"testing"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/auth"
	"github.com/pier-dev/pier/server/vfs"
)

func TestResultLabels(t *testing.T) {
	cases := map[string]error{
		"ok":        nil,
		"denied":    fmt.Errorf("upload /x: %w", vfs.ErrPermissionDenied),
		"not_found": &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist},
		"exists":    fs.ErrExist,
		"error":     errors.New("disk on fire"),
	}
	for want, err := range cases {
		if got := Result(err); got != want {
			t.Errorf("Result(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestRemoteAddrUnmapsIPv4(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	conn, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = server.Close() }()
	if got := RemoteAddr(server).Addr().String(); got != "127.0.0.1" {
		t.Fatalf("RemoteAddr = %s, want 127.0.0.1", got)
	}
}

func TestOpenJailPermissions(t *testing.T) {
	root := t.TempDir()
	users := auth.NewUsers()
	err := users.Update(&serverconfig.Config{Users: []serverconfig.User{
		{Username: "rw"},
		{Username: "ro", HomeDirectory: "/shared", Permissions: []serverconfig.Permission{serverconfig.PresetReadOnly}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rw, _ := users.Lookup("rw")
	jail, err := OpenJail(root, rw)
	if err != nil {
		t.Fatal(err)
	}
	f, err := jail.OpenWrite("/a.txt", vfs.WriteFlags{Create: true})
	if err != nil {
		t.Fatalf("a user without listed permissions (ReadWrite by default) cannot upload: %v", err)
	}
	_ = f.Close()
	_ = jail.Close()

	ro, _ := users.Lookup("ro")
	jail, err = OpenJail(root, ro)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = jail.Close() }()
	if _, err := jail.OpenWrite("/b.txt", vfs.WriteFlags{Create: true}); !errors.Is(err, vfs.ErrPermissionDenied) {
		t.Fatalf("ReadOnly user upload: %v, want permission denied", err)
	}
}
