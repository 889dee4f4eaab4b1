#!/usr/bin/env bash
# Prints the folder that holds the envtest control-plane binaries (etcd, kube-apiserver, and with
# --with-controller-manager kube-controller-manager, with --with-kubectl kubectl, with --with-node the node's
# components kube-scheduler, kubelet and kube-proxy for hack/local-cluster.sh), getting them the first way that works:
#   1. KUBEBUILDER_ASSETS, when it is set and already holds them;
#   2. the project cache bin/k8s/<version>-<os>-<arch>, then the per-machine cache under
#      ${XDG_CACHE_HOME:-~/.cache}/pier/envtest (so a fresh clone on the same machine does not rebuild);
#   3. setup-envtest's download (works on a machine with internet access);
#   4. a build from the Go module proxy: etcd from go.etcd.io/etcd/server/v3 and the Kubernetes components from
#      k8s.io/kubernetes (about 10 minutes on 2 cores the first time; the result is cached by version).
# Only the folder goes to stdout; progress goes to stderr, so `export KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh)` works.
set -euo pipefail

K8S_VERSION=${ENVTEST_K8S_VERSION:-1.37.2}
ETCD_VERSION=${ENVTEST_ETCD_VERSION:-3.7.0}
SETUP_ENVTEST_VERSION=${SETUP_ENVTEST_VERSION:-v0.25.1}
# Staging modules (k8s.io/api, client-go, ...) carry the same minor and patch as Kubernetes, with major 0.
STAGING_VERSION="v0.${K8S_VERSION#*.}"

WITH_KCM=false
WITH_KUBECTL=false
WITH_NODE=false
for arg in "$@"; do
  case "$arg" in
    --with-controller-manager) WITH_KCM=true ;;
    --with-kubectl) WITH_KUBECTL=true ;;
    --with-node) WITH_NODE=true ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) echo "setup-envtest: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PLATFORM="$(go env GOOS)-$(go env GOARCH)"
PROJECT_CACHE="$ROOT/bin/k8s/$K8S_VERSION-$PLATFORM"
MACHINE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/pier/envtest/$K8S_VERSION-etcd$ETCD_VERSION-$PLATFORM"

NEEDED=(etcd kube-apiserver)
$WITH_KCM && NEEDED+=(kube-controller-manager)
$WITH_KUBECTL && NEEDED+=(kubectl)
$WITH_NODE && NEEDED+=(kube-controller-manager kube-scheduler kubelet kube-proxy)

log() { printf 'setup-envtest: %s\n' "$*" >&2; }

# has_all DIR: true when DIR holds every needed binary, executable.
has_all() {
  local dir=$1 bin
  [ -n "$dir" ] && [ -d "$dir" ] || return 1
  for bin in "${NEEDED[@]}"; do [ -x "$dir/$bin" ] || return 1; done
}

# copy_into SRC DST: copies whatever binaries SRC has into DST (atomically per file).
copy_into() {
  local src=$1 dst=$2 bin
  mkdir -p "$dst"
  for bin in etcd kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet kube-proxy; do
    if [ -x "$src/$bin" ] && [ ! -x "$dst/$bin" ]; then
      # A hard link costs no space when both caches share a file system.
      { ln -f "$src/$bin" "$dst/.$bin.tmp" 2>/dev/null || cp "$src/$bin" "$dst/.$bin.tmp"; } && mv "$dst/.$bin.tmp" "$dst/$bin"
    fi
  done
}

done_with() {
  copy_into "$1" "$MACHINE_CACHE" 2>/dev/null || true
  echo "$1"
  exit 0
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ] && has_all "$KUBEBUILDER_ASSETS"; then
  echo "$KUBEBUILDER_ASSETS"; exit 0
fi
has_all "$PROJECT_CACHE" && done_with "$PROJECT_CACHE"

# One build at a time per project: a second caller waits for the first and then uses its result.
mkdir -p "$ROOT/bin"
exec 9>"$ROOT/bin/.setup-envtest.lock"
if ! flock -n 9; then
  log "another setup-envtest is running; waiting for it"
  flock 9
fi
has_all "$PROJECT_CACHE" && done_with "$PROJECT_CACHE"

if has_all "$MACHINE_CACHE"; then
  log "using this machine's cache $MACHINE_CACHE"
  copy_into "$MACHINE_CACHE" "$PROJECT_CACHE"
  done_with "$PROJECT_CACHE"
fi
# A partial machine cache (say, without kube-controller-manager) still saves building what it has.
[ -d "$MACHINE_CACHE" ] && copy_into "$MACHINE_CACHE" "$PROJECT_CACHE"

