#!/usr/bin/env bash
# Figures for BENCHMARKS.md: the read-only IaaS testcases (the fidelity test's selection, with
# --recommended) as a plain member user,
#   1. against the real services (seeded from tests/simcloud/fixtures/compliant.yaml), and
#   2. against simcloud serving the same fixture with `faults: {latency_ms: 20}`,
# N runs each (default 5): wall time, HTTP requests (scs-cert -v logs every call, plus one
# token request per run), of those the version-discovery requests and their time (the
# `cloud session totals` line), and peak RSS of the scs-cert process (GNU time).
#
#   tests/realcloud/bench.sh [N]     # needs: install.sh + start.sh done, `cargo xtask build`
#   SCS_CERT=target/release/scs-cert tests/realcloud/bench.sh
#
# Bounded: N runs each, all traffic to 127.0.0.1. Prints a Markdown table.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N="${1:-5}"
BIN="${SCS_CERT:-$WORKSPACE/target/debug/scs-cert}"
SIM="${SIMCLOUD:-$WORKSPACE/target/debug/simcloud}"
CHECKS="${SCS_CERT_CHECKS_DIR:-$WORKSPACE/target/guests/checks}"
RO='^(scs-0100-.*|scs-0102-.*|scs-0103-.*|scs-0104-.*|scs-0114-.*|scs-0115-default-rules|scs-0123-service-.*|scs-0123-storage-apis)$'
B="$R/bench"
mkdir -p "$B"
for f in "$BIN" "$SIM" /usr/bin/time; do
  [ -x "$f" ] || { echo "bench: missing $f (cargo xtask build; apt-get install time)" >&2; exit 1; }
done
cd "$WORKSPACE"
export SCS_CERT_CACHE_DIR="$B/component-cache"

# one warm-up run per cloud compiles the components into the cache; it is not counted
measure() {  # measure LABEL CLOUDS CLOUD -> rows "label wall_s requests rss_kib exit disc disc_ms"
  local label=$1 clouds=$2 cloud=$3 i
  for i in $(seq 0 "$N"); do
    /usr/bin/time -f '%e %M' -o "$B/time" env OS_CLIENT_CONFIG_FILE="$clouds" \
      "$BIN" run scopes/scs-compatible-iaas.yaml --os-cloud "$cloud" --subject bench \
      --tests "$RO" --recommended -o "$B/report-$label.yaml" --checks "$CHECKS" -v \
      > "$B/stdout-$label" 2> "$B/stderr-$label" && rc=0 || rc=$?
    [ "$i" = 0 ] && continue
    read -r wall rss < "$B/time"
    calls=$(grep -c 'openstack call' "$B/stderr-$label" || true)
    auths=$(grep -c 'authenticated user=' "$B/stderr-$label" || true)
    # version discovery: requests and milliseconds from the session totals line
    disc=$(sed -n 's/.*discovery_requests=\([0-9]*\) discovery_ms=\([0-9]*\).*/\1 \2/p' \
      "$B/stderr-$label" | tail -n 1)
    echo "$label $wall $((calls + auths)) $rss $rc ${disc:-0 0}"
  done
}

"$V/python" "$HERE/realcloud.py" seed "$WORKSPACE/tests/simcloud/fixtures/compliant.yaml" \
  --clouds "$B/real-clouds.yaml" > "$B/seed.json"
real_rows=$(measure real "$B/real-clouds.yaml" user-member)

# the same fixture with 20 ms latency on every simcloud response
python3 - "$WORKSPACE/tests/simcloud/fixtures/compliant.yaml" "$B/compliant-latency20.yaml" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
text, n = re.subn(r"(?m)^faults:.*$", "faults: {latency_ms: 20}", text)
if n == 0:
    text += "\nfaults: {latency_ms: 20}\n"
open(sys.argv[2], "w").write(text)
EOF
"$SIM" --fixture "$B/compliant-latency20.yaml" --write-clouds-yaml "$B/sim-clouds.yaml" \
  > "$B/sim.out" 2> "$B/sim.err" &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q listening "$B/sim.out" && break; sleep 0.1; done
sim_rows=$(measure sim20 "$B/sim-clouds.yaml" simcloud)
kill "$sim_pid" 2>/dev/null || true

summary() {  # rows -> one Markdown row: median (min-max) wall, requests, max RSS, exit codes
  sort -k2 -n | awk -v label="$1" '
    { wall[NR] = $2; req[NR] = $3 + $6; if ($4 > rss) rss = $4; codes[$5] = 1
      disc = $6; if ($7 > dms) dms = $7 }
    END {
      med = (NR % 2) ? wall[(NR + 1) / 2] : (wall[NR / 2] + wall[NR / 2 + 1]) / 2
      c = ""; for (k in codes) c = c (c == "" ? "" : ",") k
      printf "| %s | %d | %.2f s (%.2f-%.2f) | %d | %d (max %d ms) | %.1f MiB | %s |\n",
        label, NR, med, wall[1], wall[NR], req[1], disc, dms, rss / 1024, c
    }'
}
echo "scs-cert: $BIN ($(stat -c %y "$BIN" | cut -d. -f1)); checks: $CHECKS; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| cloud | runs | wall time, median (min-max) | HTTP requests | of them version discovery | peak RSS of scs-cert | exit |"
echo "|---|---|---|---|---|---|---|"
echo "$real_rows" | summary "real services (compliant.yaml seeded)"
echo "$sim_rows" | summary "simcloud compliant.yaml + latency_ms: 20"
