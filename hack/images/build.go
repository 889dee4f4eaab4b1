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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/pier-dev/pier/hack/images/oci"
)

// What every image is. build/*.Dockerfile say the same, and the tests check that they do.
const (
	// nonroot is distroless' nonroot user and group; the operator's pods run as this uid too.
	nonroot    = "65532:65532"
	workingDir = "/"
	// envPath is distroless' PATH; nothing else is in these images, but tools like kubectl debug expect one.
	envPath         = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	defaultCABundle = "/etc/ssl/certs/ca-certificates.crt"
	sourceURL       = "https://github.com/pier-dev/pier"
	license         = "Apache-2.0"
)

// OCI label (and annotation) keys: https://github.com/opencontainers/image-spec/blob/main/annotations.md
const (
	labelTitle       = "org.opencontainers.image.title"
	labelDescription = "org.opencontainers.image.description"
	labelSource      = "org.opencontainers.image.source"
	labelLicenses    = "org.opencontainers.image.licenses"
	labelVersion     = "org.opencontainers.image.version"
	labelRevision    = "org.opencontainers.image.revision"
)

// options says what to build; main fills it from flags, the tests directly.
type options struct {
	registry  string // e.g. ghcr.io/pier-dev; an image is registry/name:version
	version   string
	revision  string
	platforms []v1.Platform
	created   time.Time // every timestamp in the images: reproducible builds
	outDir    string
	caBundle  string // file copied to /etc/ssl/certs/ca-certificates.crt; "" leaves it out
	images    []imageSpec
}

// imageSpec is one image: one Go command at one path.
type imageSpec struct {
	name        string // image name, e.g. pier-manager
	pkg         string // Go package relative to the module root, e.g. ./cmd/manager
	binary      string // absolute path in the image, which is also the entrypoint
	description string
	xflags      []string // extra -ldflags -X settings
}

// result is one written archive.
type result struct {
	name    string
	ref     string // registry/name:version
	archive string // the file
	digest  v1.Hash
}

// pierImages are the project's two images. The manager's default --server-image is set to the pier-server image
// built with it, so that the pair works together without flags; pier-server knows its version and commit.
func pierImages(o options) []imageSpec {
	return []imageSpec{
		{
			name:        "pier-manager",
			pkg:         "./cmd/manager",
			binary:      "/manager",
			description: "pier operator: runs SFTP, FTP and FTPS endpoints described by TransferEndpoint and TransferUser resources",
			xflags:      []string{"main.defaultServerImage=" + o.ref("pier-server")},
		},
		{
			name:        "pier-server",
			pkg:         "./cmd/pier-server",
			binary:      "/pier-server",
			description: "pier-server: the SFTP, FTP and FTPS server that the pier operator deploys",
			// What `pier-server version` prints and logs at start (cmd/pier-server/version.go).
			xflags: []string{"main.version=" + o.version, "main.commit=" + o.revision},
		},
	}
}

// ref is the image reference of image name, e.g. ghcr.io/pier-dev/pier-server:0.1.0.
func (o options) ref(image string) string {
	return strings.TrimSuffix(o.registry, "/") + "/" + image + ":" + o.version
}

