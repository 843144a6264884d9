# Shared settings of the realkube scripts (sourced, not run).
#
#   REALKUBE_DIR          state directory: PKI, etcd data, logs, pid files, kubeconfigs
#                         (default: <workspace>/target/realkube)
#   REALKUBE_PORT_OFFSET  added to every port (default 0: kube-apiserver 16443, etcd client
#                         12379, etcd peer 12380; none of them is used by the OpenStack tier)
#   SCS_CERT_CACHE        per-machine cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/scs-cert);
#                         the built kube-apiserver lives in $SCS_CERT_CACHE/kube-apiserver/<version>/
#   KUBE_APISERVER        use this kube-apiserver binary instead of the cached build
#
# Kubernetes source: Debian bookworm's source package `kubernetes` (Debian ships only kubectl
# from it; its orig tarball is the full upstream tree with vendor/). DEBIAN_VERSION pins it.

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKSPACE="$(cd "$HERE/../.." && pwd)"
K="${REALKUBE_DIR:-$WORKSPACE/target/realkube}"
mkdir -p "$K"
K="$(cd "$K" && pwd)"
export REALKUBE_DIR="$K"
OFF="${REALKUBE_PORT_OFFSET:-0}"
HOST=127.0.0.1
APISERVER_PORT=$((16443 + OFF))
ETCD_CLIENT_PORT=$((12379 + OFF))
ETCD_PEER_PORT=$((12380 + OFF))

DEBIAN_SUITE=bookworm
DEBIAN_VERSION=1.20.5+really1.20.2-1.1+deb12u1   # src:kubernetes in bookworm(-security); upstream v1.20.2
GO_PACKAGE=golang-1.19-go
GOROOT_DIR=/usr/lib/go-1.19
# Kubernetes 1.20 vendors github.com/modern-go/reflect2 1.0.1, which makes kube-apiserver panic
# (nil pointer in reflect2.Type2, from json-iterator) when built with Go >= 1.18: some API
# requests (e.g. creating a ClusterRoleBinding) die with HTTP/2 INTERNAL_ERROR. build.sh puts
# Debian's reflect2 1.0.2 (which supports Go 1.18+) into vendor/ instead.
REFLECT2_PACKAGE=golang-github-modern-go-reflect2-dev
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
# Bump when the way build.sh builds changes: a cached binary with another recipe is rebuilt.
RECIPE=2
CACHE_ROOT="${SCS_CERT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scs-cert}"
BUILD_DIR="$CACHE_ROOT/kube-apiserver/$DEBIAN_VERSION"
BIN="${KUBE_APISERVER:-$BUILD_DIR/kube-apiserver}"
STAMP="$BUILD_DIR/stamp"

# The pid in run/NAME.pid if that process is alive and runs the executable NAME (kube-apiserver
# or etcd). Prints nothing otherwise.
our_pid() {
  local f="$K/run/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null && [ "$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)")" = "$1" ]; then
    echo "$pid"
  fi
}

# Runs a command as root: directly when we are root, else through sudo -n; fails otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1
  fi
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
