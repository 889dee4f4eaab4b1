/*
Copyright 2026 The pier authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package session describes one logged-in client connection for the protocol front ends, and writes the
// transfer log: one structured line and one metric per file operation, the same for SFTP and FTP.
package session

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"time"

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
	s.Metrics.FileOperation(s.Protocol, op, result, bytesIn, bytesOut)
	attrs := []slog.Attr{
		slog.String("user", s.Username),
		slog.String("protocol", s.Protocol),
		slog.String("op", op),
		slog.String("path", path),
		slog.Int64("bytesIn", bytesIn),
		slog.Int64("bytesOut", bytesOut),
		slog.Duration("duration", time.Since(started)),
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
