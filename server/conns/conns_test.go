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

package conns

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// TestShutdownClosesWhatOutlivesTheGracePeriod: a connection that never ends by itself is closed once the
// shutdown context is done, and Shutdown returns only after its goroutine finished.
func TestShutdownClosesWhatOutlivesTheGracePeriod(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var tr Tracker
	started, finished := make(chan struct{}), make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- tr.Serve(ln, "test", func(c net.Conn) (func(), func()) {
			return func() { _ = c.Close() }, func() {
				close(started)
				_, _ = io.Copy(io.Discard, c) // runs until the connection is closed
				close(finished)
			}
		})
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	_, _ = client.Write([]byte("hello"))
	<-started // the connection was accepted before the listener closes

	_ = ln.Close()
	if err := <-served; err != nil {
		t.Fatalf("Serve after the listener closed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	tr.Shutdown(ctx)
	select {
	case <-finished:
	default:
		t.Fatal("Shutdown returned while a connection was still being served")
	}
}