// build compiles every image's binary for every platform and writes one archive per image into o.outDir.
func build(ctx context.Context, o options) ([]result, error) {
	if len(o.platforms) == 0 || len(o.images) == 0 {
		return nil, fmt.Errorf("nothing to build: %d platforms, %d images", len(o.platforms), len(o.images))
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "pier-images-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(work) }()
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return nil, err
	}
	// One base layer for every image and platform: it holds no binaries, so registries and nodes store it once.
	base, err := baseLayer(o.created, o.caBundle)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}

	results := make([]result, 0, len(o.images))
	for _, spec := range o.images {
		r, err := buildImage(ctx, o, spec, root, work, base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.name, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// buildImage builds one image for every platform as an OCI image index and writes its archive.
func buildImage(ctx context.Context, o options, spec imageSpec, root, work string, base v1.Layer) (result, error) {
	ref, err := containerdName(o.ref(spec.name))
	if err != nil {
		return result{}, err
	}
	labels := map[string]string{
		labelTitle:       spec.name,
		labelDescription: spec.description,
		labelSource:      sourceURL,
		labelLicenses:    license,
		labelVersion:     o.version,
		labelRevision:    o.revision,
	}
	images := make([]v1.Image, 0, len(o.platforms))
	for _, p := range o.platforms {
		bin := filepath.Join(work, fmt.Sprintf("%s-%s-%s", spec.name, p.OS, p.Architecture))
		if err := compile(ctx, root, spec, p, bin); err != nil {
			return result{}, err
		}
		img, err := platformImage(o, spec, p, labels, base, bin)
		if err != nil {
			return result{}, fmt.Errorf("%s: %w", p, err)
		}
		images = append(images, img)
	}
	idx, err := oci.Index(images...)
	if err != nil {
		return result{}, err
	}
	// The labels go on the index too: registries show an index's annotations for a multi-platform tag.
	idx = mutate.Annotations(idx, labels).(v1.ImageIndex)

	archive := filepath.Join(o.outDir, spec.name+"-"+o.version+".tar")
	if err := oci.WriteArchive(archive, idx, ref, o.created); err != nil {
		return result{}, err
	}
	digest, err := idx.Digest()
	if err != nil {
		return result{}, err
	}
	return result{name: spec.name, ref: ref, archive: archive, digest: digest}, nil
}

// platformImage is the image of one platform: the base layer, the binary layer and the config.
func platformImage(o options, spec imageSpec, p v1.Platform, labels map[string]string, base v1.Layer, bin string) (v1.Image, error) {
	binLayer, err := binaryLayer(o.created, spec.binary, bin)
	if err != nil {
		return nil, err
	}
	env := []string{envPath}
	if o.caBundle != "" {
		// As in distroless: Go finds the bundle on its own, other runtimes and tools look here.
		env = append(env, "SSL_CERT_FILE="+caBundlePath)
	}
	cfg := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Created:      v1.Time{Time: o.created},
		Config: v1.Config{
			Entrypoint: []string{spec.binary},
			User:       nonroot,
			WorkingDir: workingDir,
			Env:        env,
			Labels:     labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	return oci.Image(cfg,
		mutate.Addendum{Layer: base, History: v1.History{
			Created:   v1.Time{Time: o.created},
			CreatedBy: "pier hack/images: base files like distroless/static:nonroot (passwd, group, /tmp, CA certificates)",
		}},
		mutate.Addendum{Layer: binLayer, History: v1.History{
			Created:   v1.Time{Time: o.created},
			CreatedBy: fmt.Sprintf("pier hack/images: CGO_ENABLED=0 GOOS=%s GOARCH=%s go build %s -> %s", p.OS, p.Architecture, spec.pkg, spec.binary),
		}},
	)
}

// compile builds spec's command for platform p into out: static, without local paths, stripped.
func compile(ctx context.Context, root string, spec imageSpec, p v1.Platform, out string) error {
	ldflags := make([]string, 0, 2+2*len(spec.xflags))
	ldflags = append(ldflags, "-s", "-w")
	for _, x := range spec.xflags {
		ldflags = append(ldflags, "-X", x)
	}
	// -buildvcs=false: the revision is a label, and the Dockerfiles' builds, which see no .git, give the same binary.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", strings.Join(ldflags, " "), "-o", out, spec.pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s: %w\n%s", spec.pkg, p, err, output)
	}
	return nil
}

// moduleRoot is the folder of the main module's go.mod, where package paths like ./cmd/manager resolve.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the pier module")
	}
	return filepath.Dir(gomod), nil
}

// parsePlatforms parses "linux/amd64,linux/arm64". Variants (arm/v7) are refused: pier ships 64-bit images only,
// and a variant would need GOARM and friends.
func parsePlatforms(s string) ([]v1.Platform, error) {
	var platforms []v1.Platform
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		osName, arch, ok := strings.Cut(part, "/")
		if !ok || osName == "" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("platform %q: want OS/ARCH, like linux/amd64", part)
		}
		if seen[part] {
			return nil, fmt.Errorf("platform %q given twice", part)
		}
		seen[part] = true
		platforms = append(platforms, v1.Platform{OS: osName, Architecture: arch})
	}
	if len(platforms) == 0 {
		return nil, fmt.Errorf("no platforms given")
	}
	return platforms, nil
}

func platformNames(platforms []v1.Platform) []string {
	names := make([]string, 0, len(platforms))
	for _, p := range platforms {
		names = append(names, p.OS+"/"+p.Architecture)
	}
	return names
}

// containerdName is ref as containerd and the kubelet name images: fully qualified, so an image on Docker Hub is
// docker.io/NAMESPACE/NAME:TAG. A pod's image field is normalized the same way before the lookup.
func containerdName(ref string) (string, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	registry := tag.RegistryStr()
	if registry == name.DefaultRegistry {
		registry = "docker.io"
	}
	return registry + "/" + tag.RepositoryStr() + ":" + tag.TagStr(), nil
}
