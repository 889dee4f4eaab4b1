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
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	cmd  string // FROM, COPY, ...
	args string
}

// TestDockerfiles checks build/<image>.Dockerfile against hack/images, since no Docker can build them here: the same
// entrypoint, user, working folder, labels, build flags and Go version, the Makefile's VERSION as the default, and
// every package of the command copied into the builder.
func TestDockerfiles(t *testing.T) {
	root, err := moduleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	version := makefileVersion(t, root)
	goVersion := goMinorVersion(t, root)
	// The Dockerfiles spell the manager's default server image with build arguments.
	specs := pierImages(options{registry: "${REGISTRY}", version: "${VERSION}", revision: "${REVISION}"})
	for _, spec := range specs {
		t.Run(spec.name, func(t *testing.T) {
			path := filepath.Join(root, "build", spec.name+".Dockerfile")
			stages := parseDockerfile(t, path)
			if len(stages) != 2 {
				t.Fatalf("%s: %d stages, want a builder and the final image", path, len(stages))
			}
			builder, final := stages[0], stages[1]
			checkBuilder(t, root, spec, builder, goVersion, version)
			checkFinal(t, spec, final, version)
		})
	}
}

// checkBuilder checks the builder stage: Go version, cross-compilation, the build command and the copied sources.
func checkBuilder(t *testing.T, root string, spec imageSpec, builder []instruction, goVersion, version string) {
	t.Helper()
	if want := "--platform=$BUILDPLATFORM golang:" + goVersion + " AS builder"; builder[0].args != want {
		t.Errorf("builder stage %q, want %q (go.mod's Go version)", builder[0].args, want)
	}
	checkBuildArgs(t, spec, builder, version)
	var run string
	for _, in := range builder {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			run = in.args
		}
	}
	out := "/out/" + filepath.Base(spec.binary)
	ldflags := "-s -w"
	for _, x := range spec.xflags {
		ldflags += " -X " + x
	}
	for _, want := range []string{
		"CGO_ENABLED=0", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH", "go build -trimpath -buildvcs=false",
		`-ldflags "` + ldflags + `"`, "-o " + out + " " + spec.pkg,
	} {
		if !strings.Contains(run, want) {
			t.Errorf("the go build step lacks %q:\n%s", want, run)
		}
	}

	// Every package of the command, and go.mod, must be copied in, or the Docker build breaks when a new folder is
	// imported.
	var sources []string
	for _, a := range args(builder, "COPY") {
		fields := strings.Fields(a)
		sources = append(sources, fields[:len(fields)-1]...)
	}
	for _, want := range []string{"go.mod", "go.sum"} {
		if !slices.Contains(sources, want) {
			t.Errorf("the builder does not copy %s", want)
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", spec.pkg)
	cmd.Dir = root
	list, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", spec.pkg, err)
	}
	for _, dir := range strings.Fields(string(list)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(sources, func(src string) bool {
			return strings.HasPrefix(filepath.ToSlash(rel)+"/", strings.TrimSuffix(src, "/")+"/")
		}) {
			t.Errorf("%s imports %s, which no COPY of the builder copies (%v)", spec.pkg, rel, sources)
		}
	}
}

// checkBuildArgs checks that every build argument the -X settings use is declared in the builder stage, VERSION
// with the Makefile's default and REVISION empty (as the final stage has them): an undeclared one is empty.
func checkBuildArgs(t *testing.T, spec imageSpec, builder []instruction, version string) {
	t.Helper()
	builderArgs := args(builder, "ARG")
	for _, x := range spec.xflags {
		if strings.Contains(x, "${VERSION}") && !slices.Contains(builderArgs, "VERSION="+version) {
			t.Errorf("builder stage has no ARG VERSION=%s (the Makefile's VERSION)", version)
		}
		if strings.Contains(x, "${REVISION}") && !slices.Contains(builderArgs, "REVISION=") {
			t.Errorf("builder stage has no ARG REVISION=")
		}
		if strings.Contains(x, "${REGISTRY}") && !slices.ContainsFunc(builderArgs, func(a string) bool { return strings.HasPrefix(a, "REGISTRY=") }) {
			t.Errorf("builder stage has no ARG REGISTRY=...")
		}
	}
}

