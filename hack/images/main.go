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

// Command images builds the pier-manager and pier-server container images without a Docker engine or a registry:
// it cross-compiles the static binaries, puts each on a small base layer equivalent to
// gcr.io/distroless/static:nonroot, and writes one multi-platform OCI archive per image (docs/images.md).
//
//	go run ./hack/images --registry ghcr.io/pier-dev --version 0.1.0 --out dist/images
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	o := options{}
	var platforms, epoch string
	flag.StringVar(&o.registry, "registry", "ghcr.io/pier-dev", "registry and namespace of the images")
	flag.StringVar(&o.version, "version", "dev", "the images' tag and version label")
	flag.StringVar(&o.revision, "revision", "", "the source revision (git commit) for the revision label")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated OS/ARCH pairs to build")
	flag.StringVar(&o.outDir, "out", "dist/images", "folder for the archives")
	flag.StringVar(&o.caBundle, "ca-bundle", defaultCABundle,
		"CA certificates copied into the images, as distroless has them; empty leaves them out")
	flag.StringVar(&epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"),
		"Unix time used for every timestamp in the images, so that a build is reproducible "+
			"(default $SOURCE_DATE_EPOCH, else 0)")
	flag.Parse()

	if err := run(&o, platforms, epoch); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(o *options, platforms, epoch string) error {
	var err error
	if o.platforms, err = parsePlatforms(platforms); err != nil {
		return err
	}
	seconds := int64(0)
	if epoch != "" {
		if seconds, err = strconv.ParseInt(epoch, 10, 64); err != nil {
			return fmt.Errorf("--source-date-epoch %q: %w", epoch, err)
		}
	}
	o.created = time.Unix(seconds, 0).UTC()
	if o.caBundle != "" {
		// A machine without Debian's ca-certificates still builds; the images then lack the bundle, as documented.
		if _, err := os.Stat(o.caBundle); err != nil {
			fmt.Fprintf(os.Stderr, "images: no CA bundle at %s, the images will have none: %v\n", o.caBundle, err)
			o.caBundle = ""
		}
	}
	o.images = pierImages(*o)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	results, err := build(ctx, *o)
	if err != nil {
		return err
	}
	for _, r := range results {
		fmt.Printf("%s\t%s\t%s\t%s\n", r.archive, r.ref, r.digest, strings.Join(platformNames(o.platforms), ","))
	}
	return nil
}
