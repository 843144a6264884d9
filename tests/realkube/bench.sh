#!/usr/bin/env bash
# Figures for BENCHMARKS.md: version-policy-check (the official KaaS scope, section light)
# against the real kube-apiserver, once per kubeconfig variant (client certificate, token,
# exec plugin), N runs each (default 5) after one uncounted warm-up: wall time, requests
# (`scs-cert -v` logs every kubernetes call; the audit log counts what reached the server),
# peak RSS of the scs-cert process (GNU time), exit code.
#
#   tests/realkube/bench.sh [N]   # needs: build.sh + start.sh done, `cargo xtask build`
#   SCS_CERT=target/release/scs-cert tests/realkube/bench.sh
#
# The data file is built here from tests/fixtures/kaas/ (releases, CVE feed and records) and an
# end-of-life table with 1.20's real date (2022-02-28) and three branches supported relative to
# today, signed with a key made here. Everything goes to $REALKUBE_DIR/bench. Prints a table.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N="${1:-5}"
SCS="${SCS_CERT:-$WORKSPACE/target/debug/scs-cert}"
CHECKS="${SCS_CERT_CHECKS_DIR:-$WORKSPACE/target/guests/checks}"
B="$K/bench"
rm -rf "$B"; mkdir -p "$B/home"
for f in "$SCS" /usr/bin/time; do
  [ -x "$f" ] || { echo "bench: missing $f (cargo xtask build; apt-get install time)" >&2; exit 1; }
done
[ -f "$K/kube.json" ] || { echo "bench: no $K/kube.json; run tests/realkube/start.sh" >&2; exit 1; }
cd "$WORKSPACE"
export SCS_CERT_CACHE_DIR="$B/component-cache" HOME="$B/home" SCS_CERT_STATE_DIR="$B/state"
unset KUBECONFIG SCS_CERT_DATA SCS_CERT_CHECKS

"$SCS" key generate --out "$B/root-key" --no-passphrase >/dev/null
"$SCS" key generate --out "$B/data-key" --no-passphrase >/dev/null
"$SCS" trust init --out "$B/root.json" --root-key "$B/root-key.pub" --bundle-key "$B/root-key.pub" \
  --data-key "$B/data-key.pub" --sign "$B/root-key" >/dev/null
{
  echo "- branch: '1.35'"; echo "  end-of-life: '$(date -u -d '+300 days' +%F)'"
  echo "- branch: '1.34'"; echo "  end-of-life: '$(date -u -d '+200 days' +%F)'"
  echo "- branch: '1.33'"; echo "  end-of-life: '$(date -u -d '+100 days' +%F)'"
  echo "- branch: '1.20'"; echo "  end-of-life: '2022-02-28'"
} > "$B/eol.yml"
F="$WORKSPACE/tests/fixtures/kaas"
"$SCS" data build --releases "$F/source-github-releases.json" --cve-feed "$F/source-cve-feed.json" \
  --cve-records "$F/cve-records" --eol "$B/eol.yml" --sign-key "$B/data-key" --out "$B/data.scsd" >/dev/null

audit_lines() { wc -l < "$K/log/audit.log" 2>/dev/null || echo 0; }
measure() {  # measure VARIANT -> rows "variant wall_s calls server_requests rss_kib exit"
  local v=$1 i rc a0 a1 calls seen
  for i in $(seq 0 "$N"); do
    a0=$(audit_lines)
    /usr/bin/time -f '%e %M' -o "$B/time" "$SCS" run scopes/scs-compatible-kaas.yaml \
      -s bench -S light -a "kubeconfig=$K/kubeconfig-$v.yaml" -a "subject_root=$B/subject" \
      --root "$B/root.json" --data "$B/data.scsd" --checks "$CHECKS" -o "$B/report-$v.yaml" -v \
      > "$B/stdout-$v" 2> "$B/stderr-$v" && rc=0 || rc=$?
    [ "$i" = 0 ] && continue
    a1=$(audit_lines)
    read -r wall rss < <(tail -n 1 "$B/time")  # GNU time writes "Command exited ..." first
    calls=$(grep -c 'kubernetes call' "$B/stderr-$v" || true)
    seen=$(tail -n +"$((a0 + 1))" "$K/log/audit.log" | head -n "$((a1 - a0))" \
      | grep '"stage":"ResponseComplete"' | grep -vc '"username":"system:' || true)
    echo "$v $wall $calls $seen $rss $rc"
  done
}
rows=""
for v in cert token exec; do rows+="$(measure "$v")"$'\n'; done

summary() {  # rows of one variant -> Markdown row: median (min-max) wall, calls, requests, RSS, exits
  sort -k2 -n | awk -v label="$1" '
    { wall[NR] = $2; calls = $3; seen = $4; if ($5 > rss) rss = $5; codes[$6] = 1 }
    END {
      med = (NR % 2) ? wall[(NR + 1) / 2] : (wall[NR / 2] + wall[NR / 2 + 1]) / 2
      c = ""; for (k in codes) c = c (c == "" ? "" : ",") k
      printf "| %s | %d | %.2f s (%.2f-%.2f) | %d | %d | %.1f MiB | %s |\n",
        label, NR, med, wall[1], wall[NR], calls, seen, rss / 1024, c
    }'
}
echo "scs-cert: $SCS ($(stat -c %y "$SCS" | cut -d. -f1)); kube-apiserver $("$BIN" --version | awk '{print $2}'); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| kubeconfig | runs | wall time, median (min-max) | kubernetes calls (scs-cert -v) | requests in the audit log | peak RSS of scs-cert | exit |"
echo "|---|---|---|---|---|---|---|"
for v in cert token exec; do
  grep "^$v " <<< "$rows" | summary "$v"
done
