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
	"errors"
	"io"
	"log/slog"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// refusedCommand is what a client that asks for a shell or a command sees.
const refusedCommand = "pier serves SFTP only: use sftp, or scp from OpenSSH 9 or later (which speaks SFTP), " +
	"not a shell or commands"

// serveChannel answers the requests of one session channel: the "sftp" subsystem is served; shells and commands
// are refused with a message and exit status 1; everything else gets a plain "no", except a terminal (pty-req).
func serveChannel(log *slog.Logger, channel ssh.Channel, requests <-chan *ssh.Request, h *handlers) {
	defer func() { _ = channel.Close() }() // the session is over; a close error has no one to go to
	// A client that was granted a terminal has put its own in raw mode, where a bare "\n" does not return the
	// cursor; without one, "\r" would end up in the client's output.
	newline := "\n"
	for req := range requests {
		switch req.Type {
		case "subsystem":
			if subsystemName(req.Payload) != "sftp" {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			go ssh.DiscardRequests(requests) // nothing more is answered on this channel
			status := serveSFTP(log, channel, h)
			sendExitStatus(channel, status)
			return
		case "exec", "shell":
			_ = req.Reply(true, nil)
			_, _ = io.WriteString(channel.Stderr(), refusedCommand+newline)
			sendExitStatus(channel, 1)
			return
		case "pty-req":
			// Granted, though no terminal is ever allocated: OpenSSH gives up with only "PTY allocation request
			// failed" when a terminal is refused (`ssh -t host`, or `ssh host` typed in a terminal), so the
			// user would never see why. Saying yes lets the shell request that follows get the explanation; it
			// costs nothing, as nothing runs on a terminal here, and the sftp subsystem ignores it.
			newline = "\r\n"
			_ = req.Reply(true, nil)
		default: // env, x11-req, agent forwarding ...: nothing here could use them
			_ = req.Reply(false, nil)
		}
	}
}

// serveSFTP runs pkg/sftp's request server over the channel until the client ends it.
func serveSFTP(log *slog.Logger, channel ssh.Channel, h *handlers) uint32 {
	// WithRSAllocator: the packets' buffers come from a pool (pier's copy of pkg/sftp, third_party/README.md)
	// instead of one new 32 KiB buffer per READ reply and per WRITE request, which cost hundreds of garbage
	// collections per GiB. A buffer goes back to the pool once its reply is sent, so the handlers must not keep
	// the slices they are given; vfs's ReadAt and WriteAt do not.
	server := sftp.NewRequestServer(channel, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h},
		sftp.WithStartDirectory("/"), sftp.WithRSAllocator())
	// Serve closes every handle the client left open. The channel itself stays open until serveChannel has
	// sent the exit status: scp reports a session without one as failed.
	err := server.Serve()
	if err != nil && !errors.Is(err, io.EOF) {
		log.Info("sftp session ended with an error", "error", err)
		return 1
	}
	return 0
}

// subsystemName decodes an SSH string (uint32 length, bytes) from a subsystem request.
func subsystemName(payload []byte) string {
	var msg struct{ Name string }
	if err := ssh.Unmarshal(payload, &msg); err != nil {
		return ""
	}
	return msg.Name
}

// sendExitStatus tells the client how the session ended. It fails only when the client has already gone, and
// then there is nobody to tell.
func sendExitStatus(channel ssh.Channel, status uint32) {
	_, _ = channel.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
}
