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

// Package testnet gives tests the IPv6 they need: the IPv6 loopback address, and network namespaces of their own
// that hold an address of this machine other than the loopback one. Tests only ever target [::1] and addresses
// inside the namespaces they made; nothing else.
package testnet

import (
	"net"
	"os"
	"testing"
)

// RequireIPv6 returns a listener on [::1] with an ephemeral port. When this machine has no IPv6 loopback address
// it fails the test under PIER_REQUIRE_CLIENTS=1 (set by `make test`, whose machines have one) and skips it
// otherwise, saying why.
func RequireIPv6(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		unavailable(t, "this machine cannot listen on the IPv6 loopback address [::1]: "+err.Error())
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// unavailable skips the test, or fails it when PIER_REQUIRE_CLIENTS=1 says everything a test needs is there.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("PIER_REQUIRE_CLIENTS") == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
}
