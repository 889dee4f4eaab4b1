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
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set by the build: `make build`, hack/images and build/pier-server.Dockerfile pass
// -ldflags "-X main.version=VERSION -X main.commit=REVISION". Those builds use -buildvcs=false (the Dockerfile's
// build sees no .git), so the linker flags are the only source there.
var (
	version string
	commit  string
)

// build describes this binary.
type build struct {
	Version string
	Commit  string
}

// currentBuild is this binary's version and commit.
func currentBuild() build {
	info, _ := debug.ReadBuildInfo() // nil without module support, which resolveBuild handles
	return resolveBuild(version, commit, info)
}

// resolveBuild prefers the linker flags, then what the go command recorded (the module version of
// `go install ...@vX.Y.Z`, the VCS revision of a build in a git checkout), then "dev" and "unknown".
func resolveBuild(xVersion, xCommit string, info *debug.BuildInfo) build {
	b := build{Version: xVersion, Commit: xCommit}
	if info != nil {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		if b.Commit == "" {
			b.Commit = vcsRevision(info)
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// vcsRevision is the recorded VCS revision, marked -dirty when the working tree had changes.
func vcsRevision(info *debug.BuildInfo) string {
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision != "" && modified == "true" {
		revision += "-dirty"
	}
	return revision
}

// String is the line `pier-server version` and `pier-server --version` print.
func (b build) String() string {
	return fmt.Sprintf("pier-server %s (commit %s, %s, %s/%s)", b.Version, b.Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
