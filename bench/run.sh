#!/usr/bin/env bash
# One-way produce benchmark: POST through Sluice vs the same binary's echo route (no Kafka)
# vs a direct rdkafka producer with the same number of messages in flight.
# Baseline (sluice-bench baseline: a minimal hyper server, same workers and pinning, whose
# POST /produce sends through an rdkafka producer with Sluice's settings), interleaved in
# every pair: its echo and POST rates, its c=1 hop and its open-loop latency at the same
# offered rate, so that the cost of Sluice's routing, limits and metrics is visible.
#
# Broker: Tansu (memory storage) on loopback, as in the tests. Load: wrk, HTTP/1.1
# keep-alive, CONNS connections, SIZE-byte bodies. Everything runs on this machine,
# unpinned (the "shared" configuration of docs/benchmarks.md). Pairs are interleaved
# (echo, post, echo, post, ...) and the median of PAIRS is reported.
#
# Exits non-zero only on correctness failures (non-2xx answers, socket errors, failed
# direct sends), never on timings.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-8}"
CONNS="${CONNS:-64}"
SIZE="${SIZE:-100}"
PAIRS="${PAIRS:-3}"
LINGER_MS="${LINGER_MS:-1}"
CLK_TCK="$(getconf CLK_TCK)"


. bench/common.sh
bench_setup bench-sluice bench-direct bench-baseline
cat > "$WORK/bench.yaml" <<YAML
name: bench
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: $HTTP_PORT }, exit: http }
  http:
    type: http
    kind: server
    routes:
      - when: [ { headers: { ":path": /echo } } ]
        exit: echo
    exit: mapping
  echo: { type: echo, kind: server }
  mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ { method: POST, path: /events } ]
        exit: client
        with: { capability: produce, topic: bench-sluice }
      - when: [ { method: POST, path: /events-c1 } ]
        exit: client0
        with: { capability: produce, topic: bench-sluice }
  client: { type: kafka, kind: client, options: { servers: [ "$BOOT" ], properties: { linger.ms: "$LINGER_MS" } } }
  # The plan measures the c=1 hop with linger.ms=0, so that no batching wait is in it.
  client0: { type: kafka, kind: client, options: { servers: [ "$BOOT" ], properties: { linger.ms: "0" } } }
YAML
start_sluice "$WORK/bench.yaml"
sleep 1
IDLE_RSS="$(rss_kib)"
start_baseline --bootstrap "$BOOT" --topic bench-baseline
# on_baseline COMMAND...: COMMAND with the baseline server in place of Sluice.
on_baseline() { SLUICE_PID="$BASE_PID" HTTP_PORT="$BASE_PORT" "$@"; }

cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = string.rep("x", $SIZE)
wrk.headers["content-type"] = "application/octet-stream"
LUA

run() { wrk_post "$@"; }

print_machine
echo "== configuration: $([ "${ISOLATED:-0}" = 1 ] && echo "isolated (Sluice on core 0 with 1 worker; broker and wrk on core 1)" || echo "shared (nothing pinned)")"
echo "== knobs: linger.ms=$LINGER_MS (Sluice and the direct producer), acks=all idempotent, ${WORKERS:-2} tokio workers"
echo "== wrk -t1 -c$CONNS, ${SIZE}-byte bodies, ${DURATION}s per run, $PAIRS interleaved pairs"
run /echo 2 >/dev/null
run /events 2 >/dev/null
on_baseline run /produce 2 >/dev/null
: > "$WORK/echo" ; : > "$WORK/post" ; : > "$WORK/hecho" ; : > "$WORK/hpost"
FAILED=0
for pair in $(seq 1 "$PAIRS"); do
  read -r e_rate e_n e_cpu e_err < <(run /echo "$DURATION")
  read -r p_rate p_n p_cpu p_err < <(run /events "$DURATION")
  read -r he_rate he_n he_cpu he_err < <(on_baseline run /echo "$DURATION")
  read -r hp_rate hp_n hp_cpu hp_err < <(on_baseline run /produce "$DURATION")
  echo "pair $pair: echo $e_rate req/s (${e_cpu} us CPU/req), POST $p_rate req/s (${p_cpu} us CPU/req);" \
    "baseline echo $he_rate (${he_cpu} us), POST $hp_rate (${hp_cpu} us)"
  echo "$e_rate $e_cpu" >> "$WORK/echo"
  echo "$p_rate $p_cpu $p_n" >> "$WORK/post"
  echo "$he_rate $he_cpu" >> "$WORK/hecho"
  echo "$hp_rate $hp_cpu" >> "$WORK/hpost"
  FAILED=$((FAILED + e_err + p_err + he_err + hp_err))
