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

package ftp

import (
	"bytes"
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/serverconfig"
	"github.com/pier-dev/pier/internal/testsupport/payload"
)

// TestZeroCopyTransfersKeepEveryByte: uploads on plain passive data connections go into the file with splice(2) in
// chunks of up to zeroCopyChunk, TLS ones through a buffer of uploadBuffer bytes. Files of more than two chunks and not
// a multiple of either size, every way a transfer starts and ends: a new file, a shorter file over a longer one
// (the old tail must go), REST+STOR in the middle, APPE (O_APPEND, which splice cannot write), REST+RETR, and an
// empty upload. Every byte is compared.
func TestZeroCopyTransfersKeepEveryByte(t *testing.T) {
	ts := startServer(t, func(s *Settings) { s.TLSMode = serverconfig.TLSOptional })
	big := payload.Random(2*zeroCopyChunk + 3*uploadBuffer + 7)
	small := payload.Random(uploadBuffer + 11)
	for _, mode := range []struct {
		name string
		tls  *tls.Config
	}{{"plain", nil}, {"TLS", ts.clientTLS()}} {
		t.Run(mode.name, func(t *testing.T) {
			c, err := ts.dial(t, mode.tls)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Login("alice", passwords["alice"]); err != nil {
				t.Fatal(err)
			}
			name := "zc-" + mode.name + ".bin"
			onDisk := filepath.Join(ts.home("alice"), name)
			check := func(what string, want []byte) {
				t.Helper()
				got, err := os.ReadFile(onDisk)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: the file has %d bytes, want %d, and they differ", what, len(got), len(want))
				}
			}
			retr := func(what string, offset uint64, want []byte) {
				t.Helper()
				r, err := c.RetrFrom(name, offset)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				got, err := io.ReadAll(r)
				if cerr := r.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: got %d bytes, want %d, and they differ", what, len(got), len(want))
				}
			}

			if err := c.Stor(name, bytes.NewReader(big)); err != nil {
				t.Fatal(err)
			}
			check("STOR", big)
			retr("RETR", 0, big)
			retr("REST+RETR", zeroCopyChunk+5, big[zeroCopyChunk+5:])

			if err := c.Stor(name, bytes.NewReader(small)); err != nil {
				t.Fatal(err)
			}
			check("STOR of a shorter file over a longer one", small)

			if err := c.Stor(name, bytes.NewReader(big)); err != nil {
				t.Fatal(err)
			}
			const offset = zeroCopyChunk + 3
			if err := c.StorFrom(name, bytes.NewReader(small), offset); err != nil {
				t.Fatal(err)
			}
			check("REST+STOR", append(append([]byte{}, big[:offset]...), small...))

			if err := c.Stor(name, bytes.NewReader(small)); err != nil {
				t.Fatal(err)
			}
			if err := c.Append(name, bytes.NewReader(big)); err != nil {
				t.Fatal(err)
			}
			check("APPE", append(append([]byte{}, small...), big...))

			if err := c.Stor(name, bytes.NewReader(nil)); err != nil {
				t.Fatal(err)
			}
			check("an empty STOR", nil)
		})
	}
}

// A splice call returns only once its whole chunk has moved, so the chunks follow the client's rate: a slow
// client gets small ones and keeps looking active well within the idle timeout, a fast one large ones.
func TestPacerSizesChunksToTheIdleTimeout(t *testing.T) {
	p := pacer{idle: 5 * time.Minute}
	if got := p.size(); got != minZeroCopyChunk {
		t.Errorf("the first chunk is %d bytes, want %d", got, minZeroCopyChunk)
	}
	p.moved(minZeroCopyChunk, time.Millisecond) // 64 MB/s: a second's worth is more than the largest chunk
	if got := p.size(); got != zeroCopyChunk {
		t.Errorf("after a fast chunk the next is %d bytes, want %d", got, zeroCopyChunk)
	}
	p.moved(zeroCopyChunk, 40*time.Second) // about 100 KB/s
	if got, want := p.size(), int64(zeroCopyChunk/40); got != want {
		t.Errorf("after a slow chunk the next is %d bytes, want a second's worth, %d", got, want)
	}
	p.moved(minZeroCopyChunk, time.Minute) // about 1 KB/s
	if got := p.size(); got != minZeroCopyChunk {
		t.Errorf("a very slow client gets chunks of %d bytes, want the smallest, %d", got, minZeroCopyChunk)
	}

	short := pacer{idle: 2 * time.Second} // chunks of a quarter of a second
	short.moved(zeroCopyChunk, time.Second)
	if got, want := short.size(), int64(zeroCopyChunk/4); got != want {
		t.Errorf("with a 2 s idle timeout the chunk is %d bytes, want %d", got, want)
	}
}

// slowReader hands out its bytes a few at a time with a pause before each piece: a client on a slow link that
// never stops sending.
type slowReader struct {
	data  []byte
	piece int
	pause time.Duration
}

func (r *slowReader) Read(b []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(b[:min(len(b), r.piece)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestSlowUploadWithShortIdleTimeout: a plain upload that keeps moving at 20 KB/s must not be closed as idle by a
// one-second idle timeout. A spliced chunk is recorded as activity only once it is whole, and the first one
// (minZeroCopyChunk) takes three seconds at that rate, so such an upload must not be spliced.
func TestSlowUploadWithShortIdleTimeout(t *testing.T) {
	ts := startServer(t, func(s *Settings) {
		s.IdleTimeout = time.Second
		s.TLSMode = serverconfig.TLSOptional
	})
	c, err := ts.dial(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("alice", passwords["alice"]); err != nil {
		t.Fatal(err)
	}
	want := payload.Random(minZeroCopyChunk + 8<<10)
	if err := c.Stor("slow.bin", &slowReader{data: want, piece: 4 << 10, pause: 200 * time.Millisecond}); err != nil {
		t.Fatalf("a slow but active upload failed: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(ts.home("alice"), "slow.bin"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the slow upload on disk has %d bytes, want %d (%v)", len(got), len(want), err)
	}
}
