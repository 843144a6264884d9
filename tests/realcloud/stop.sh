#!/usr/bin/env bash
# Stop the realcloud servers by the PIDs in $REALCLOUD_DIR/run/*.pid, and only those that are
# still ours (a gunicorn master whose cwd is $REALCLOUD_DIR/wsgi): TERM, wait up to 10 s, then
# KILL the master and its workers. Keeps configs and databases, so start.sh resumes the same
# cloud. Idempotent: nothing running is success.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
shopt -s nullglob

declare -A stopping=()
for pidf in "$R"/run/*.pid; do
  name=$(basename "$pidf" .pid)
  pid=$(our_pid "$name")
  if [ -z "$pid" ]; then
    if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
      echo "realcloud: pid $(cat "$pidf") in $pidf is not a realcloud server; leaving it" >&2
    fi
    rm -f "$pidf"
    continue
  fi
  stopping[$pid]="$name $(ps -o pid= --ppid "$pid" 2>/dev/null | tr '\n' ' ')"
  kill -TERM "$pid" 2>/dev/null || true
done

for pid in "${!stopping[@]}"; do
  read -r name workers <<< "${stopping[$pid]}"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "realcloud: $name (pid $pid) ignored TERM for 10 s; killing it and its workers" >&2
    # shellcheck disable=SC2086
    kill -KILL "$pid" $workers 2>/dev/null || true
  fi
  rm -f "$R/run/$name.pid"
  echo "realcloud: stopped $name (pid $pid)"
done
exit 0
