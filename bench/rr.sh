#!/usr/bin/env bash
# Sync request-response benchmark: POST through Sluice (waiting for the correlated reply)
# vs a direct rdkafka produce-and-await-reply client, with the same responder, at 1 and 64
# concurrent clients. Prints p50 / p99 latency and throughput, and their ratios.
#
# Broker: Tansu (memory storage) on loopback. Tansu does not answer a waiting fetch when
# data arrives, so every consumer here (Sluice's reply tap, the responder, the direct
# client) polls with fetch.wait.max.ms=10, and latencies include that polling. The p50 of
# one 5 s run at c=1 moves by about 200 us from the poll phase alone, so c=1 runs PAIRS
# interleaved pairs on topics, a responder and a Sluice client of its own, and reports the
# medians. (Polling every 1 ms instead, C1_FETCH_WAIT_MS=1, overloads Tansu: 3 req/s.)
# Exits non-zero only on correctness failures (non-2xx answers, missing replies).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-8}"
SIZE="${SIZE:-100}"
C1_FETCH_WAIT_MS="${C1_FETCH_WAIT_MS:-10}"

. bench/common.sh
bench_setup rr-requests rr-replies rr-direct-requests rr-direct-replies rr1-requests rr1-replies rr1-direct-requests rr1-direct-replies
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
      - when: [ { method: POST, path: /rr1 } ]
        exit: client1
        with: { capability: produce, topic: rr1-requests, reply-to: rr1-replies, reply-timeout-ms: 10000 }
  client:
    type: kafka
    kind: client
    options:
      servers: [ "$BOOT" ]
      properties: { fetch.wait.max.ms: "10" }
  client1:
    type: kafka
    kind: client
    options:
      servers: [ "$BOOT" ]
      properties: { fetch.wait.max.ms: "$C1_FETCH_WAIT_MS", linger.ms: "0" }
YAML
target/release/sluice-bench responder --bootstrap "$BOOT" --requests rr-requests,rr-direct-requests &
RESPONDER_PID=$!
target/release/sluice-bench responder --bootstrap "$BOOT" --requests rr1-requests,rr1-direct-requests --fetch-wait-ms "$C1_FETCH_WAIT_MS" &
RESPONDER1_PID=$!
start_sluice "$WORK/rr.yaml"
trap 'kill "$SLUICE_PID" "$RESPONDER_PID" "$RESPONDER1_PID" "$TANSU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = string.rep("x", $SIZE)
LUA

# sluice C SECONDS [PATH] -> "per_s p50_us p99_us errors"
sluice() {
  local out
  out="$(wrk -t1 -c"$1" -d"$2"s --latency -s "$WORK/post.lua" "http://127.0.0.1:$HTTP_PORT${3:-/rr}")"
  echo "$out" | awk '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000; return v }
    /Requests\/sec/ { rate = $2 }
    /^ +50%/ { p50 = us($2) }
    /^ +99%/ { p99 = us($2) }
    /Non-2xx|Socket errors/ { errors += 1 }
    END { printf "%.0f %.0f %.0f %d\n", rate, p50, p99, errors + 0 }'
}

# direct C SECONDS [TOPIC PREFIX] [FETCH WAIT] -> "per_s p50_us p99_us 0"
direct() {
  target/release/sluice-bench direct-rr --bootstrap "$BOOT" --requests "${3:-rr}-direct-requests" \
    --replies "${3:-rr}-direct-replies" --concurrency "$1" --seconds "$2" --size "$SIZE" --fetch-wait-ms "${4:-10}" |
    sed -E 's/.*"per_s": ([0-9.]+), "p50_us": ([0-9]+), "p99_us": ([0-9]+).*/\1 \2 \3 0/'
}

print_machine
echo "== knobs: fetch.wait.max.ms=$C1_FETCH_WAIT_MS at c=1, 10 at c=64, everywhere; responder linger.ms=0"
sluice 4 2 >/dev/null
sluice 1 2 /rr1 >/dev/null
FAILED=0
: > "$WORK/c1"
for pair in $(seq 1 "${PAIRS:-3}"); do
  read -r d_rate d_p50 d_p99 _ < <(direct 1 "$DURATION" rr1 "$C1_FETCH_WAIT_MS")
  read -r s_rate s_p50 s_p99 s_err < <(sluice 1 "$DURATION" /rr1)
  FAILED=$((FAILED + s_err))
  echo "c=1 pair $pair: direct p50 $d_p50 us p99 $d_p99 us, $d_rate/s; sluice p50 $s_p50 us p99 $s_p99 us, $s_rate/s"
  echo "$d_rate $d_p50 $d_p99 $s_rate $s_p50 $s_p99" >> "$WORK/c1"
done
printf '%-28s %10s %10s %10s\n' "scenario (${SIZE} B)" "req/s" "p50 us" "p99 us"
for c in 1 64; do
  if [ "$c" = 1 ]; then
    col() { cut -d' ' -f"$1" "$WORK/c1" | median; }
    d_rate="$(col 1)"; d_p50="$(col 2)"; d_p99="$(col 3)"; s_rate="$(col 4)"; s_p50="$(col 5)"; s_p99="$(col 6)"
  else
    read -r d_rate d_p50 d_p99 _ < <(direct "$c" "$DURATION")
    read -r s_rate s_p50 s_p99 s_err < <(sluice "$c" "$DURATION")
    FAILED=$((FAILED + s_err))
  fi
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
