#!/usr/bin/env bash
# Sync request-response benchmark: POST through Sluice (waiting for the correlated reply)
# vs a direct rdkafka produce-and-await-reply client, with the same responder, at 1 and 64
# concurrent clients. Prints p50 / p99 latency and throughput, and their ratios.
#
# Broker: Tansu (memory storage) on loopback. Tansu does not answer a waiting fetch when
# data arrives, so every consumer here (Sluice's reply tap, the responder, the direct
# client) uses fetch.wait.max.ms=10, and latencies include that polling.
# Exits non-zero only on correctness failures (non-2xx answers, missing replies).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-8}"
SIZE="${SIZE:-100}"

. bench/common.sh
bench_setup rr-requests rr-replies rr-direct-requests rr-direct-replies
cat > "$WORK/rr.yaml" <<YAML
name: bench-rr
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: $HTTP_PORT }, exit: http }
  http: { type: http, kind: server, exit: mapping }
  mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ { method: POST, path: /rr } ]
        exit: client
        with: { capability: produce, topic: rr-requests, reply-to: rr-replies, reply-timeout-ms: 10000 }
  client:
    type: kafka
    kind: client
    options:
      servers: [ "$BOOT" ]
      properties: { fetch.wait.max.ms: "10" }
YAML
target/release/sluice-bench responder --bootstrap "$BOOT" --requests rr-requests,rr-direct-requests &
RESPONDER_PID=$!
start_sluice "$WORK/rr.yaml"
trap 'kill "$SLUICE_PID" "$RESPONDER_PID" "$TANSU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = string.rep("x", $SIZE)
LUA

# sluice C SECONDS -> "per_s p50_us p99_us errors"
sluice() {
  local out
  out="$(wrk -t1 -c"$1" -d"$2"s --latency -s "$WORK/post.lua" "http://127.0.0.1:$HTTP_PORT/rr")"
  echo "$out" | awk '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000; return v }
    /Requests\/sec/ { rate = $2 }
    /^ +50%/ { p50 = us($2) }
    /^ +99%/ { p99 = us($2) }
    /Non-2xx|Socket errors/ { errors += 1 }
    END { printf "%.0f %.0f %.0f %d\n", rate, p50, p99, errors + 0 }'
}

# direct C SECONDS -> "per_s p50_us p99_us 0"
direct() {
  target/release/sluice-bench direct-rr --bootstrap "$BOOT" --requests rr-direct-requests \
    --replies rr-direct-replies --concurrency "$1" --seconds "$2" --size "$SIZE" |
    sed -E 's/.*"per_s": ([0-9.]+), "p50_us": ([0-9]+), "p99_us": ([0-9]+).*/\1 \2 \3 0/'
}

print_machine
echo "== knobs: fetch.wait.max.ms=10 everywhere; responder linger.ms=0"
sluice 4 2 >/dev/null
FAILED=0
printf '%-28s %10s %10s %10s\n' "scenario (${SIZE} B)" "req/s" "p50 us" "p99 us"
for c in 1 64; do
  read -r d_rate d_p50 d_p99 _ < <(direct "$c" "$DURATION")
  read -r s_rate s_p50 s_p99 s_err < <(sluice "$c" "$DURATION")
  FAILED=$((FAILED + s_err))
  printf '%-28s %10s %10s %10s\n' "direct rdkafka, c=$c" "$d_rate" "$d_p50" "$d_p99"
  printf '%-28s %10s %10s %10s\n' "sluice sync POST, c=$c" "$s_rate" "$s_p50" "$s_p99"
  record "rr.c$c.direct_rate" "$d_rate"; record "rr.c$c.direct_p50_us" "$d_p50"; record "rr.c$c.direct_p99_us" "$d_p99"
  record "rr.c$c.sluice_rate" "$s_rate"; record "rr.c$c.sluice_p50_us" "$s_p50"; record "rr.c$c.sluice_p99_us" "$s_p99"
  awk -v c="$c" -v dr="$d_rate" -v d50="$d_p50" -v d99="$d_p99" -v sr="$s_rate" -v s50="$s_p50" -v s99="$s_p99" 'BEGIN {
    printf "  c=%s: p50 sluice - direct = %+d us (goal <= +100), p99 ratio %.2f (goal <= 1.5), throughput ratio %.2f (goal >= 0.7 at c=64)\n", c, s50 - d50, s99 / d99, sr / dr
  }'
done
record rr.errors "$FAILED"
if [ "$FAILED" != 0 ]; then
  echo "FAILED: non-2xx answers or socket errors" >&2
  exit 1
fi
