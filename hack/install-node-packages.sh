#!/usr/bin/env bash
# Installs what hack/local-cluster.sh needs to run a real node on this machine, from Debian's packages when it is
# missing: containerd and runc (the container runtime), containernetworking-plugins (bridge, host-local, loopback in
# /usr/lib/cni) and iptables (kube-proxy's and the cluster's rules). The Kubernetes components themselves are built
# from the Go module proxy by hack/setup-envtest.sh --with-node. Needs root (or passwordless sudo), like
# hack/install-test-clients.sh.
set -euo pipefail

declare -A package_of=([containerd]=containerd [ctr]=containerd [runc]=runc [iptables]=iptables
  [ip6tables]=iptables [iptables-save]=iptables)
missing=()
for cmd in "${!package_of[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${package_of[$cmd]}")
done
for plugin in bridge host-local loopback; do
  [ -x "/usr/lib/cni/$plugin" ] || missing+=(containernetworking-plugins)
done
[ ${#missing[@]} -eq 0 ] && exit 0

mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "install-node-packages: installing ${packages[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