// checkFinal checks the final stage against what hack/images writes into the image config.
func checkFinal(t *testing.T, spec imageSpec, final []instruction, version string) {
	t.Helper()
	if final[0].args != "gcr.io/distroless/static:nonroot" {
		t.Errorf("final stage FROM %q, want gcr.io/distroless/static:nonroot", final[0].args)
	}
	if got := args(final, "ENTRYPOINT"); !slices.Equal(got, []string{`["` + spec.binary + `"]`}) {
		t.Errorf("ENTRYPOINT %q, want [%q]", got, spec.binary)
	}
	if got := args(final, "CMD"); len(got) != 0 {
		t.Errorf("CMD %q: the images built by hack/images have none", got)
	}
	if got := args(final, "USER"); !slices.Equal(got, []string{nonroot}) {
		t.Errorf("USER %q, want %s", got, nonroot)
	}
	if got := args(final, "WORKDIR"); !slices.Equal(got, []string{workingDir}) {
		t.Errorf("WORKDIR %q, want %s", got, workingDir)
	}
	if got, want := args(final, "COPY"), "--from=builder /out/"+filepath.Base(spec.binary)+" "+spec.binary; !slices.Equal(got, []string{want}) {
		t.Errorf("COPY %q, want %q", got, want)
	}
	if !slices.Contains(args(final, "ARG"), "VERSION="+version) {
		t.Errorf("final stage has no ARG VERSION=%s (the Makefile's VERSION)", version)
	}
	labels := map[string]string{}
	for _, a := range args(final, "LABEL") {
		for _, m := range regexp.MustCompile(`([\w.]+)="([^"]*)"`).FindAllStringSubmatch(a, -1) {
			labels[m[1]] = m[2]
		}
	}
	want := map[string]string{
		labelTitle:       spec.name,
		labelDescription: spec.description,
		labelSource:      sourceURL,
		labelLicenses:    license,
		labelVersion:     "${VERSION}",
		labelRevision:    "${REVISION}",
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("LABEL %s=%q, want %q", k, labels[k], v)
		}
	}
	if len(labels) != len(want) {
		t.Errorf("LABELs %v, want exactly %v", labels, want)
	}
}

// parseDockerfile splits a Dockerfile into stages of instructions, without comments and with continuation lines
// joined.
func parseDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	var line string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || (l == "" && line == "") {
			continue
		}
		if rest, ok := strings.CutSuffix(l, `\`); ok {
			line += rest + " "
			continue
		}
		line += l
		cmd, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		line = ""
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(rest), " ")}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before the first FROM", path, in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

// args lists the arguments of every cmd instruction in a stage.
func args(stage []instruction, cmd string) []string {
	var out []string
	for _, in := range stage {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// makefileVersion is the Makefile's `VERSION ?= X`, the version `make images` tags.
func makefileVersion(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VERSION \?= (\S+)$`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatal("the Makefile sets no VERSION ?= ...")
	}
	return m[1]
}

// goMinorVersion is go.mod's Go version without the patch release (1.26), the golang image tag the builders use.
func goMinorVersion(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?$`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return m[1]
}

// TestMakeBuildSetsTheVersion: `make build` gives bin/pier-server the same -X settings as the images, so that
// `pier-server version` says the same thing however the binary was built.
func TestMakeBuildSetsTheVersion(t *testing.T) {
	root, err := moduleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	// -n prints the commands without running them.
	cmd := exec.Command("make", "--no-print-directory", "-n", "build", "VERSION=9.8.7-make", "REVISION=feedface")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n build: %v", err)
	}
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "go build") && strings.Contains(l, "./cmd/pier-server") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("make -n build runs no go build of ./cmd/pier-server:\n%s", out)
	}
	for _, spec := range pierImages(options{version: "9.8.7-make", revision: "feedface"}) {
		if spec.pkg != "./cmd/pier-server" {
			continue
		}
		for _, x := range spec.xflags {
			if !strings.Contains(line, "-X "+x) {
				t.Errorf("make build's %q lacks -X %s, which the image has", line, x)
			}
		}
	}
}
