#!/bin/sh
# Build a Python check component with componentize-py.
#
#   checks/python/build.sh CHECK_DIR OUT_WASM
#
# CHECK_DIR holds the check's `app.py` (module `app`, which defines the
# `WitWorld` class) and its check.json; OUT_WASM is the component to write.
# The SDK (checks/python/sdk) and the WIT contract (checks/sdk/wit) are found relative
# to this script, so it works from any directory.
#
# componentize-py is pinned and lives in its own virtual environment under
# ${SCS_CERT_CACHE:-$HOME/.cache/scs-cert}/componentize-py/<version>/, made
# on first use (python3 with venv and network access to PyPI then). The
# component imports only scs:check/* (--stub-wasi: every WASI import is a
# trapping stub). Builds are not byte-reproducible (componentize-py #247).
#
# On success it prints nothing; on failure, one line on stderr, and exits 1.

set -u
# A caller's virtual environment or module path must not leak into the
# component (componentize-py adds $VIRTUAL_ENV's site-packages to its path).
unset VIRTUAL_ENV PYTHONPATH PYTHONHOME
# Keep componentize-py's error output short (no Rust backtraces).
unset RUST_BACKTRACE RUST_LIB_BACKTRACE

VERSION=0.25.1
PROG=build.sh

fail() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit 1
}

[ "$#" -eq 2 ] || fail "usage: build.sh CHECK_DIR OUT_WASM"

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P) || fail "cannot find the script's directory"
wit=$(CDPATH='' cd -- "$here/../sdk/wit" && pwd -P) || fail "no WIT contract at $here/../sdk/wit (checks/sdk/wit in the repository)"
sdk=$here/sdk
[ -f "$sdk/scs_check/__init__.py" ] || fail "no SDK at $sdk/scs_check"

check=$(CDPATH='' cd -- "$1" 2>/dev/null && pwd -P) || fail "no such check directory: $1"
[ -f "$check/app.py" ] || fail "$1 has no app.py (the module componentize-py wraps)"

case $2 in
    /*) out=$2 ;;
    *) out=$(pwd -P)/$2 ;;
esac
outdir=$(dirname -- "$out")
[ -d "$outdir" ] || fail "output directory does not exist: $outdir"

if [ -n "${SCS_CERT_CACHE:-}" ]; then
    cache=$SCS_CERT_CACHE
else
    [ -n "${HOME:-}" ] || fail "neither SCS_CERT_CACHE nor HOME is set"
    cache=$HOME/.cache/scs-cert
fi
venv=$cache/componentize-py/$VERSION
tool=$venv/bin/componentize-py

work=$(mktemp -d "${TMPDIR:-/tmp}/scs-py-build.XXXXXX") || fail "cannot create a temporary directory"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM
log=$work/output.txt

# Run "$@" with its output in $log; on failure, report one line (the root
# cause) and keep the whole output next to the venv.
run() {
    what=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        kept=$cache/componentize-py/last-failure.txt
        cp "$log" "$kept" 2>/dev/null || kept="not kept: cannot write $kept"
        # the root cause (componentize-py: the line after "Caused by:"), else the last line
        last=$(awk 'NF { last = $0 } /^Caused by:/ { c = 1; next } c && NF { last = $0; exit }
                    END { sub(/^[[:space:]]+/, "", last); print last }' "$log")
        fail "$what failed: ${last:-no output} (full output: $kept)"
    fi
}

# The venv counts only once it is complete (marker written last).
if [ ! -f "$venv/.complete" ]; then
    command -v python3 >/dev/null 2>&1 || fail "python3 not found (needed once, to create $venv)"
    mkdir -p "$cache/componentize-py" || fail "cannot create $cache/componentize-py"
    rm -rf "$venv"
    run "creating the venv $venv" python3 -m venv "$venv"
    run "installing componentize-py==$VERSION" \
        "$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
        "componentize-py==$VERSION"
    : >"$venv/.complete"
fi

# Build from a copy, so that componentize-py neither writes bytecode into
# the source tree nor bundles stale files.
mkdir -p "$work/sdk" "$work/check" || fail "cannot fill $work"
cp -R "$sdk/scs_check" "$work/sdk/" && cp -R "$check/." "$work/check/" \
    || fail "cannot copy the sources to $work"
find "$work/sdk" "$work/check" -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null

# From inside $work, so that no project environment of the caller's
# directory (pipenv) is searched either.
cd "$work" || fail "cannot enter $work"
run "componentize-py" "$tool" -d "$wit" -w check componentize \
    -p "$work/sdk" -p "$work/check" -o "$work/component.wasm" --stub-wasi app
mv -f "$work/component.wasm" "$out" || fail "cannot write $out"
