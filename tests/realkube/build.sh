#!/usr/bin/env bash
# Build kube-apiserver from Debian's source package `kubernetes` (bookworm: upstream v1.20.2,
# the full tree with vendor/; Debian builds only kubectl from it) with Debian's Go 1.19, the
# way debian/rules builds kubectl: GOPATH mode, vendored dependencies, `make
# WHAT=cmd/kube-apiserver`, no network other than the Debian archive.
#
# The binary is cached OUTSIDE the clone, per machine, keyed by the Debian version:
#   ${SCS_CERT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scs-cert}/kube-apiserver/<version>/
#     kube-apiserver   the binary (~105 MiB)
#     stamp            version, sha256 of the binary, build date and duration
# A second run finds the stamp and returns at once. The build tree (~1.9 GiB) is deleted after
# a successful build (KEEP_WORK=1 keeps it). Cold: ~5 min on two idle cores (up to ~16 min when
# Rust builds compete), at `nice -n 19`
# (other builds on the machine come first). Needs install.sh's packages; apt-get runs as the
# calling user with a private sources.list and lists directory, so /etc/apt is not touched.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

valid_cache() {
  [ -f "$STAMP" ] && [ -x "$BUILD_DIR/kube-apiserver" ] || return 1
  [ "$(sed -n 's/^recipe: \([^ ]*\).*/\1/p' "$STAMP")" = "$RECIPE" ] || return 1
  local want; want=$(sed -n 's/^sha256: //p' "$STAMP")
  [ -n "$want" ] && [ "$(sha256sum "$BUILD_DIR/kube-apiserver" | cut -d' ' -f1)" = "$want" ]
}

if [ -n "${KUBE_APISERVER:-}" ]; then
  echo "realkube: using KUBE_APISERVER=$KUBE_APISERVER (no build)"
  exit 0
fi
if valid_cache; then
  echo "realkube: kube-apiserver $DEBIAN_VERSION cached ($BUILD_DIR)"
  exit 0
fi
for tool in "$GOROOT_DIR/bin/go" "$REFLECT2_SRC/reflect2.go" make rsync apt-get; do
  command -v "$tool" >/dev/null 2>&1 || [ -f "$tool" ] || {
    echo "realkube: build needs $tool; run tests/realkube/install.sh (as root) first" >&2
    exit 1
  }
done

t0=$(now)
mkdir -p "$BUILD_DIR"
exec 9>"$BUILD_DIR/.lock"
if ! flock -n 9; then
  echo "realkube: another build of $DEBIAN_VERSION is running; waiting for it"
  flock 9
  valid_cache && { echo "realkube: kube-apiserver $DEBIAN_VERSION built by the other run"; exit 0; }
fi
W="$BUILD_DIR/work"
mkdir -p "$W/apt/lists/partial" "$W/apt/cache/archives/partial" "$W/dl" "$W/home"
cat > "$W/apt/sources.list" <<SRC
deb-src http://deb.debian.org/debian $DEBIAN_SUITE main
deb-src http://deb.debian.org/debian-security $DEBIAN_SUITE-security main
deb-src http://deb.debian.org/debian $DEBIAN_SUITE-updates main
SRC
APTO=(-o "Dir::Etc::SourceList=$W/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
      -o "Dir::State::Lists=$W/apt/lists" -o "Dir::Cache=$W/apt/cache")
# As root apt would hand the downloads to the user _apt, who cannot write into $HOME's cache.
[ "$(id -u)" != 0 ] || APTO+=(-o APT::Sandbox::User=root)
echo "realkube: fetching Debian source kubernetes=$DEBIAN_VERSION"
apt-get "${APTO[@]}" -qq update
# apt checks the .dsc against the signed InRelease and every file against the .dsc.
(cd "$W/dl" && apt-get "${APTO[@]}" -qq source --download-only "kubernetes=$DEBIAN_VERSION")
orig=("$W"/dl/kubernetes_*.orig.tar.gz)
D="$W/src"
if [ ! -f "$D/.unpacked" ]; then
  rm -rf "$D"; mkdir -p "$D"
  tar xzf "${orig[0]}" -C "$D" --strip-components=1
  touch "$D/.unpacked"
fi
# Go >= 1.18 and the vendored reflect2 1.0.1 do not mix (lib.sh): use Debian's 1.0.2.
V="$D/vendor/github.com/modern-go/reflect2"
if ! grep -q 'go1.18' "$V"/*.go 2>/dev/null; then
  rm -rf "$V"; mkdir -p "$V"
  cp "$REFLECT2_SRC"/*.go "$REFLECT2_SRC"/*.s "$V"/
  rm -f "$V"/*_test.go
fi
# An interrupted run can leave a zero-size generator binary behind; make would reuse it.
find "$D/_output" -type f -size 0 -delete 2>/dev/null || true

echo "realkube: building kube-apiserver (nice -n 19; ~5 min on two idle cores, up to ~16 min when they are busy); log: $W/build.log"
(
  cd "$D"
  export GOPATH="$D/.go" PATH="$GOROOT_DIR/bin:$PATH" CGO_ENABLED=0 GOPROXY=off GOFLAGS= \
         GO111MODULE=off GOCACHE="$W/gocache" HOME="$W/home" TMPDIR="$W/home"
  mkdir -p .go/src/k8s.io
  [ -L .go/src/k8s.io/kubernetes ] || ln -s ../../.. .go/src/k8s.io/kubernetes
  nice -n 19 make WHAT=cmd/kube-apiserver
) > "$W/build.log" 2>&1 || { tail -30 "$W/build.log" >&2; echo "realkube: build failed" >&2; exit 1; }

out="$D/_output/bin/kube-apiserver"
"$out" --version
cp "$out" "$BUILD_DIR/kube-apiserver.tmp"
mv "$BUILD_DIR/kube-apiserver.tmp" "$BUILD_DIR/kube-apiserver"
secs=$(elapsed "$t0")
{
  echo "debian-source: kubernetes $DEBIAN_VERSION ($DEBIAN_SUITE)"
  echo "recipe: $RECIPE (vendor/github.com/modern-go/reflect2 from $REFLECT2_PACKAGE $(dpkg-query -W -f='${Version}' "$REFLECT2_PACKAGE"))"
  echo "version: $("$BUILD_DIR/kube-apiserver" --version)"
  echo "go: $("$GOROOT_DIR/bin/go" version)"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $secs s"
  echo "sha256: $(sha256sum "$BUILD_DIR/kube-apiserver" | cut -d' ' -f1)"
} > "$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$W"
echo "realkube: built kube-apiserver in $secs s ($(du -h "$BUILD_DIR/kube-apiserver" | cut -f1)) -> $BUILD_DIR"