# 3. The usual way on a machine with internet access. setup-envtest has no kube-controller-manager and no node.
if ! $WITH_KCM && ! $WITH_NODE && [ "${ENVTEST_SKIP_DOWNLOAD:-}" != "1" ]; then
  log "trying setup-envtest $SETUP_ENVTEST_VERSION download of Kubernetes $K8S_VERSION"
  if dir=$(timeout 300 go run "sigs.k8s.io/controller-runtime/tools/setup-envtest@$SETUP_ENVTEST_VERSION" \
      use "$K8S_VERSION" --bin-dir "$ROOT/bin/setup-envtest" -p path 2>/tmp/setup-envtest.$$.log) && has_all "$dir"; then
    rm -f /tmp/setup-envtest.$$.log
    copy_into "$dir" "$PROJECT_CACHE"
    done_with "$PROJECT_CACHE"
  fi
  log "download failed ($(tail -n 1 /tmp/setup-envtest.$$.log 2>/dev/null | cut -c1-160)); building from module source"
  rm -f /tmp/setup-envtest.$$.log
fi

# 4. Build from module source through the Go module proxy.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pier-envtest.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
export GOFLAGS=-mod=mod CGO_ENABLED=0

log "downloading k8s.io/kubernetes@v$K8S_VERSION source"
K8S_DIR=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$K8S_DIR" ] || { log "could not download k8s.io/kubernetes@v$K8S_VERSION from the Go module proxy"; exit 1; }

# The module's go.mod points staging repos at ./staging; point them at the published modules instead.
rewrite_gomod() {
  sed -E -i "s#^([[:space:]]*k8s\.io/[a-z0-9-]+) => \./staging/src/k8s\.io/[a-z0-9-]+#\1 => \1 $STAGING_VERSION#" "$1"
}

build_etcd() {
  local dir="$WORK/etcd"
  mkdir -p "$dir"
  cp "$K8S_DIR/go.mod" "$K8S_DIR/go.sum" "$dir/"
  chmod u+w "$dir/go.mod" "$dir/go.sum"
  sed -i 's#^module k8s.io/kubernetes$#module pier.dev/envtest-etcd#' "$dir/go.mod"
  rewrite_gomod "$dir/go.mod"
  cat >"$dir/main.go" <<'GO'
// Command etcd is etcd's own main, built from the Go module proxy for envtest.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2 && go build -trimpath -o "$PROJECT_CACHE/.etcd.tmp" .) &&
    mv "$PROJECT_CACHE/.etcd.tmp" "$PROJECT_CACHE/etcd"
}

mkdir -p "$PROJECT_CACHE"
if [ ! -x "$PROJECT_CACHE/etcd" ]; then
  log "building etcd v$ETCD_VERSION (about a minute)"
  build_etcd || { log "building etcd failed; see the errors above"; exit 1; }
fi

SRC="$WORK/kubernetes"
prepare_source() {
  [ -d "$SRC" ] && return 0
  log "preparing a writable copy of the Kubernetes source"
  cp -r "$K8S_DIR" "$SRC"
  chmod -R u+w "$SRC"
  rm -rf "$SRC/go.work" "$SRC/go.work.sum" "$SRC/vendor"
  rewrite_gomod "$SRC/go.mod"
}

# The version the binaries report (the API server's /version, kubectl version), which Kubernetes' own build sets with
# these flags: without them a source build reports v0.0.0-master, and `helm install` refuses charts/pier, whose
# kubeVersion asks for 1.31 or later. (Binaries cached before this line report v0.0.0-master; test/chart copes.)
K8S_LDFLAGS="-X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*}"
K8S_LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"

# kube-apiserver first: the others then reuse most of its build cache (1-2 minutes each).
for component in kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet kube-proxy; do
  [[ " ${NEEDED[*]} " == *" $component "* ]] || continue
  [ -x "$PROJECT_CACHE/$component" ] && continue
  prepare_source
  log "building $component v$K8S_VERSION (kube-apiserver takes about 10 minutes cold on 2 cores; cached afterwards)"
  start=$SECONDS
  # A heartbeat so CI logs show progress during the long, quiet build.
  ( while sleep 60; do log "  still building $component ($((SECONDS - start)) s)"; done ) &
  beat=$!
  if ! (cd "$SRC" && go build -trimpath -ldflags "$K8S_LDFLAGS" -o "$PROJECT_CACHE/.$component.tmp" "./cmd/$component"); then
    kill "$beat" 2>/dev/null
    log "building $component failed; see the errors above"
    exit 1
  fi
  kill "$beat" 2>/dev/null
  mv "$PROJECT_CACHE/.$component.tmp" "$PROJECT_CACHE/$component"
  log "built $component in $((SECONDS - start)) s"
done

has_all "$PROJECT_CACHE" || { log "binaries missing in $PROJECT_CACHE after the build"; exit 1; }
done_with "$PROJECT_CACHE"
