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
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pier-dev/pier/internal/testsupport/payload"
	"github.com/pier-dev/pier/internal/testsupport/realclient"
)

// ftplibScript uploads a file and downloads another with Python's ftplib over explicit FTPS with PROT P.
// ftplib.FTP_TLS does not reuse the control connection's TLS session on data connections; "reuse" mode does,
// the way Python's documentation suggests (wrap_socket with session=). The TLS version is "1.2" or "1.3" (the
// highest offered). Exit status 3 means a transfer was refused.
const ftplibScript = `
import ftplib, ssl, sys

host, port, user, password, cafile, mode, version, upload, download, saved = sys.argv[1:11]

class ReusingFTP_TLS(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size

context = ssl.create_default_context(cafile=cafile)
if version == "1.2":
    context.maximum_version = ssl.TLSVersion.TLSv1_2
cls = ReusingFTP_TLS if mode == "reuse" else ftplib.FTP_TLS
ftp = cls(context=context, timeout=20)
ftp.connect(host, int(port))
ftp.login(user, password)  # AUTH TLS first
ftp.prot_p()
refused = []
try:
    with open(upload, "rb") as f:
        ftp.storbinary("STOR uploaded.bin", f)
except (ftplib.Error, ssl.SSLError, OSError) as e:
    refused.append("STOR: %s" % e)
with open(saved, "wb") as f:
    try:
        ftp.retrbinary("RETR " + download, f.write)
    except (ftplib.Error, ssl.SSLError, OSError) as e:
        refused.append("RETR: %s" % e)
# After a refused transfer ftplib may not have read that transfer's reply (an SSL error while it unwraps the data
# connection skips it), so the next command reads it instead and QUIT gets the last one: what QUIT reads then says
# nothing more about the transfers.
try:
    ftp.quit()
except (ftplib.Error, ssl.SSLError, OSError):
    if not refused:
        raise
if refused:
    print("\n".join(refused))
    sys.exit(3)
`

// TestPythonFtplibSessionReuse: Python's ftplib.FTP_TLS as it comes (no session reuse on data connections) is
// refused both ways and moves no byte; the same client resuming the control connection's session works.
func TestPythonFtplibSessionReuse(t *testing.T) {
	python := realclient.Require(t, "/usr/bin/python3")[0] // Debian's; another python3 on PATH may differ
	ts := startServer(t)
	work := t.TempDir()
	script := filepath.Join(work, "ftplib_transfer.py")
	upload := filepath.Join(work, "upload.bin")
	content := payload.Random(300_000)
	for name, data := range map[string][]byte{script: []byte(ftplibScript), upload: content} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeHomeFile(t, ts, "alice", "download.bin", content)
	uploaded := filepath.Join(ts.home("alice"), "uploaded.bin")
	ftplib := func(mode, version, saved string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		return exec.CommandContext(ctx, python, script, "127.0.0.1", portOf(t, ts.addr), "alice",
			passwords["alice"], ts.ca.CAFile, mode, version, upload, "download.bin", saved).CombinedOutput()
	}

	for _, version := range []string{"1.3", "1.2"} {
		t.Run("TLS "+version+" without session reuse", func(t *testing.T) {
			_ = os.Remove(uploaded)
			saved := filepath.Join(work, "without-"+version)
			out, err := ftplib("default", version, saved)
			var exit *exec.ExitError
			if err == nil || !errors.As(err, &exit) || exit.ExitCode() != 3 {
				t.Fatalf("ftplib without session reuse: %v, want both transfers refused (exit status 3)\n%s", err, out)
			}
			if !bytes.Contains(out, []byte("STOR")) || !bytes.Contains(out, []byte("RETR")) {
				t.Fatalf("not both transfers were refused:\n%s", out)
			}
			// ftpserverlib opens the file before the data connection, so the refused upload may leave it empty.
			if data, err := os.ReadFile(uploaded); err == nil && len(data) > 0 {
				t.Fatalf("the refused upload wrote %d bytes", len(data))
			}
			if data, _ := os.ReadFile(saved); len(data) > 0 {
				t.Fatalf("the refused download received %d bytes", len(data))
			}
		})

		t.Run("TLS "+version+" with session reuse", func(t *testing.T) {
			_ = os.Remove(uploaded)
			saved := filepath.Join(work, "with-"+version)
			if out, err := ftplib("reuse", version, saved); err != nil {
				t.Fatalf("ftplib resuming the control connection's session: %v\n%s", err, out)
			}
			sameFile(t, upload, uploaded)
			sameFile(t, upload, saved)
		})
	}
}

// TestCurlNoSessionID: curl --no-sessionid does not resume TLS sessions, so its data connections are refused
// both ways; without the option (TestCurl) the same transfers work.
func TestCurlNoSessionID(t *testing.T) {
	realclient.Require(t, "curl")
	ts := startServer(t)
	work := t.TempDir()
	local := filepath.Join(work, "payload.bin")
	content := payload.Random(300_000)
	if err := os.WriteFile(local, content, 0o600); err != nil {
		t.Fatal(err)
	}
	writeHomeFile(t, ts, "alice", "download.bin", content)
	base := fmt.Sprintf("ftp://alice:%s@127.0.0.1:%s/", passwords["alice"], portOf(t, ts.addr))
	curl := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		args = append([]string{"--silent", "--show-error", "--ssl-reqd", "--no-sessionid", "--cacert", ts.ca.CAFile,
			"--max-time", "20"}, args...)
		return exec.CommandContext(ctx, "curl", args...).CombinedOutput()
	}

	if out, err := curl("-T", local, base+"uploaded.bin"); err == nil {
		t.Fatalf("curl --no-sessionid uploaded:\n%s", out)
	}
	if data, err := os.ReadFile(filepath.Join(ts.home("alice"), "uploaded.bin")); err == nil && len(data) > 0 {
		t.Fatalf("the refused upload wrote %d bytes", len(data))
	}
	saved := filepath.Join(work, "saved.bin")
	if out, err := curl("-o", saved, base+"download.bin"); err == nil {
		t.Fatalf("curl --no-sessionid downloaded:\n%s", out)
	}
	if data, _ := os.ReadFile(saved); len(data) > 0 {
		t.Fatalf("the refused download received %d bytes", len(data))
	}
}
