#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, for make test-e2e-node (docs/testing.md):
#   hack/local-cluster.sh up            install containerd, runc, CNI plugins and iptables from Debian if missing, build
#                                       the Kubernetes components (hack/setup-envtest.sh --with-node, cached), start
#                                       what does not run yet, wait until the node is Ready; prints the kubeconfig
#   hack/local-cluster.sh load FILE...  import image archives (make images) into the node's containerd
#   hack/local-cluster.sh status        what runs, and what down would remove
#   hack/local-cluster.sh down          stop everything up started, restore the machine, check nothing is left
#                                       (--purge also removes /var/lib/pier-node: certificates, images, logs)
# Needs root. The work is done by hack/nodecluster (go run ./hack/nodecluster -h).
set -euo pipefail
cd "$(dirname "$0")/.."

build() {
  mkdir -p bin
  go build -o bin/nodecluster ./hack/nodecluster
}

case "${1:-}" in
  up)
    if [ "$(id -u)" -ne 0 ]; then
      echo "local-cluster: a node cannot run here: not root: a node needs root for containerd, iptables, mounts and cgroups (run it with sudo)" >&2
      exit 1
    fi
    hack/install-node-packages.sh
    assets=$(hack/setup-envtest.sh --with-node --with-kubectl)
    build
    exec bin/nodecluster up --bin "$assets" "${@:2}"
    ;;
  down|status|load|kubeconfig)
    build
    exec bin/nodecluster "$@"
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
