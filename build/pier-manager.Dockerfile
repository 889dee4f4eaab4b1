# syntax=docker/dockerfile:1
# The pier-manager image, for people with Docker (docs/images.md):
#   docker buildx build -f build/pier-manager.Dockerfile --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) -t ghcr.io/pier-dev/pier-manager:0.1.0 .
# `make images` builds the same image without Docker (hack/images); hack/images' tests check that this file and
# that builder agree on the entrypoint, user, labels, build flags and Go version.

# The builder runs on the build machine's own platform and cross-compiles: no emulation for other platforms.
FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
ARG REGISTRY=ghcr.io/pier-dev
ARG VERSION=0.1.0
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces github.com/pkg/sftp with the copy in third_party/ (third_party/README.md).
COPY third_party/ third_party/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
COPY server/ server/
# Static (no C library in the image), no local paths, stripped; the manager's default pier-server image is the one
# released with it.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.defaultServerImage=${REGISTRY}/pier-server:${VERSION}" \
    -o /out/manager ./cmd/manager

FROM gcr.io/distroless/static:nonroot
ARG VERSION=0.1.0
ARG REVISION=
LABEL org.opencontainers.image.title="pier-manager" \
      org.opencontainers.image.description="pier operator: runs SFTP, FTP and FTPS endpoints described by TransferEndpoint and TransferUser resources" \
      org.opencontainers.image.source="https://github.com/pier-dev/pier" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=builder /out/manager /manager
# distroless' nonroot image works in /home/nonroot; pier's images work in /, like the ones `make images` builds.
WORKDIR /
USER 65532:65532
ENTRYPOINT ["/manager"]
