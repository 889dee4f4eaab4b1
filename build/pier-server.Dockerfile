# syntax=docker/dockerfile:1
# The pier-server image, for people with Docker (docs/images.md):
#   docker buildx build -f build/pier-server.Dockerfile --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) -t ghcr.io/pier-dev/pier-server:0.1.0 .
# `make images` builds the same image without Docker (hack/images); hack/images' tests check that this file and
# that builder agree on the entrypoint, user, labels, build flags and Go version.

# The builder runs on the build machine's own platform and cross-compiles: no emulation for other platforms.
FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces github.com/pkg/sftp with the copy in third_party/ (third_party/README.md).
COPY third_party/ third_party/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd/ cmd/
COPY internal/ internal/
COPY server/ server/
# Declared here, not above: a RUN after an ARG misses the cache when the value changes, and REVISION changes with
# every commit.
ARG VERSION=0.1.0
ARG REVISION=
# Static (no C library in the image), no local paths, stripped; `pier-server version` says VERSION and REVISION.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${REVISION}" \
    -o /out/pier-server ./cmd/pier-server

FROM gcr.io/distroless/static:nonroot
ARG VERSION=0.1.0
ARG REVISION=
LABEL org.opencontainers.image.title="pier-server" \
      org.opencontainers.image.description="pier-server: the SFTP, FTP and FTPS server that the pier operator deploys" \
      org.opencontainers.image.source="https://github.com/pier-dev/pier" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=builder /out/pier-server /pier-server
# The operator's pods give only arguments (serve ...): the entrypoint is the server. distroless' nonroot image works
# in /home/nonroot; pier's images work in /, like the ones `make images` builds.
WORKDIR /
USER 65532:65532
ENTRYPOINT ["/pier-server"]