done
HYPER_ECHO_RATE="$(cut -d' ' -f1 "$WORK/hecho" | median)"
HYPER_ECHO_CPU="$(cut -d' ' -f2 "$WORK/hecho" | median)"
HYPER_POST_RATE="$(cut -d' ' -f1 "$WORK/hpost" | median)"
HYPER_POST_CPU="$(cut -d' ' -f2 "$WORK/hpost" | median)"
ECHO_RATE="$(cut -d' ' -f1 "$WORK/echo" | median)"
ECHO_CPU="$(cut -d' ' -f2 "$WORK/echo" | median)"
POST_RATE="$(cut -d' ' -f1 "$WORK/post" | median)"
POST_CPU="$(cut -d' ' -f2 "$WORK/post" | median)"
MESSAGES="$(awk -v r="$POST_RATE" -v d="$DURATION" 'BEGIN { n = int(r * d); if (n < 20000) n = 20000; print n }')"
# In the isolated configuration the direct client takes Sluice's core.
DIRECT="$(${SLUICE_PIN:+taskset -c "$SLUICE_PIN"} target/release/sluice-bench direct-produce --bootstrap "$BOOT" --topic bench-direct --window "$CONNS" \
  --messages "$MESSAGES" --size "$SIZE" --clk-tck "$CLK_TCK" --linger-ms "$LINGER_MS")"
DIRECT_RATE="$(echo "$DIRECT" | sed -E 's/.*"msg_per_s": ([0-9.]+).*/\1/')"
DIRECT_CPU="$(echo "$DIRECT" | sed -E 's/.*"cpu_us_per_msg": ([0-9.]+).*/\1/')"

# Hop latency at c=1, linger.ms=0: one POST at a time against one record at a time from the
# direct client.
SEQ_MESSAGES=3000
SEQ="$(${SLUICE_PIN:+taskset -c "$SLUICE_PIN"} target/release/sluice-bench direct-produce --bootstrap "$BOOT" --topic bench-direct --window 1 \
  --messages "$SEQ_MESSAGES" --size "$SIZE" --clk-tck "$CLK_TCK" --linger-ms 0)"
SEQ_P50="$(echo "$SEQ" | sed -E 's/.*"p50_us": ([0-9]+).*/\1/')"
SEQ_P99="$(echo "$SEQ" | sed -E 's/.*"p99_us": ([0-9]+).*/\1/')"
# c1 URL -> "p50_us p99_us errors": one POST at a time.
c1() {
  pinned wrk -t1 -c1 -d"$DURATION"s --latency -s "$WORK/post.lua" "$1" | awk '
  function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000; return v }
  /^ +50%/ { p50 = us($2) }
  /^ +99%/ { p99 = us($2) }
  /Non-2xx|Socket errors/ { errors += 1 }
  END { printf "%.0f %.0f %d\n", p50, p99, errors + 0 }'
}
read -r C1_P50 C1_P99 C1_ERR <<<"$(c1 "http://127.0.0.1:$HTTP_PORT/events-c1")"
read -r BASE_C1_P50 BASE_C1_P99 BASE_C1_ERR <<<"$(c1 "http://127.0.0.1:$BASE_PORT/produce-c1")"
FAILED=$((FAILED + C1_ERR + BASE_C1_ERR))

