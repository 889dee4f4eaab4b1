#!/usr/bin/env bash
# Installs the peer servers `make bench` (bench/) measures pier-server against, from Debian's packages when they are
# missing: OpenSSH's sshd and sftp-server (openssh-server), vsftpd, and openssl, whose `speed` measures the
# libcrypto ciphers OpenSSH uses (the ceiling rows). The bench runs each under a private
# configuration on a 127.0.0.1 high port; the packages' own services are not wanted, so none is started here.
# The clients the bench drives (sftp, sshpass, curl) come from hack/install-test-clients.sh. Needs root (as on CI
# and the project's machines) or passwordless sudo.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-packages.sh"

declare -A package_of=([sshd]=openssh-server [vsftpd]=vsftpd [openssl]=openssl)
# sshd and vsftpd live in /usr/sbin, which a non-root PATH may lack.
PATH="$PATH:/usr/sbin"
mapfile -t missing < <(packages_of_missing_commands package_of)
[ -x /usr/lib/openssh/sftp-server ] || missing+=(openssh-server)
[ ${#missing[@]} -eq 0 ] && exit 0

# A package's postinst starts its service (sshd on port 22, vsftpd on port 21, on every address) unless
# policy-rc.d says no. Container images usually have one that does; where there is none, one is put in place for
# the install only.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  printf '#!/bin/sh\n# put here by pier hack/install-bench-peers.sh during an install; removed after it\nexit 101\n' |
    $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
install_packages install-bench-peers "${missing[@]}"
