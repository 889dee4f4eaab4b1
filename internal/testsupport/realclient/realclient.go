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

// Package realclient lets tests drive real client programs (OpenSSH sftp and scp, sshpass, curl, lftp, rclone,
// Python's ftplib).
package realclient

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of each named program. A missing program fails the test when PIER_REQUIRE_CLIENTS=1
// (set by `make test`, whose set-up installs them) and skips it otherwise, naming the script that installs them.
func Require(t testing.TB, programs ...string) []string {
	t.Helper()
	paths := make([]string, 0, len(programs))
	for _, p := range programs {
		path, err := exec.LookPath(p)
		if err != nil {
			msg := p + " is not installed; run hack/install-test-clients.sh (make test does)"
			if os.Getenv("PIER_REQUIRE_CLIENTS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		paths = append(paths, path)
	}
	return paths
}
