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

// Package conns runs a protocol front end's accept loop and tracks its open connections, so that a graceful
// shutdown can let them finish for a grace period and then close the rest. SFTP and FTP share it.
package conns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Tracker accepts and tracks connections. The zero value is ready to use.
type Tracker struct {
	mu     sync.Mutex
	open   map[*entry]struct{}
	active sync.WaitGroup
}

type entry struct{ close func() }

// Serve accepts connections on ln until ln is closed. For each one, accept returns how to close it by force
// and how to serve it; serve runs in its own goroutine.
func (t *Tracker) Serve(ln net.Listener, protocol string, accept func(net.Conn) (closeFn, serve func())) error {
	for {
		raw, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond) // out of file descriptors or similar: back off, keep serving
				continue
			}
			return fmt.Errorf("%s: accepting connections: %w", protocol, err)
		}
		closeFn, serve := accept(raw)
		e := t.add(closeFn)
		go func() {
			defer t.remove(e)
			serve()
		}()
	}
}

// Shutdown waits for open connections to finish until ctx is done, then closes the rest and waits for their
// goroutines. Close the listeners first so no new connection arrives.
func (t *Tracker) Shutdown(ctx context.Context) {
	done := make(chan struct{})
	go func() { t.active.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	t.mu.Lock()
	for e := range t.open {
		e.close()
	}
	t.mu.Unlock()
	<-done
}

func (t *Tracker) add(closeFn func()) *entry {
	e := &entry{close: closeFn}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open == nil {
		t.open = map[*entry]struct{}{}
	}
	t.open[e] = struct{}{}
	t.active.Add(1)
	return e
}

func (t *Tracker) remove(e *entry) {
	t.mu.Lock()
	delete(t.open, e)
	t.mu.Unlock()
	t.active.Done()
}
