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

// Package certs serves a TLS certificate from a PEM certificate and key file pair and reloads it when the files
// change, so that a renewed certificate (cert-manager, or any tool that rewrites the files) is used by the next
// TLS handshake without a restart.
package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Reloader holds the current certificate of a file pair. Its methods are safe for concurrent use.
//
// Every handshake stats both files (following symbolic links, so Kubernetes' atomic swap of the ..data link of
// a Secret volume is seen as a change) and re-reads them when either changed. A new pair that cannot be loaded
// (unreadable, not PEM, a key that does not match the certificate, or a certificate written before its key) is
// logged once and the last good certificate stays in use; it is tried again when the files change again.
type Reloader struct {
	// Log receives reload errors and successes; nil means slog.Default(). Set it before the first handshake.
	Log *slog.Logger

	mu       sync.Mutex
	certFile string
	keyFile  string
	cert     *tls.Certificate
	loaded   pairStamp // the files cert was read from
	failed   pairStamp // the files that last failed to load; zero when the last attempt succeeded
	missing  bool      // a file was missing at the last look, and that was logged
	// loadedAt is when cert was read; for the reload metrics.
	loadedAt time.Time
}

// pairStamp identifies one version of the two files.
type pairStamp struct {
	cert, key os.FileInfo
}

// same reports whether p and o describe the same versions of both files: the same inode (a replaced file or a
// swapped symlink gives another one), size and modification time (a file rewritten in place keeps its inode).
func (p pairStamp) same(o pairStamp) bool {
	return sameFile(p.cert, o.cert) && sameFile(p.key, o.key)
}

func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return false
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// NewReloader loads the pair once. It fails if the files cannot be loaded: a server must not start without a
// certificate it was told to use.
func NewReloader(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{}
	if err := r.SetFiles(certFile, keyFile); err != nil {
		return nil, err
	}
	return r, nil
}

// SetFiles switches to another file pair (after a configuration change) and loads it. On error the previous
// pair and certificate stay in use.
func (r *Reloader) SetFiles(certFile, keyFile string) error {
	stamps, err := statPair(certFile, keyFile)
	if err != nil {
		return err
	}
	cert, err := loadPair(certFile, keyFile)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.certFile, r.keyFile = certFile, keyFile
	r.cert, r.loaded, r.failed, r.missing, r.loadedAt = cert, stamps, pairStamp{}, false, time.Now()
	return nil
}

// LoadState checks the files as a handshake would (reloading them if they changed) and reports whether they, as
// they are now, are the certificate in use, and when a certificate was last loaded. It is false while a file is
// missing or a changed pair does not load.
func (r *Reloader) LoadState() (ok bool, lastSuccess time.Time) {
	_, _ = r.Certificate() // it never fails: errors are logged, and the previous certificate stays
	r.mu.Lock()
	defer r.mu.Unlock()
	healthy := !r.missing && r.failed == (pairStamp{})
	return healthy, r.loadedAt
}

// GetCertificate is a tls.Config.GetCertificate callback: it returns the current certificate, reloading the files
// first if they changed.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate()
}

// Certificate returns the current certificate, reloading the files first if they changed.
func (r *Reloader) Certificate() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamps, err := statPair(r.certFile, r.keyFile)
	if err != nil {
		// Files missing, perhaps briefly during a non-atomic update: keep serving what we have, and say so once.
		if !r.missing {
			r.missing = true
			r.reportLocked(err)
		}
		return r.cert, nil
	}
	r.missing = false
	if stamps.same(r.loaded) || stamps.same(r.failed) {
		return r.cert, nil
	}
	cert, err := loadPair(r.certFile, r.keyFile)
	if err != nil {
		r.failed = stamps // logged once per bad version of the files, not on every handshake
		r.reportLocked(err)
		return r.cert, nil
	}
	r.cert, r.loaded, r.failed, r.loadedAt = cert, stamps, pairStamp{}, time.Now()
	r.log().Info("TLS certificate reloaded", "certFile", r.certFile, "notAfter", cert.Leaf.NotAfter)
	return r.cert, nil
}

func (r *Reloader) reportLocked(err error) {
	r.log().Error("reloading the TLS certificate failed; still using the previous one",
		"certFile", r.certFile, "keyFile", r.keyFile, "error", err.Error())
}

func (r *Reloader) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func statPair(certFile, keyFile string) (pairStamp, error) {
	certInfo, err := os.Stat(certFile) // os.Stat follows the ..data symlink to the current file
	if err != nil {
		return pairStamp{}, fmt.Errorf("certificate file: %w", err)
	}
	keyInfo, err := os.Stat(keyFile)
	if err != nil {
		return pairStamp{}, fmt.Errorf("key file: %w", err)
	}
	return pairStamp{cert: certInfo, key: keyInfo}, nil
}

var errNoCertificate = errors.New("no certificate in the certificate file")

func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading %s and %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil { // LoadX509KeyPair parses the leaf since Go 1.23; be explicit about relying on it
		return nil, fmt.Errorf("loading %s: %w", certFile, errNoCertificate)
	}
	return &cert, nil
}
