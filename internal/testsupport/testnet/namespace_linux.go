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
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// Namespace is a network namespace a test created, joined to this machine's own namespace by a veth pair: an
// address of this machine (PeerAddr, inside the namespace) that is neither a loopback address nor any address
// someone else uses, reachable from the test's process through HostAddr. Removing the namespace removes both
// ends of the pair; the test's cleanup does that.
type Namespace struct {
	Name     string
	HostAddr netip.Addr // this namespace's end of the veth pair
	PeerAddr netip.Addr // the namespace's end
}

// NewNamespace creates a namespace with a random unique-local IPv6 /64 (RFC 4193) on its veth pair, or skips the
// test (fails it under PIER_REQUIRE_CLIENTS=1) when this process may not create one, as without root.
func NewNamespace(t testing.TB) *Namespace {
	t.Helper()
	realclient.Require(t, "ip")
	prefix := uniqueLocalPrefix(t)
	suffix := randomHex(t, 4)
	ns := &Namespace{
		Name:     "pier-test-" + suffix,
		HostAddr: prefix.Addr().Next(),
		PeerAddr: prefix.Addr().Next().Next(),
	}
	hostIf, peerIf := "pierh"+suffix, "pierp"+suffix // at most 15 bytes, as Linux requires
	if out, err := ip("netns", "add", ns.Name); err != nil {
		unavailable(t, fmt.Sprintf("cannot create a network namespace (needs root): %v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := ip("netns", "delete", ns.Name); err != nil {
			t.Errorf("removing network namespace %s: %v: %s", ns.Name, err, out)
		}
	})
	// nodad: the addresses are usable at once instead of after duplicate address detection; the prefix is random
	// and checked against this machine's addresses.
	for _, step := range []string{
		"link add " + hostIf + " type veth peer name " + peerIf + " netns " + ns.Name,
		"addr add " + ns.HostAddr.String() + "/64 dev " + hostIf + " nodad",
		"link set " + hostIf + " up",
		"-n " + ns.Name + " addr add " + ns.PeerAddr.String() + "/64 dev " + peerIf + " nodad",
		"-n " + ns.Name + " link set " + peerIf + " up",
		"-n " + ns.Name + " link set lo up",
	} {
		if out, err := ip(strings.Fields(step)...); err != nil {
			t.Fatalf("ip %s: %v: %s", step, err, out)
		}
	}
	return ns
}

// Listen returns a TCP listener on PeerAddr, an ephemeral port, inside the namespace.
func (ns *Namespace) Listen(t testing.TB) *net.TCPListener {
	t.Helper()
	var ln net.Listener
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		ln, err = ns.listen()
	}()
	<-done
	if err != nil {
		t.Fatalf("listening inside network namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.(*net.TCPListener)
}

// listen creates the socket on a thread that joined the namespace. The thread is handed back to the Go scheduler
// only once it is back in this process's namespace; otherwise it ends with the goroutine.
func (ns *Namespace) listen() (net.Listener, error) {
	runtime.LockOSThread()
	own, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	defer func() { _ = own.Close() }()
	target, err := os.Open("/run/netns/" + ns.Name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = target.Close() }()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("joining the namespace: %w", err)
	}
	ln, listenErr := net.Listen("tcp", net.JoinHostPort(ns.PeerAddr.String(), "0"))
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		return nil, fmt.Errorf("leaving the namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return ln, listenErr
}

// uniqueLocalPrefix picks a random fdXX:XXXX:XXXX:XXXX::/64 that no address of this machine lies in.
func uniqueLocalPrefix(t testing.TB) netip.Prefix {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		var b [16]byte
		if _, err := rand.Read(b[1:8]); err != nil {
			t.Fatal(err)
		}
		b[0] = 0xfd
		prefix := netip.PrefixFrom(netip.AddrFrom16(b), 64)
		taken := false
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && prefix.Contains(ip) {
					taken = true
				}
			}
		}
		if !taken {
			return prefix
		}
	}
	t.Fatal("found no free unique-local IPv6 prefix")
	return netip.Prefix{}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func ip(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "ip", args...).CombinedOutput()
}
