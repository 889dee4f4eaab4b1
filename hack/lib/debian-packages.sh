# shellcheck shell=bash
# Functions for the hack/install-*.sh scripts, which install what a part of the project needs from Debian's
# packages when it is missing. Sourced, not run: `source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-packages.sh"`.

# packages_of_missing_commands MAP: prints, one a line, the package of every command in the associative array
# named MAP (command -> Debian package) that is not on PATH.
packages_of_missing_commands() {
  local -n commands_to_packages=$1
  local cmd
  for cmd in "${!commands_to_packages[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || printf '%s\n' "${commands_to_packages[$cmd]}"
  done
}

# install_packages WHO PACKAGE...: installs the packages (each once) with apt-get, as root or with passwordless
# sudo, saying on stderr that WHO installs them; with no packages it does nothing. apt's own output goes to
# stderr too, so that a script whose stdout is read (like hack/setup-envtest.sh) may call it. DEBIAN_FRONTEND is
# passed through env, past sudo's env_reset, so that apt never stops to ask.
install_packages() {
  local who=$1
  shift
  [ $# -eq 0 ] && return 0
  local packages
  mapfile -t packages < <(printf '%s\n' "$@" | sort -u)
  echo "$who: installing ${packages[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
}
