#!/usr/bin/env bash
# Install the Debian packages the real Kubernetes tier needs: etcd-server (runs beside
# kube-apiserver), openssl (the CA and certificates), curl (readiness checks) and, for
# build.sh, golang-1.19-go, make, rsync (the upstream hack/ scripts call rsync) and
# golang-github-modern-go-reflect2-dev (see lib.sh: replaces a vendored library that breaks
# under Go 1.19).
#
# Installs missing packages itself when it runs as root or sudo works without a password;
# otherwise it prints one line naming what is missing and fails. A second run with everything
# present does nothing. BUILD=0 skips the build tools (enough when the binary is cached).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pkgs=(etcd-server openssl curl)
if [ "${BUILD:-1}" != 0 ]; then
  pkgs+=("$GO_PACKAGE" "$REFLECT2_PACKAGE" make rsync)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "realkube: packages present (${pkgs[*]})"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "realkube: missing packages (${missing[*]}) and no apt-get to install them" >&2
  exit 1
fi
if ! as_root true; then
  echo "realkube: missing packages, install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
t0=$(now)
export DEBIAN_FRONTEND=noninteractive
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  as_root apt-get update -qq >/dev/null
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
echo "realkube: installed ${missing[*]} in $(elapsed "$t0") s"
