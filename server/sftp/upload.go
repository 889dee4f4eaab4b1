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

package sftp

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
)

// Why uploads need this file
//
// pkg/sftp's request server hands the WRITE requests of one handle to several workers at once, so they reach
// WriteAt in whatever order the workers finish, not in the order the client sent them. pier takes the offset of
// every write as the truth (what pkg/sftp's own server and SFTPGo do), so the final file never depends on that
// order. Two things still would, and this writer takes care of them:
//
//   - What is on disk while the upload runs. A block written beyond a missing one leaves a hole of zeros below the
//     file's size. If the server is killed then, a client resuming from the file's size (OpenSSH `reput`, WinSCP)
//     would skip the hole and the file would be silently wrong. So a write beyond the first missing byte is held
//     in memory until the gap is filled, and the file on disk is always exactly the client's data up to its size.
//     Held writes of a client that vanishes are dropped, not written, for the same reason. A client that leaves
//     gaps on purpose gets them written when it closes the file, or at once when holding them would take more
//     memory than heldBudget allows.
//
//   - SSH_FXF_APPEND. The draft says an append handle ignores offsets and writes at the end, which OpenSSH's
//     sftp-server does by serving requests one at a time. pkg/sftp cannot tell us the request order, so the
//     offsets must carry it. Clients number them in one of two ways: from the file's size when opened (OpenSSH
//     `reput` and `put -a`, paramiko, JSch), or from 0 (curl/libssh2 `--append`, pkg/sftp's client). An offset
//     below the size at open can only come from the second kind, so the handle switches to it and places every
//     write at size+offset. Nothing below the size at open is ever written through an append handle. If that
//     evidence arrives after a write already landed at the size (only possible when the size equals one of the
//     client's own offsets and the workers reordered its first writes), the handle fails with an error and the
//     file is cut back to its size at open: the client hears of it, and no byte of the old file changes.

// heldBudget is how many bytes of out-of-order writes one SSH connection (all its SFTP sessions) may hold in
// memory. With pkg/sftp's eight workers, a client that writes in order has at most seven writes (of at most
// 256 KiB) ahead of a missing one, so 8 MiB never drops below what such a client needs; a client writing far apart
// on purpose is not held up by it.
const heldBudget = 8 << 20

// maxHeldWrites bounds the held writes of one handle, so a client sending many tiny writes out of order costs
// bounded work per write; a client that writes in order never has more than seven.
const maxHeldWrites = 1024

// errAppendOffsets fails an append handle whose client's offsets cannot be placed without guessing.
var errAppendOffsets = errors.New("the offsets of this append (SSH_FXF_APPEND) upload contradict each other")

// heldWrite is a write waiting for the bytes before it.
type heldWrite struct {
	off  int64 // the client's offset
	data []byte
}

// orderedWriter is the io.WriterAt of an SFTP upload handle. Its methods are safe for concurrent use.
type orderedWriter struct {
	file   io.WriterAt
	shrink func(size int64) error // truncates the file; used to undo a failed append
	budget *atomic.Int64          // bytes held by every upload of the SSH connection

	mu sync.Mutex
	// appendSize is the file's size when an append handle was opened, or -1 for a handle that writes at offsets.
	appendSize int64
	// fromZero: the client of this append handle numbers its writes from 0, so each lands at appendSize+offset.
	fromZero bool
	// next is the client offset up to which the file holds the client's data with no gap.
	next int64
	// wrote is set once any byte went to the file through this handle.
	wrote     bool
	held      []heldWrite // sorted by offset, every one beyond next
	heldBytes int64
	err       error // the first failure; every later write and Close report it
}

// newOrderedWriter writes to file, whose current size is size. For an append handle (appendSize >= 0) size must
// equal appendSize.
func newOrderedWriter(file io.WriterAt, shrink func(int64) error, budget *atomic.Int64, size int64, isAppend bool) *orderedWriter {
	w := &orderedWriter{file: file, shrink: shrink, budget: budget, appendSize: -1, next: size}
	if isAppend {
		w.appendSize = size
	}
	return w
}

