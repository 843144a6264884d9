# Shared settings of the realcloud scripts (sourced, not run).
#
#   REALCLOUD_DIR          state directory: venv, configs, SQLite databases, logs, pid files
#                          (default: <workspace>/target/realcloud)
#   REALCLOUD_PASSWORD     password of admin and the service users (default: secret)
#   REALCLOUD_PORT_OFFSET  added to every port (default 0: keystone 5000, nova 8774,
#                          glance 9292, cinder 8776, neutron 9696, placement 8778), for a
#                          second cloud
#   PYTHON                 interpreter that builds the venv (default: python3, 3.11 tested)
#
# Nothing is written outside $REALCLOUD_DIR: pip's cache and every config live there.

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKSPACE="$(cd "$HERE/../.." && pwd)"
R="${REALCLOUD_DIR:-$WORKSPACE/target/realcloud}"
mkdir -p "$R"
R="$(cd "$R" && pwd)"
export REALCLOUD_DIR="$R"
PASS="${REALCLOUD_PASSWORD:-secret}"
OFF="${REALCLOUD_PORT_OFFSET:-0}"
V="$R/venv/bin"
HOST=127.0.0.1
KEYSTONE_PORT=$((5000 + OFF))
NOVA_PORT=$((8774 + OFF))
GLANCE_PORT=$((9292 + OFF))
CINDER_PORT=$((8776 + OFF))
NEUTRON_PORT=$((9696 + OFF))
PLACEMENT_PORT=$((8778 + OFF))
export PIP_CACHE_DIR="$R/pip-cache"
mkdir -p "$R/tmp"
export TMPDIR="$R/tmp"        # pip's build dirs, the services' temporary files
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONWARNINGS=ignore   # eventlet's deprecation warning on every command
export PYTHONDONTWRITEBYTECODE=1

port_of() {
  case "$1" in
    keystone) echo "$KEYSTONE_PORT" ;;
    nova-api) echo "$NOVA_PORT" ;;
    glance-api) echo "$GLANCE_PORT" ;;
    cinder-api) echo "$CINDER_PORT" ;;
    neutron-api) echo "$NEUTRON_PORT" ;;
    placement-api) echo "$PLACEMENT_PORT" ;;
  esac
}

# True if something answers HTTP on 127.0.0.1:PORT.
answers() {
  local code
  code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$HOST:$1/" 2>/dev/null || true)
  [ -n "$code" ] && [ "$code" != 000 ]
}

# The pid in run/NAME.pid if that process is alive and is one of ours: the gunicorn masters
# run with --chdir $R/wsgi (gunicorn rewrites its title and environment, so the cwd is the
# reliable mark). Prints nothing otherwise.
our_pid() {
  local f="$R/run/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$R/wsgi" ]; then
    echo "$pid"
  fi
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
