//go:build !linux

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

package testnet

import (
	"net"
	"net/netip"
	"testing"
)

// Namespace is a Linux network namespace; see namespace_linux.go.
type Namespace struct {
	Name     string
	HostAddr netip.Addr
	PeerAddr netip.Addr
}

// NewNamespace skips the test: network namespaces are Linux only.
func NewNamespace(t testing.TB) *Namespace {
	t.Helper()
	unavailable(t, "network namespaces need Linux")
	return nil
}

// Listen is never reached: NewNamespace skips the test.
func (ns *Namespace) Listen(t testing.TB) *net.TCPListener {
	t.Helper()
	t.Fatal("network namespaces need Linux")
	return nil
}
