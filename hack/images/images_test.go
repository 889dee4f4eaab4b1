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
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/pier-dev/pier/hack/images/oci"
)

// testOptions are what `make images` passes, with a registry and version of the test's own so that nothing can
// pass by matching the Makefile's defaults.
func testOptions(t *testing.T, platforms ...v1.Platform) options {
	t.Helper()
	o := options{
		registry:  "registry.example.test/pier-test",
		version:   "1.2.3-test",
		revision:  "0123456789abcdef0123456789abcdef01234567",
		platforms: platforms,
		created:   time.Unix(1767225600, 0).UTC(), // 2026-01-01
		outDir:    t.TempDir(),
	}
	if _, err := os.Stat(defaultCABundle); err == nil {
		o.caBundle = defaultCABundle
	}
	return o
}

// TestImages builds the real images for this machine's architecture, as `make images` does for each platform,
// inspects everything a node and a registry look at, runs the binaries taken out of the images, and builds a second
// time to show that the archives are byte for byte the same. Only the host architecture: cross-compiling the
// manager for another one costs minutes on a cold cache, and TestMultiPlatform covers the index with a small binary.
func TestImages(t *testing.T) {
	host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	o := testOptions(t, host)
	o.images = pierImages(o)
	start := time.Now()
	results, err := build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d images for %s in %s", len(results), platformNames(o.platforms), time.Since(start).Round(time.Millisecond))
	if len(results) != 2 {
		t.Fatalf("got %d results, want 2", len(results))
	}

	binaries := map[string][]byte{}
	for i, r := range results {
		spec := o.images[i]
		wantArchive := filepath.Join(o.outDir, spec.name+"-1.2.3-test.tar")
		if r.archive != wantArchive {
			t.Errorf("%s: archive %s, want %s", spec.name, r.archive, wantArchive)
		}
		imgs := checkArchive(t, o, spec, r)
		binaries[spec.name] = imgs[host.Architecture].binary
	}

	// The binaries are the real commands: the server prints its usage, and the manager's default server image is
	// the pier-server image built with it.
	if runtime.GOOS == "linux" {
		out := runBinary(t, binaries["pier-server"], "pier-server", "--help")
		if !strings.Contains(out, "pier-server serves SFTP, FTP and FTPS.") || !strings.Contains(out, "pier-server serve --config FILE") {
			t.Errorf("pier-server --help from the image printed:\n%s", out)
		}
		out = runBinary(t, binaries["pier-server"], "pier-server", "version")
		if !strings.HasPrefix(out, "pier-server "+o.version+" (commit "+o.revision+",") {
			t.Errorf("pier-server version from the image printed %q, want version %s and commit %s", out, o.version, o.revision)
		}
		out = runBinary(t, binaries["pier-manager"], "manager", "--help")
		if !strings.Contains(out, "-server-image") || !strings.Contains(out, `"registry.example.test/pier-test/pier-server:1.2.3-test"`) {
			t.Errorf("manager --help from the image does not default --server-image to the built pier-server image:\n%s", out)
		}
	}

	// Reproducible: a second build elsewhere gives the same digests and the same archive bytes.
	first := o.outDir
	o.outDir = t.TempDir()
	again, err := build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range results {
		if results[i].digest != again[i].digest {
			t.Errorf("%s: digest %s, then %s", results[i].name, results[i].digest, again[i].digest)
		}
		a, b := fileSHA256(t, results[i].archive), fileSHA256(t, again[i].archive)
		if a != b {
			t.Errorf("%s: archive sha256 %s in %s, then %s", results[i].name, a, first, b)
		}
	}
}

// TestMultiPlatform builds a multi-platform image (a small stand-in binary, same code path) and checks the index:
// both platforms, each with its own binary for its own machine, over one shared base layer.
func TestMultiPlatform(t *testing.T) {
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := v1.Platform{OS: "linux", Architecture: "arm64"}
	o := testOptions(t, amd64, arm64)
	o.images = []imageSpec{{name: "pier-fake", pkg: "./hack/images/testdata/fakebin", binary: "/fake", description: "a test"}}
	results, err := build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	imgs := checkArchive(t, o, o.images[0], results[0])
	if len(imgs) != 2 {
		t.Fatalf("%d platforms in the index, want 2", len(imgs))
	}
	if imgs["amd64"].layers[0] != imgs["arm64"].layers[0] {
		t.Errorf("the base layer differs between platforms: %s and %s", imgs["amd64"].layers[0], imgs["arm64"].layers[0])
	}
	if imgs["amd64"].layers[1] == imgs["arm64"].layers[1] {
		t.Errorf("both platforms have the same binary layer %s", imgs["amd64"].layers[1])
	}
	if runtime.GOOS == "linux" {
		if out := runBinary(t, imgs[runtime.GOARCH].binary, "fake"); out != "fakebin\n" {
			t.Errorf("the host platform's binary printed %q", out)
		}
	}
}