// WriteAt places b at the client's offset off, or holds it until the bytes before it have arrived.
func (w *orderedWriter) WriteAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.appendSize > 0 && !w.fromZero && off < w.appendSize {
		if err := w.numberFromZero(off); err != nil {
			return 0, err
		}
	}
	if off > w.next && w.hold(b, off) {
		return len(b), nil
	}
	if err := w.write(b, off); err != nil {
		return 0, err
	}
	return len(b), w.flushContiguous()
}

// numberFromZero switches an append handle to a client that numbers its writes from 0, after a write at off
// below the size at open showed it does.
func (w *orderedWriter) numberFromZero(off int64) error {
	if w.wrote {
		w.fail(fmt.Errorf("%w: offset %d is below the file's size when it was opened (%d bytes), but data was "+
			"already appended at that size; the file was restored to %d bytes, retry the append",
			errAppendOffsets, off, w.appendSize, w.appendSize))
		if err := w.shrink(w.appendSize); err != nil {
			w.err = errors.Join(w.err, fmt.Errorf("restoring the file to %d bytes: %w", w.appendSize, err))
		}
		return w.err
	}
	w.fromZero = true
	w.next = 0
	return nil
}

// hold keeps a copy of b (pkg/sftp reuses its buffer) if the handle's and the connection's limits allow.
func (w *orderedWriter) hold(b []byte, off int64) bool {
	if len(w.held) >= maxHeldWrites {
		return false
	}
	if w.budget.Add(int64(len(b))) > heldBudget {
		w.budget.Add(-int64(len(b)))
		return false
	}
	i, _ := slices.BinarySearchFunc(w.held, off, func(h heldWrite, off int64) int {
		switch {
		case h.off < off:
			return -1
		case h.off > off:
			return 1
		}
		return 0
	})
	w.held = slices.Insert(w.held, i, heldWrite{off: off, data: slices.Clone(b)})
	w.heldBytes += int64(len(b))
	return true
}

// write puts b on disk at the position of client offset off and moves next past it if it joins on.
func (w *orderedWriter) write(b []byte, off int64) error {
	pos := off
	if w.fromZero {
		pos += w.appendSize
	}
	w.wrote = true
	if _, err := w.file.WriteAt(b, pos); err != nil {
		w.fail(err)
		return err
	}
	if off <= w.next {
		w.next = max(w.next, off+int64(len(b)))
	}
	return nil
}

// flushContiguous writes the held writes that the last write joined on to.
func (w *orderedWriter) flushContiguous() error {
	for len(w.held) > 0 && w.held[0].off <= w.next {
		h := w.release()
		if err := w.write(h.data, h.off); err != nil {
			return err
		}
	}
	return nil
}

// release takes the first held write out of the buffer and gives its bytes back to the budget.
func (w *orderedWriter) release() heldWrite {
	h := w.held[0]
	w.held = w.held[1:]
	w.heldBytes -= int64(len(h.data))
	w.budget.Add(-int64(len(h.data)))
	return h
}

func (w *orderedWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.dropHeld()
}

func (w *orderedWriter) dropHeld() {
	w.budget.Add(-w.heldBytes)
	w.held, w.heldBytes = nil, 0
}

// finish is called once when the handle closes. clientClosed says the client closed it: then every write it sent
// has been served, and gaps left are the client's choice, so held writes go to disk. Otherwise (the client
// vanished) they are dropped, so the file stays a gap-free prefix of the upload that a client can resume.
func (w *orderedWriter) finish(clientClosed bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !clientClosed || w.err != nil {
		w.dropHeld()
		return w.err
	}
	for len(w.held) > 0 {
		h := w.release()
		if err := w.write(h.data, h.off); err != nil {
			return err
		}
	}
	return nil
}
