#!/usr/bin/env bash
# Stop kube-apiserver, then etcd, by the pids start.sh recorded (only if the pid still runs
# that executable): TERM, KILL after 10 s. Keeps the state (PKI, etcd data, kubeconfigs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for n in kube-apiserver etcd; do
  pid=$(our_pid "$n")
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    echo "realkube: stopped $n (pid $pid)"
  fi
  rm -f "$K/run/$n.pid"
done