// builtImage is what checkArchive found for one platform.
type builtImage struct {
	binary []byte
	layers []v1.Hash
}

// checkArchive reads r's archive the way a node does and checks the image of spec on every platform of o.
func checkArchive(t *testing.T, o options, spec imageSpec, r result) map[string]builtImage {
	t.Helper()
	archive, err := oci.ReadArchive(r.archive, t.TempDir())
	if err != nil {
		t.Fatalf("%s: %v", spec.name, err)
	}

	// index.json names the image for containerd (full name) and for OCI tools (tag).
	wantRef := "registry.example.test/pier-test/" + spec.name + ":1.2.3-test"
	desc := archive.Descriptor
	if desc.Digest != r.digest || desc.Annotations[oci.AnnotationImageName] != wantRef || desc.Annotations[oci.AnnotationRefName] != "1.2.3-test" {
		t.Errorf("%s: index.json describes %+v, want an image index %s named %s", spec.name, desc, r.digest, wantRef)
	}
	if r.ref != wantRef {
		t.Errorf("%s: ref %s, want %s", spec.name, r.ref, wantRef)
	}
	idx := archive.Index
	// Every blob is there with the size and digest its descriptor says, layers decompress to their diff IDs.
	if err := validate.Index(idx); err != nil {
		t.Fatalf("%s: %v", spec.name, err)
	}
	labels := map[string]string{
		labelTitle:       spec.name,
		labelDescription: spec.description,
		labelSource:      "https://github.com/pier-dev/pier",
		labelLicenses:    "Apache-2.0",
		labelVersion:     "1.2.3-test",
		labelRevision:    o.revision,
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(im.Annotations, labels) {
		t.Errorf("%s: index annotations %v, want %v", spec.name, im.Annotations, labels)
	}

	found := map[string]builtImage{}
	platforms := make([]string, 0, len(im.Manifests))
	for _, m := range im.Manifests {
		if m.Platform == nil {
			t.Fatalf("%s: manifest %s has no platform", spec.name, m.Digest)
		}
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		found[m.Platform.Architecture] = checkImage(t, o, spec, *m.Platform, labels, img)
	}
	if want := platformNames(o.platforms); !slices.Equal(platforms, want) {
		t.Errorf("%s: platforms %v, want %v", spec.name, platforms, want)
	}
	return found
}

// checkImage checks one platform's image: config, base files and the binary.
func checkImage(t *testing.T, o options, spec imageSpec, p v1.Platform, labels map[string]string, img v1.Image) builtImage {
	t.Helper()
	what := spec.name + " " + p.OS + "/" + p.Architecture
	mt, err := img.MediaType()
	if err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("%s: manifest media type %s (%v)", what, mt, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, what, o, spec, p, labels, cf)

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("%s: %d layers, want base and binary", what, len(layers))
	}
	digests := make([]v1.Hash, 0, len(layers))
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	files := readFiles(t, o, layers)
	checkBaseFiles(t, what, o, files)
	return builtImage{binary: checkBinary(t, what, spec, p, files), layers: digests}
}

