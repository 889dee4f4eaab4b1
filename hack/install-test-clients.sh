#!/usr/bin/env bash
# Installs the real clients the server tests drive (OpenSSH sftp/scp/ssh, sshpass, curl, lftp, rclone, Python's
# ftplib, script(1)), and iproute2 for the tests that make network namespaces, from Debian's packages when they are
# missing. Needs root (as on CI and the project's machines) or passwordless sudo.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-packages.sh"

declare -A package_of=([sftp]=openssh-client [scp]=openssh-client [ssh-keygen]=openssh-client
  [sshpass]=sshpass [curl]=curl [lftp]=lftp [rclone]=rclone [ip]=iproute2)
# ssh itself, and script(1), which gives ssh a real terminal in the test of the server's refusal of shells.
package_of+=([ssh]=openssh-client [script]=bsdutils)
mapfile -t missing < <(packages_of_missing_commands package_of)
# The tests run Debian's interpreter by its path: another python3 earlier on PATH (pyenv, a venv) does not count.
[ -x /usr/bin/python3 ] || missing+=(python3)
install_packages install-test-clients "${missing[@]}"