echo
printf '%-34s %12s %16s\n' "scenario (c=$CONNS, ${SIZE} B)" "req or msg/s" "CPU us per unit"
printf '%-34s %12s %16s\n' "sluice echo route (no Kafka)" "$ECHO_RATE" "$ECHO_CPU"
printf '%-34s %12s %16s\n' "sluice POST -> Kafka (204)" "$POST_RATE" "$POST_CPU"
printf '%-34s %12s %16s\n' "direct rdkafka, window $CONNS" "$DIRECT_RATE" "$DIRECT_CPU"
printf '%-34s %12s %16s\n' "baseline: minimal hyper echo" "$HYPER_ECHO_RATE" "$HYPER_ECHO_CPU"
printf '%-34s %12s %16s\n' "baseline: minimal hyper POST -> Kafka" "$HYPER_POST_RATE" "$HYPER_POST_CPU"
echo
awk -v p="$POST_RATE" -v e="$ECHO_RATE" -v d="$DIRECT_RATE" -v c="$POST_CPU" 'BEGIN {
  printf "POST / echo route:     %.2f  (goal >= 0.70)\n", p / e
  printf "POST / direct window:  %.2f  (report only; stretch >= 0.35)\n", p / d
  printf "baseline POST / baseline echo: %.2f (the limit of goal 1 on this machine)\n", '"$HYPER_POST_RATE"' / '"$HYPER_ECHO_RATE"'
  printf "Sluice echo / baseline echo:   %.2f; Sluice POST / baseline POST: %.2f\n", e / '"$HYPER_ECHO_RATE"', p / '"$HYPER_POST_RATE"'
  printf "proxy CPU per POST:    %.2f us (goal <= 8 us; includes librdkafka threads)\n", c
}'
# Open-loop latency at 50 % of the measured POST rate (plan goal 4) with oha: bench/all.sh
# builds it once into target/tools (ensure_oha in bench/common.sh); run alone, this script
# uses it when it is there.
OHA="${OHA:-$(command -v oha || echo target/tools/bin/oha)}"
if [ -x "$OHA" ]; then
  HALF="$(awk -v r="$POST_RATE" 'BEGIN { printf "%d", r / 2 }')"
  # open_loop URL -> "p50_us p99_us p999_us served_rate bad": oha at HALF req/s.
  open_loop() {
    pinned "$OHA" -z "${DURATION}s" -w -c "$CONNS" -q "$HALF" --latency-correction --no-tui --output-format json \
      -m POST -d "$(head -c "$SIZE" /dev/zero | tr '\0' x)" "$1" |
      python3 -c 'import json, sys
d = json.load(sys.stdin)
p = d["latencyPercentiles"]
codes = d["statusCodeDistribution"]
bad = sum(n for code, n in codes.items() if code != "204") + sum(d["errorDistribution"].values())
if bad:
    print("open loop:", codes, d["errorDistribution"], file=sys.stderr)
print(round(p["p50"] * 1e6), round(p["p99"] * 1e6), round(p["p99.9"] * 1e6), round(d["summary"]["requestsPerSec"]), bad)'
  }
  OPEN="$(open_loop "http://127.0.0.1:$HTTP_PORT/events")"
  read -r OPEN_P50 OPEN_P99 OPEN_P999 OPEN_RATE OPEN_BAD <<<"$OPEN"
  FAILED=$((FAILED + OPEN_BAD))
  BASE_OPEN="$(open_loop "http://127.0.0.1:$BASE_PORT/produce")"
  read -r BASE_OPEN_P50 BASE_OPEN_P99 BASE_OPEN_P999 BASE_OPEN_RATE BASE_OPEN_BAD <<<"$BASE_OPEN"
  FAILED=$((FAILED + BASE_OPEN_BAD))
  echo "baseline, open loop at the same rate: $BASE_OPEN_RATE req/s served, p50 $BASE_OPEN_P50 us, p99 $BASE_OPEN_P99 us, p99.9 $BASE_OPEN_P999 us"
  record produce.baseline_open_p99_us "$BASE_OPEN_P99"
  record produce.baseline_open_p999_us "$BASE_OPEN_P999"
  echo "open loop at $HALF req/s (50 % of max): $OPEN_RATE req/s served, p50 $OPEN_P50 us, p99 $OPEN_P99 us, p99.9 $OPEN_P999 us (goal: p99 <= 2 ms, p99.9 <= 5 ms)"
  record produce.open_rate "$OPEN_RATE"
  record produce.open_p50_us "$OPEN_P50"
  record produce.open_p99_us "$OPEN_P99"
  record produce.open_p999_us "$OPEN_P999"
else
  echo "open loop: not measured (no oha: run bench/all.sh once, or . bench/common.sh; ensure_oha)"
fi
printf 'c=1 hop latency, linger.ms=0: POST p50 %s us / p99 %s us; direct p50 %s us / p99 %s us (goal: p50 <= direct + 50, p99 <= direct + 250)\n' \
  "$C1_P50" "$C1_P99" "$SEQ_P50" "$SEQ_P99"
printf '  baseline hop (minimal hyper + the same producer): p50 %s us / p99 %s us\n' "$BASE_C1_P50" "$BASE_C1_P99"
echo "idle Sluice with one producer: $((IDLE_RSS / 1024)) MiB RSS (goal <= 20 MB)"
record produce.echo_rate "$ECHO_RATE"
record produce.post_rate "$POST_RATE"
record produce.direct_rate "$DIRECT_RATE"
record produce.post_cpu_us "$POST_CPU"
record produce.echo_cpu_us "$ECHO_CPU"
record produce.direct_cpu_us "$DIRECT_CPU"
record produce.c1_p50_us "$C1_P50"
record produce.c1_p99_us "$C1_P99"
record produce.direct_c1_p50_us "$SEQ_P50"
record produce.direct_c1_p99_us "$SEQ_P99"
record produce.idle_rss_kib "$IDLE_RSS"
record produce.hyper_echo_rate "$HYPER_ECHO_RATE"
record produce.hyper_echo_cpu_us "$HYPER_ECHO_CPU"
record produce.hyper_post_rate "$HYPER_POST_RATE"
record produce.hyper_post_cpu_us "$HYPER_POST_CPU"
record produce.baseline_c1_p50_us "$BASE_C1_P50"
record produce.baseline_c1_p99_us "$BASE_C1_P99"
record produce.errors "$FAILED"
if [ "$FAILED" != 0 ]; then
  echo "FAILED: $FAILED run(s) had non-2xx answers or socket errors" >&2
  exit 1
fi