// checkConfig checks what the runtime uses: platform, entrypoint, non-root user, working folder, environment, and
// the labels and fixed creation time.
func checkConfig(t *testing.T, what string, o options, spec imageSpec, p v1.Platform, labels map[string]string, cf *v1.ConfigFile) {
	t.Helper()
	if cf.OS != p.OS || cf.Architecture != p.Architecture {
		t.Errorf("%s: config says %s/%s", what, cf.OS, cf.Architecture)
	}
	if !cf.Created.Equal(o.created) {
		t.Errorf("%s: created %s, want the fixed %s", what, cf.Created, o.created)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{spec.binary}) || len(c.Cmd) != 0 {
		t.Errorf("%s: entrypoint %q and cmd %q, want [%s] and none", what, c.Entrypoint, c.Cmd, spec.binary)
	}
	uid, gid, ok := strings.Cut(c.User, ":")
	if c.User != "65532:65532" || !ok || uid == "0" || gid == "0" {
		t.Errorf("%s: user %q, want the non-root 65532:65532", what, c.User)
	}
	if c.WorkingDir != "/" {
		t.Errorf("%s: working dir %q", what, c.WorkingDir)
	}
	wantEnv := []string{envPath}
	if o.caBundle != "" {
		wantEnv = append(wantEnv, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt")
	}
	if !slices.Equal(c.Env, wantEnv) {
		t.Errorf("%s: env %q, want %q", what, c.Env, wantEnv)
	}
	if !maps.Equal(c.Labels, labels) {
		t.Errorf("%s: labels %v, want %v", what, c.Labels, labels)
	}
}

// checkBaseFiles checks the distroless-like base: users, /tmp, the nonroot home and the CA bundle.
func checkBaseFiles(t *testing.T, what string, o options, files map[string]file) {
	t.Helper()
	checkFile(t, what, files, "etc/passwd", tar.TypeReg, 0o644, 0)
	if !strings.Contains(string(files["etc/passwd"].data), "\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") ||
		!strings.HasPrefix(string(files["etc/passwd"].data), "root:x:0:0:") {
		t.Errorf("%s: /etc/passwd lacks root or nonroot 65532:\n%s", what, files["etc/passwd"].data)
	}
	checkFile(t, what, files, "etc/group", tar.TypeReg, 0o644, 0)
	if !strings.Contains(string(files["etc/group"].data), "\nnonroot:x:65532:\n") {
		t.Errorf("%s: /etc/group lacks nonroot 65532:\n%s", what, files["etc/group"].data)
	}
	checkFile(t, what, files, "tmp", tar.TypeDir, 0o1777, 0)
	checkFile(t, what, files, "home/nonroot", tar.TypeDir, 0o700, 65532)
	if o.caBundle != "" {
		checkFile(t, what, files, "etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, 0)
		want, err := os.ReadFile(o.caBundle)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(files["etc/ssl/certs/ca-certificates.crt"].data, want) {
			t.Errorf("%s: the CA bundle differs from %s", what, o.caBundle)
		}
	}
}

// checkBinary checks that the binary is root's, executable by all (0755), and a static ELF for the platform's
// machine, and returns it.
func checkBinary(t *testing.T, what string, spec imageSpec, p v1.Platform, files map[string]file) []byte {
	t.Helper()
	bin := strings.TrimPrefix(spec.binary, "/")
	checkFile(t, what, files, bin, tar.TypeReg, 0o755, 0)
	data := files[bin].data
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %s is not an ELF file: %v", what, spec.binary, err)
	}
	wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Architecture]
	if wantMachine != 0 && f.Machine != wantMachine {
		t.Errorf("%s: %s is for %s, want %s", what, spec.binary, f.Machine, wantMachine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: %s is dynamically linked (%s): the image has no C library", what, spec.binary, prog.Type)
		}
	}
	return data
}

// file is one path of an image's flattened file system.
type file struct {
	hdr  *tar.Header
	data []byte
}

// readFiles flattens layers in order (later layers win, as on a node) and checks that every entry carries the
// fixed time.
func readFiles(t *testing.T, o options, layers []v1.Layer) map[string]file {
	t.Helper()
	files := map[string]file{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if !hdr.ModTime.Equal(o.created) {
				t.Errorf("%s has time %s, want the fixed %s", hdr.Name, hdr.ModTime, o.created)
			}
			files[strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")] = file{hdr: hdr, data: data}
		}
		_ = rc.Close()
	}
	return files
}

func checkFile(t *testing.T, what string, files map[string]file, path string, typ byte, mode int64, owner int) {
	t.Helper()
	f, ok := files[path]
	if !ok {
		t.Errorf("%s: /%s is missing", what, path)
		return
	}
	if f.hdr.Typeflag != typ || f.hdr.Mode != mode || f.hdr.Uid != owner || f.hdr.Gid != owner {
		t.Errorf("%s: /%s is type %c mode %o owner %d:%d, want type %c mode %o owner %d:%d", what, path,
			f.hdr.Typeflag, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid, typ, mode, owner, owner)
	}
}

// runBinary writes data as an executable and runs it with args, returning its output.
func runBinary(t *testing.T, data []byte, name string, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
