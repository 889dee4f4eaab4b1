#!/usr/bin/env bash
# Installs the real clients the server tests drive (OpenSSH sftp/scp/ssh, sshpass, curl, lftp, rclone, Python's
# ftplib, script(1)), and iproute2 for the tests that make network namespaces, from Debian's packages when they are
# missing. Needs root (as on CI and the project's machines) or passwordless sudo.
set -euo pipefail

declare -A package_of=([sftp]=openssh-client [scp]=openssh-client [ssh-keygen]=openssh-client
  [sshpass]=sshpass [curl]=curl [lftp]=lftp [rclone]=rclone [ip]=iproute2)
# ssh itself, and script(1), which gives ssh a real terminal in the test of the server's refusal of shells.
package_of+=([ssh]=openssh-client [script]=bsdutils)
missing=()
for cmd in "${!package_of[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${package_of[$cmd]}")
done
# The tests run Debian's interpreter by its path: another python3 earlier on PATH (pyenv, a venv) does not count.
[ -x /usr/bin/python3 ] || missing+=(python3)
[ ${#missing[@]} -eq 0 ] && exit 0

mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "install-test-clients: installing ${packages[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
