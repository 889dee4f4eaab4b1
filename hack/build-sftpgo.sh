#!/usr/bin/env bash
# Prints the path of an SFTPGo binary, the third peer of `make bench` (bench/), building it once per machine from
# its Go module: a scratch module that requires github.com/drakkan/sftpgo/v2 at SFTPGO_VERSION, with SFTPGo's own
# replace block (its forks of x/crypto, ftpserverlib, jlaffaye/ftp and cron) and go.sum copied in, built with
# CGO_ENABLED=0 and the build tags that leave out the cloud back ends and SQL providers (about 7 minutes on 2
# cores). The result is cached in ${XDG_CACHE_HOME:-~/.cache}/pier/sftpgo/<version>/sftpgo.
# Only the path goes to stdout; progress goes to stderr. Exits 1, saying why, when the build fails.
set -euo pipefail

SFTPGO_VERSION=${SFTPGO_VERSION:-v2.6.4}
SFTPGO_TAGS=${SFTPGO_TAGS:-nogcs,nos3,noazblob,nobolt,nomysql,nopgsql,nosqlite,nometrics}
MODULE=github.com/drakkan/sftpgo/v2

case "${1:-}" in
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  "") ;;
  *) echo "build-sftpgo: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/pier/sftpgo/$SFTPGO_VERSION"
BIN="$CACHE/sftpgo"
log() { printf 'build-sftpgo: %s\n' "$*" >&2; }

if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

mkdir -p "$CACHE"
# One build at a time per machine: a second caller waits for the first and then uses its result.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  log "another build of SFTPGo $SFTPGO_VERSION is running; waiting for it"
  flock 9
fi
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

log "building SFTPGo $SFTPGO_VERSION from the Go module proxy (about 7 minutes on 2 cores; cached in $CACHE)"
src=$(go mod download -json "$MODULE@$SFTPGO_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
  log "go mod download $MODULE@$SFTPGO_VERSION gave no source folder"
  exit 1
fi

work="$CACHE/module"
rm -rf "$work"
mkdir -p "$work"
{
  echo "module pier.dev/bench/sftpgo"
  echo
  echo "go $(sed -n 's/^go //p' "$src/go.mod")"
  echo
  echo "require $MODULE $SFTPGO_VERSION"
  echo
  # SFTPGo's replace block: without its forks it does not compile.
  sed -n '/^replace (/,/^)/p' "$src/go.mod"
} >"$work/go.mod"
cp "$src/go.sum" "$work/go.sum"
chmod u+w "$work/go.sum"
# main.go of the scratch module just runs SFTPGo's main package, which cannot be imported: build it by path.
if ! (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -tags "$SFTPGO_TAGS" -o "$BIN.tmp" "$MODULE" >&2); then
  log "SFTPGo $SFTPGO_VERSION did not build (tags $SFTPGO_TAGS); make bench runs without it"
  rm -f "$BIN.tmp"
  exit 1
fi
mv "$BIN.tmp" "$BIN"
log "built $BIN"
echo "$BIN"
