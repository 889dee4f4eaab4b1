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
	"bytes"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// chunk is one write of a test upload: data[off:off+n] at client offset off.
type chunk struct{ off, n int }

// chunks cuts [0, size) into writes of random lengths (1 byte to 64 KiB), in order.
func chunks(rng *mrand.Rand, size int) []chunk {
	var out []chunk
	for off := 0; off < size; {
		n := min(1+rng.IntN(64<<10), size-off)
		out = append(out, chunk{off, n})
		off += n
	}
	return out
}

// perturb reorders cs the way concurrent workers do: each write may overtake up to window-1 writes sent before it.
func perturb(rng *mrand.Rand, cs []chunk, window int) []chunk {
	out := append([]chunk(nil), cs...)
	for i := range out {
		j := i + rng.IntN(min(window, len(out)-i))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// testFile is a real file on disk with size bytes of old content.
func testFile(t *testing.T, old []byte) (*os.File, string) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "upload.bin")
	if err := os.WriteFile(name, old, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f, name
}

func readBack(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOrderedWriterAnyInterleaving is the property behind resumable uploads: for any order in which the writes of
// an upload arrive (a bounded reordering, as pkg/sftp's workers produce, or a full shuffle), from one goroutine or
// many, the file ends up as a sequential write would leave it, and, while the writes arrive, the file on disk is
// always a gap-free prefix of the upload.
func TestOrderedWriterAnyInterleaving(t *testing.T) {
	for seed := range uint64(200) {
		rng := mrand.New(mrand.NewPCG(seed, 0x9e3779b97f4a7c15))
		size := rng.IntN(2 << 20)
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		cs := chunks(rng, size)
		window := []int{1, 2, 8, 64, len(cs) + 1}[rng.IntN(5)]
		order := perturb(rng, cs, window)
		concurrent := seed%2 == 1
		t.Run(fmt.Sprintf("seed %d size %d window %d concurrent %v", seed, size, window, concurrent), func(t *testing.T) {
			f, name := testFile(t, nil)
			var budget atomic.Int64
			w := newOrderedWriter(f, f.Truncate, &budget, 0, false)
			if concurrent {
				var wg sync.WaitGroup
				for _, c := range order {
					wg.Go(func() {
						if _, err := w.WriteAt(data[c.off:c.off+c.n], int64(c.off)); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
			} else {
				for _, c := range order {
					if _, err := w.WriteAt(data[c.off:c.off+c.n], int64(c.off)); err != nil {
						t.Fatal(err)
					}
					onDisk := readBack(t, name)
					if !bytes.Equal(onDisk, data[:len(onDisk)]) {
						t.Fatalf("after the write at %d the file (%d bytes) is not a prefix of the upload", c.off, len(onDisk))
					}
				}
			}
			if err := w.finish(true); err != nil {
				t.Fatal(err)
			}
			sameBytes(t, "the file", readBack(t, name), data)
			if budget.Load() != 0 {
				t.Fatalf("%d bytes of the budget were never given back", budget.Load())
			}
		})
	}
}

// TestOrderedWriterAppendEitherNumbering: an append handle gives old+added for clients numbering from the size and
// from 0, in any order of arrival, unless the size is one of a from-zero client's offsets and that write came
// first, in which case the handle fails and the old file is untouched.
func TestOrderedWriterAppendEitherNumbering(t *testing.T) {
	for seed := range uint64(200) {
		rng := mrand.New(mrand.NewPCG(seed, 42))
		old := make([]byte, rng.IntN(100_000))
		added := make([]byte, 1+rng.IntN(1<<20))
		for _, b := range [][]byte{old, added} {
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
		}
		fromZero := seed%2 == 0
		base := len(old)
		if fromZero {
			base = 0
		}
		order := perturb(rng, chunks(rng, len(added)), []int{1, 8, 1 << 20}[rng.IntN(3)])
		t.Run(fmt.Sprintf("seed %d old %d fromZero %v", seed, len(old), fromZero), func(t *testing.T) {
			f, name := testFile(t, old)
			var budget atomic.Int64
			w := newOrderedWriter(f, f.Truncate, &budget, int64(len(old)), true)
			var failed error
			for _, c := range order {
				if _, err := w.WriteAt(added[c.off:c.off+c.n], int64(base+c.off)); err != nil {
					failed = err
					break
				}
			}
			finishErr := w.finish(true)
			got := readBack(t, name)
			if failed != nil {
				if !errors.Is(failed, errAppendOffsets) || !errors.Is(finishErr, errAppendOffsets) {
					t.Fatalf("write error %v, finish error %v; want errAppendOffsets from both", failed, finishErr)
				}
				sameBytes(t, "the file after a failed append", got, old)
				return
			}
			if finishErr != nil {
				t.Fatal(finishErr)
			}
			sameBytes(t, "the appended file", got, append(append([]byte(nil), old...), added...))
		})
	}
}

// TestOrderedWriterClientVanishes: writes held behind a gap are dropped when the session ends without a close, so
// the file stays a prefix of the upload that a client can resume from its size.
func TestOrderedWriterClientVanishes(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB
	f, name := testFile(t, nil)
	var budget atomic.Int64
	w := newOrderedWriter(f, f.Truncate, &budget, 0, false)
	for _, c := range []chunk{{0, 32 << 10}, {64 << 10, 32 << 10}, {96 << 10, 32 << 10}} { // the second never came
		if _, err := w.WriteAt(data[c.off:c.off+c.n], int64(c.off)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(false); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "the file after the client vanished", readBack(t, name), data[:32<<10])
	if budget.Load() != 0 {
		t.Fatalf("%d bytes of the budget were never given back", budget.Load())
	}
}

// TestOrderedWriterSparseAndOverBudget: a client that leaves gaps on purpose, or writes further ahead than the
// session may hold, still gets every byte where it asked, zeros in the gaps, as a sequential write would.
func TestOrderedWriterSparseAndOverBudget(t *testing.T) {
	var budget atomic.Int64
	budget.Store(heldBudget - 100<<10) // other uploads of the session hold nearly all of it
	f, name := testFile(t, nil)
	w := newOrderedWriter(f, f.Truncate, &budget, 0, false)
	want := make([]byte, 1<<20)
	for _, c := range []chunk{{900 << 10, 64 << 10}, {500 << 10, 64 << 10}, {100 << 10, 64 << 10}, {0, 10}} {
		for i := c.off; i < c.off+c.n; i++ {
			want[i] = byte(i % 251)
		}
		if _, err := w.WriteAt(want[c.off:c.off+c.n], int64(c.off)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(true); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "the sparse file", readBack(t, name), want[:964<<10])
	if got := budget.Load(); got != heldBudget-100<<10 {
		t.Fatalf("budget %d after the upload, want it back at %d", got, heldBudget-100<<10)
	}
}

// failingWriter fails every write after the first n.
type failingWriter struct {
	n   int
	err error
}

func (f *failingWriter) WriteAt(b []byte, _ int64) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	f.n--
	return len(b), nil
}

// TestOrderedWriterReportsLateFailures: a held write that fails when it finally goes to disk was already
// acknowledged, so the failure must reach the client through every later write and the close.
func TestOrderedWriterReportsLateFailures(t *testing.T) {
	diskFull := errors.New("no space left on device")
	var budget atomic.Int64
	w := newOrderedWriter(&failingWriter{n: 1, err: diskFull}, nil, &budget, 0, false)
	if _, err := w.WriteAt(make([]byte, 10), 20); err != nil { // held
		t.Fatal(err)
	}
	if _, err := w.WriteAt(make([]byte, 10), 10); err != nil { // held
		t.Fatal(err)
	}
	// The gap is filled; this write succeeds, the held ones behind it fail on their way to disk.
	if _, err := w.WriteAt(make([]byte, 10), 0); !errors.Is(err, diskFull) {
		t.Fatalf("write = %v, want the held write's failure", err)
	}
	if _, err := w.WriteAt(make([]byte, 10), 30); !errors.Is(err, diskFull) {
		t.Fatalf("a later write = %v, want the earlier failure", err)
	}
	if err := w.finish(true); !errors.Is(err, diskFull) {
		t.Fatalf("finish = %v, want the earlier failure", err)
	}
	if budget.Load() != 0 {
		t.Fatalf("%d bytes of the budget were never given back", budget.Load())
	}
}

// TestOrderedWriterBoundsHeldWrites: thousands of tiny writes in reverse order are held only up to
// maxHeldWrites; the rest go to disk at once, and the file is still right.
func TestOrderedWriterBoundsHeldWrites(t *testing.T) {
	const n = 3 * maxHeldWrites
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i % 253)
	}
	f, name := testFile(t, nil)
	var budget atomic.Int64
	w := newOrderedWriter(f, f.Truncate, &budget, 0, false)
	for off := n - 1; off >= 0; off-- {
		if _, err := w.WriteAt(data[off:off+1], int64(off)); err != nil {
			t.Fatal(err)
		}
		if len(w.held) > maxHeldWrites {
			t.Fatalf("%d writes held, the bound is %d", len(w.held), maxHeldWrites)
		}
	}
	if err := w.finish(true); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "the file written backwards", readBack(t, name), data)
}
