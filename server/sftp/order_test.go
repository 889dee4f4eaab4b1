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

package sftp

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

// rawSFTP speaks the SFTP protocol by hand over a session channel, so that a test can pipeline requests exactly
// as it likes: pkg/sftp's client waits or reorders on its own.
type rawSFTP struct {
	t  *testing.T
	ch ssh.Channel
	id uint32
}

// reply reads one response and returns its type and the bytes after its id.
func (r *rawSFTP) reply() (byte, []byte) {
	r.t.Helper()
	var length [4]byte
	if _, err := io.ReadFull(r.ch, length[:]); err != nil {
		r.t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(length[:]))
	if _, err := io.ReadFull(r.ch, body); err != nil {
		r.t.Fatal(err)
	}
	return body[0], body[5:]
}

// pipelined opens path with pflags and sends every write before reading any reply, then closes it.
func pipelined(t *testing.T, ts *testServer, path string, pflags uint32, writes [][]byte, offset func(i int) uint64) {
	t.Helper()
	ch, conn := sftpChannel(t, ts)
	defer func() { _ = conn.Close() }()
	r := &rawSFTP{t: t, ch: ch}
	var version [9]byte
	binary.BigEndian.PutUint32(version[:], 5)
	version[4], version[8] = 1, 3 // SSH_FXP_INIT, version 3
	if _, err := ch.Write(version[:]); err != nil {
		t.Fatal(err)
	}
	if typ, _ := r.reply(); typ != 2 { // SSH_FXP_VERSION
		t.Fatalf("got packet type %d, want VERSION", typ)
	}
	r.id = 0
	r.sendRaw(3, ssh.Marshal(struct {
		Path  string
		Flags uint32
		Attrs uint32
	}{path, pflags, 0}))
	typ, rest := r.reply()
	if typ != 102 { // SSH_FXP_HANDLE
		t.Fatalf("open: got packet type %d", typ)
	}
	var handle struct{ Handle string }
	if err := ssh.Unmarshal(rest, &handle); err != nil {
		t.Fatal(err)
	}
	for i, data := range writes {
		r.sendRaw(6, ssh.Marshal(struct {
			Handle string
			Offset uint64
			Data   []byte
		}{handle.Handle, offset(i), data}))
	}
	for range writes {
		if typ, rest := r.reply(); typ != 101 || binary.BigEndian.Uint32(rest) != 0 { // SSH_FXP_STATUS, OK
			t.Fatalf("write: got packet type %d status %v", typ, rest)
		}
	}
	r.sendRaw(4, ssh.Marshal(struct{ Handle string }{handle.Handle}))
	if typ, rest := r.reply(); typ != 101 || binary.BigEndian.Uint32(rest) != 0 {
		t.Fatalf("close: got packet type %d status %v", typ, rest)
	}
}

func (r *rawSFTP) sendRaw(typ byte, fields []byte) {
	r.t.Helper()
	r.id++
	body := append([]byte{typ}, binary.BigEndian.AppendUint32(nil, r.id)...)
	body = append(body, fields...)
	if _, err := r.ch.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)); err != nil {
		r.t.Fatal(err)
	}
}

// TestOneHandlesRequestsAreServedInOrder: requests on one handle take effect in the order the client sent them,
// however many are in flight, as section 7 of the SFTP draft requires. Upstream pkg/sftp serves them on eight
// workers at once; pier's copy serves one handle on one worker (third_party/README.md). Five hundred pipelined
// writes to the same four bytes must leave the last one; five hundred pipelined appends must land in order.
func TestOneHandlesRequestsAreServedInOrder(t *testing.T) {
	ts := startServer(t)
	const n = 500
	writes := make([][]byte, n)
	for i := range writes {
		writes[i] = []byte(fmt.Sprintf("%04d", i))
	}
	const write, creat, trunc, appendFlag = 0x2, 0x8, 0x10, 0x4
	for round := range 3 {
		pipelined(t, ts, "/same.bin", write|creat|trunc, writes, func(int) uint64 { return 0 })
		got, err := os.ReadFile(filepath.Join(ts.storage, "alice", "same.bin"))
		if err != nil || string(got) != fmt.Sprintf("%04d", n-1) {
			t.Fatalf("round %d: after %d pipelined writes to offset 0 the file is %q (%v), want the last one", round, n, got, err)
		}
		pipelined(t, ts, "/log.bin", write|creat|trunc|appendFlag, writes, func(i int) uint64 { return uint64(4 * i) })
		got, err = os.ReadFile(filepath.Join(ts.storage, "alice", "log.bin"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if string(got[4*i:4*i+4]) != fmt.Sprintf("%04d", i) {
				t.Fatalf("round %d: pipelined append %d landed out of order: %q", round, i, got[4*i:4*i+4])
			}
		}
	}
}
