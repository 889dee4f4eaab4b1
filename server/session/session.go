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

// Package session describes one logged-in client connection for the protocol front ends, and writes the
// transfer log: one structured line and one metric per file operation, the same for SFTP and FTP.
package session

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/server/auth"
	"github.com/pier-dev/pier/server/metrics"
	"github.com/pier-dev/pier/server/vfs"
)

// Session is one logged-in client connection.
type Session struct {
	Protocol string
	Username string
	Remote   netip.AddrPort
	Log      *slog.Logger
	Metrics  *metrics.Metrics
}

// Record logs and counts one file operation. bytesIn is what the client uploaded, bytesOut what it downloaded.
func (s *Session) Record(op, path string, started time.Time, bytesIn, bytesOut int64, err error) {
	result := Result(err)
	took := time.Since(started)
	s.Metrics.FileOperation(s.Protocol, op, result, took, bytesIn, bytesOut)
	attrs := []slog.Attr{
		slog.String("username", s.Username),
		slog.String("protocol", s.Protocol),
		slog.String("op", op),
		slog.String("path", path),
		slog.Int64("bytesIn", bytesIn),
		slog.Int64("bytesOut", bytesOut),
		slog.Duration("duration", took),
		slog.String("remote", s.Remote.String()),
		slog.String("result", result),
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	// The request that did the operation may be gone (its context cancelled); the log line must still be written.
	s.Log.LogAttrs(context.Background(), level, "transfer", attrs...)
}

// Result is the short result label of an operation's error, for logs and metrics.
func Result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, vfs.ErrPermissionDenied):
		return "denied"
	case errors.Is(err, fs.ErrNotExist):
		return "not_found"
	case errors.Is(err, fs.ErrExist):
		return "exists"
	default:
		return "error"
	}
}

// OpenJail opens the account's home directory inside storageRoot as its jail, with the account's permissions
// (none listed means the default, ReadWrite). It creates the home directory on first login.
func OpenJail(storageRoot string, account *auth.Account) (*vfs.FS, error) {
	names := []string{string(serverconfig.PresetReadWrite)}
	if len(account.Permissions) > 0 {
		names = names[:0]
		for _, p := range account.Permissions {
			names = append(names, string(p))
		}
	}
	perms, err := vfs.ParsePermissions(names)
	if err != nil {
		return nil, fmt.Errorf("user permissions: %w", err)
	}
	jail, err := vfs.Open(storageRoot, account.HomeDir(), perms)
	if err != nil {
		return nil, fmt.Errorf("home directory %s: %w", account.HomeDir(), err)
	}
	return jail, nil
}

// RemoteAddr is the client's address of conn, with IPv4-mapped IPv6 addresses unmapped so that rules and logs
// see 192.0.2.1, not ::ffff:192.0.2.1.
func RemoteAddr(conn net.Conn) netip.AddrPort {
	if tcp, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		ap := tcp.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(conn.RemoteAddr().String())
	return ap
}
