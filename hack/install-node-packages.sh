#!/usr/bin/env bash
# Installs what hack/local-cluster.sh needs to run a real node on this machine, from Debian's packages when it is
# missing: containerd and runc (the container runtime), containernetworking-plugins (bridge, host-local, loopback in
# /usr/lib/cni) and iptables (kube-proxy's and the cluster's rules). The Kubernetes components themselves are built
# from the Go module proxy by hack/setup-envtest.sh --with-node. Needs root (or passwordless sudo), like
# hack/install-test-clients.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-packages.sh"

declare -A package_of=([containerd]=containerd [ctr]=containerd [runc]=runc [iptables]=iptables
  [ip6tables]=iptables [iptables-save]=iptables)
mapfile -t missing < <(packages_of_missing_commands package_of)
for plugin in bridge host-local loopback; do
  [ -x "/usr/lib/cni/$plugin" ] || missing+=(containernetworking-plugins)
done
install_packages install-node-packages "${missing[@]}"
