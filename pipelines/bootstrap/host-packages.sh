#!/usr/bin/env bash
# Installs the Debian packages listed in debian-packages.txt that are missing; a no-op (well
# under a second) when all are present. Thin glue: the list is the single source of truth.
set -euo pipefail
list="$(dirname "$0")/debian-packages.txt"
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
missing=()
for pkg in "${wanted[@]}"; do
  # golang-go is only a fallback: a Go toolchain already on PATH (e.g. /usr/local/go) satisfies it.
  if [[ $pkg == golang-go ]] && command -v go >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "bootstrap: installing Debian packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "bootstrap: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
