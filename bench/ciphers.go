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

package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/poly1305" //nolint:staticcheck // the same MAC x/crypto/ssh's chacha20-poly1305 uses

	"github.com/pier-dev/pier/bench/internal/peers"
	"github.com/pier-dev/pier/bench/internal/report"
)

// cipherPacket is the size of the SSH packets of a transfer: OpenSSH's channel packets carry 32 KiB.
const cipherPacket = 32 << 10

// cipherCeilings measures the ciphers alone, on one core, 32 KiB packets: what pier's SSH library
// (golang.org/x/crypto/ssh, on Go's crypto) can encrypt, against OpenSSL's libcrypto, which Debian's OpenSSH uses
// for both ciphers. No SFTP server can move bytes faster than its cipher, so these rows are the ceiling of the
// SFTP cells: where the SFTP row lags OpenSSH by about what this row does, the gap is the dependency's.
func (b *bench) cipherCeilings(ctx context.Context) ([]*report.Row, error) {
	var rows []*report.Row
	for _, c := range []struct {
		short, openssl string
		seal           func([]byte) func()
	}{
		{aes128GCM, "aes-128-gcm", sealAESGCM},
		{chacha20Poly1305, chacha20Poly1305, sealChaCha20Poly1305},
	} {
		name := fmt.Sprintf("cipher alone, %s, one core (the SFTP cells' ceiling)", c.short)
		if !b.selected(name) {
			continue
		}
		row := &report.Row{Name: name, Unit: "MB/s",
			Note: "pier: golang.org/x/crypto/ssh's construction in-process; openssh: `openssl speed -evp " + c.openssl + "` (the libcrypto Debian's OpenSSH uses)."}
		for round := range b.o.rounds {
			goRate := measureSeal(c.seal(make([]byte, cipherPacket)), time.Second)
			row.Add(peers.NamePier, goRate/1e6)
			sslRate, err := opensslSpeed(ctx, c.openssl)
			if err != nil {
				return nil, err
			}
			row.Add(peers.NameOpenSSH, sslRate/1e6)
			b.log.Info(name, "round", round+1, "go MB/s", fmt.Sprintf("%.0f", goRate/1e6), "openssl MB/s", fmt.Sprintf("%.0f", sslRate/1e6))
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// measureSeal runs seal, which encrypts one cipherPacket, for about d and returns bytes per second.
func measureSeal(seal func(), d time.Duration) float64 {
	begin := time.Now()
	n := 0
	for time.Since(begin) < d {
		for range 64 {
			seal()
		}
		n += 64
	}
	return float64(n*cipherPacket) / time.Since(begin).Seconds()
}

// sealAESGCM is aes128-gcm@openssh.com's work per packet: AES-128-GCM over the payload, the length as
// additional data.
func sealAESGCM(buf []byte) func() {
	block, _ := aes.NewCipher(make([]byte, 16)) // a 16-byte key cannot fail
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	out := make([]byte, 0, len(buf)+aead.Overhead())
	return func() {
		binary.BigEndian.PutUint64(nonce[4:], binary.BigEndian.Uint64(nonce[4:])+1)
		out = aead.Seal(out[:0], nonce, buf, nonce[:4])
	}
}

// sealChaCha20Poly1305 is chacha20-poly1305@openssh.com's work per packet, as x/crypto/ssh does it: a ChaCha20
// stream per packet (its first block makes the Poly1305 key), the length under a second ChaCha20 key, the payload
// from block 1, and a Poly1305 tag over all of it.
func sealChaCha20Poly1305(buf []byte) func() {
	lengthKey, contentKey := make([]byte, 32), make([]byte, 32)
	var seq uint32
	packet := make([]byte, 4+len(buf))
	return func() {
		seq++
		var nonce [12]byte
		binary.BigEndian.PutUint32(nonce[8:], seq)
		s, _ := chacha20.NewUnauthenticatedCipher(contentKey, nonce[:]) // fixed sizes cannot fail
		var polyKey, discard [32]byte
		s.XORKeyStream(polyKey[:], polyKey[:])
		s.XORKeyStream(discard[:], discard[:]) // the rest of block 0
		ls, _ := chacha20.NewUnauthenticatedCipher(lengthKey, nonce[:])
		binary.BigEndian.PutUint32(packet, uint32(len(buf)))
		ls.XORKeyStream(packet[:4], packet[:4])
		s.XORKeyStream(packet[4:], buf)
		var tag [poly1305.TagSize]byte
		poly1305.Sum(&tag, packet, &polyKey)
	}
}

// opensslSpeed is OpenSSL's rate for the EVP cipher on cipherPacket buffers, in bytes per second.
func opensslSpeed(ctx context.Context, evp string) (float64, error) {
	out, err := exec.CommandContext(ctx, "openssl", "speed", "-evp", evp, "-bytes", strconv.Itoa(cipherPacket),
		"-seconds", "1", "-mr").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("openssl speed -evp %s: %w: %s", evp, err, out)
	}
	return parseOpenSSLSpeed(string(out))
}

// parseOpenSSLSpeed reads the rate from `openssl speed -mr` output: the line "+F:N:NAME:BYTES_PER_SECOND".
func parseOpenSSLSpeed(out string) (float64, error) {
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Split(strings.TrimSpace(line), ":")
		if len(fields) == 4 && fields[0] == "+F" {
			rate, err := strconv.ParseFloat(fields[3], 64)
			if err != nil {
				return 0, fmt.Errorf("openssl speed: %q: %w", line, err)
			}
			return rate, nil
		}
	}
	return 0, fmt.Errorf("openssl speed printed no +F line:\n%s", out)
}
