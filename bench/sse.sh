#!/usr/bin/env bash
# SSE benchmark:
#  1. 10,000 idle streams: Sluice RSS growth per connection; then IDLE_RATE (10) records/s for 10 s,
#     delivery latency (produce time -> client, one client in 16 sampled), gaps/duplicates.
#  2. 1,000 streams, RATE (200) records/s for 10 s: delivered events/s, latency, gaps/duplicates.
#  3. Idle soak: SOAK streams (50,000), keep-alive every 15 s (the default), held
#     SOAK_SECONDS (35), opened by SOAK_PROCS (4) load processes from 127.0.0.2, .3, ... (one
#     source address has about 28,000 ports): Sluice CPU while idle; every stream must stay
#     open and hear a keep-alive. Run as root, the script raises the fd hard limit first (for
#     Sluice and the load); otherwise SOAK is capped by the hard limit.
# Baseline (sluice-bench baseline, a minimal hyper server with Sluice's worker count, no
# Kafka), in the same run: scenarios 1 and 2 against it, records injected at the same rate,
# so that latency and CPU per event become ratios.
# Broker: Tansu (memory storage) on loopback; the feed consumer uses fetch.wait.max.ms=10.
# Clients, producer, broker and Sluice share the 2 cores. Exits non-zero on gaps,
# duplicates or missing events.
set -euo pipefail
cd "$(dirname "$0")/.."

IDLE="${IDLE:-10000}"
CLIENTS="${CLIENTS:-1000}"
RATE="${RATE:-200}"
IDLE_RATE="${IDLE_RATE:-10}"
SECONDS_RUN="${SECONDS_RUN:-10}"
SOAK_SECONDS="${SOAK_SECONDS:-35}"
SOAK_PROCS="${SOAK_PROCS:-4}"
# Root may raise the hard limit; Sluice raises its own soft limit to the hard limit at start.
if [ "$(id -u)" = 0 ] && [ "$(ulimit -Hn)" -lt 120000 ]; then
  ulimit -Hn 120000 2>/dev/null || true
fi
ulimit -n "$(ulimit -Hn)"
# Sluice holds one descriptor per stream, plus some of its own.
FD_ROOM=$(( $(ulimit -Hn) - 1000 ))
SOAK="${SOAK:-$(( FD_ROOM < 50000 ? FD_ROOM : 50000 ))}"

. bench/common.sh
bench_setup bench-sse
cat > "$WORK/sse.yaml" <<YAML
name: bench-sse
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: $HTTP_PORT }, exit: http }
  http:
    type: http
    kind: server
    options: { limits: { max-connections: 100000 } }
    routes:
      - when: [ { headers: { ":path": "/live" } } ]
        exit: sse
    exit: echo
  echo: { type: echo, kind: server }
  sse: { type: sse, kind: server, exit: sse_kafka }
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ { path: /live } ]
        exit: client
        with: { topic: bench-sse, start: live }
  client:
    type: kafka
    kind: client
    options:
      servers: [ "$BOOT" ]
      properties: { fetch.wait.max.ms: "10" }
YAML
start_sluice "$WORK/sse.yaml"

print_machine

# run CLIENTS RATE -> prints the load client's result line; records RSS once all are connected
run() {
  local clients="$1" rate="$2" expect
  expect=$((rate * SECONDS_RUN))
  target/release/sluice-bench sse-load --addr "127.0.0.1:$HTTP_PORT" --path /live \
    --clients "$clients" --seconds "$SECONDS_RUN" --expect "$expect" >"$WORK/load.out" 2>&1 &
  local load=$!
  for _ in $(seq 1 600); do grep -q connected "$WORK/load.out" && break; sleep 0.1; done
  sleep 1
  rss_kib > "$WORK/connected_rss"
  kafka_clients > "$WORK/kafka_clients"
  target/release/sluice-bench ts-produce --bootstrap "$BOOT" --topic bench-sse --rate "$rate" --seconds "$SECONDS_RUN" >/dev/null
  wait "$load" || { cat "$WORK/load.out" >&2; return 1; }
  tail -1 "$WORK/load.out"
}

BASE_RSS="$(rss_kib)"
IDLE_RESULT="$(run "$IDLE" "$IDLE_RATE")"
IDLE_RSS="$(cat "$WORK/connected_rss")"
sleep 2
CPU_BEFORE="$(cpu_ticks "$SLUICE_PID")"
LOAD_RESULT="$(run "$CLIENTS" "$RATE")"
CPU_AFTER="$(cpu_ticks "$SLUICE_PID")"
CPU_US_PER_EVENT="$(awk -v t="$((CPU_AFTER - CPU_BEFORE))" -v hz="$(getconf CLK_TCK)" -v e="$(json "$LOAD_RESULT" events)" \
  'BEGIN { printf "%.2f", t * 1e6 / hz / (e > 0 ? e : 1) }')"

# The same two runs against the baseline server: records injected at the same rates.
start_baseline
run_baseline() {
  local clients="$1" rate="$2" expect
  expect=$((rate * SECONDS_RUN))
  target/release/sluice-bench sse-load --addr "127.0.0.1:$BASE_PORT" --path /live \
    --clients "$clients" --seconds "$SECONDS_RUN" --expect "$expect" >"$WORK/base.out" 2>&1 &
  local load=$!
  for _ in $(seq 1 600); do grep -q connected "$WORK/base.out" && break; sleep 0.1; done
  sleep 1
  curl -sf -X POST "http://127.0.0.1:$BASE_PORT/inject?rate=$rate&seconds=$SECONDS_RUN" >/dev/null
  wait "$load" || { cat "$WORK/base.out" >&2; return 1; }
  tail -1 "$WORK/base.out"
}
BASE_IDLE_RESULT="$(run_baseline "$IDLE" "$IDLE_RATE")"
sleep 2
BASE_CPU_BEFORE="$(cpu_ticks "$BASE_PID")"
BASE_LOAD_RESULT="$(run_baseline "$CLIENTS" "$RATE")"
BASE_CPU_AFTER="$(cpu_ticks "$BASE_PID")"
BASE_CPU_US_PER_EVENT="$(awk -v t="$((BASE_CPU_AFTER - BASE_CPU_BEFORE))" -v hz="$(getconf CLK_TCK)" -v e="$(json "$BASE_LOAD_RESULT" events)" \
  'BEGIN { printf "%.2f", t * 1e6 / hz / (e > 0 ? e : 1) }')"
kill "$BASE_PID" 2>/dev/null || true

# Idle soak: CPU over the hold, all streams open with keep-alives, from SOAK_PROCS load
# processes with their own source addresses.
SOAK_PIDS=()
for i in $(seq 1 "$SOAK_PROCS"); do
  share=$(( SOAK / SOAK_PROCS + (i <= SOAK % SOAK_PROCS ? 1 : 0) ))
  target/release/sluice-bench sse-load --addr "127.0.0.1:$HTTP_PORT" --path /live --source "127.0.0.$((i + 1))" \
    --clients "$share" --seconds "$SOAK_SECONDS" --hold >"$WORK/soak.$i.out" 2>&1 &
  SOAK_PIDS+=($!)
done
for _ in $(seq 1 1200); do
  [ "$(cat "$WORK"/soak.*.out 2>/dev/null | grep -c connected)" = "$SOAK_PROCS" ] && break
  sleep 0.1
done
sleep 1
SOAK_RSS="$(rss_kib)"
SOAK_T0="$(date +%s.%N)"
SOAK_CPU0="$(cpu_ticks "$SLUICE_PID")"
# The first load process to finish ends the window in which all streams were held.
wait -n "${SOAK_PIDS[@]}" || true
SOAK_CPU1="$(cpu_ticks "$SLUICE_PID")"
SOAK_T1="$(date +%s.%N)"
for pid in "${SOAK_PIDS[@]}"; do
  wait "$pid" || { cat "$WORK"/soak.*.out >&2; exit 1; }
done
SOAK_OPEN=0
SOAK_HEARD=0
for i in $(seq 1 "$SOAK_PROCS"); do
  line="$(tail -1 "$WORK/soak.$i.out")"
  SOAK_OPEN=$((SOAK_OPEN + $(json "$line" open_at_end)))
  SOAK_HEARD=$((SOAK_HEARD + $(json "$line" heard_keepalive)))
done
SOAK_RESULT="{\"clients\": $SOAK, \"processes\": $SOAK_PROCS, \"open_at_end\": $SOAK_OPEN, \"heard_keepalive\": $SOAK_HEARD}"
SOAK_CPU_PCT="$(awk -v t="$((SOAK_CPU1 - SOAK_CPU0))" -v hz="$(getconf CLK_TCK)" -v a="$SOAK_T0" -v b="$SOAK_T1" \
  'BEGIN { printf "%.2f", 100 * t / hz / (b - a) }')"

echo
awk -v a="$IDLE_RSS" -v b="$BASE_RSS" -v n="$IDLE" 'BEGIN { printf "memory per idle stream at %d streams:  %.2f KiB Sluice RSS (goal <= 4 KB)\n", n, (a - b) / n }'
echo "$IDLE streams, $IDLE_RATE records/s:        $IDLE_RESULT"
echo "  (goal: p99 <= 25 ms from the record reaching Sluice; latencies here start at the produce)"
echo "$CLIENTS streams, $RATE records/s:        $LOAD_RESULT"
echo "  (goal: >= 200,000 delivered events/s with 1,000 clients)"
echo "Sluice CPU per delivered event: $CPU_US_PER_EVENT us"
echo "baseline (minimal hyper server, no Kafka, records injected at the same rates):"
echo "  $IDLE streams, $IDLE_RATE records/s:      $BASE_IDLE_RESULT"
echo "  $CLIENTS streams, $RATE records/s:      $BASE_LOAD_RESULT"
echo "  CPU per delivered event: $BASE_CPU_US_PER_EVENT us"
awk -v s="$(json "$IDLE_RESULT" p99_us)" -v b="$(json "$BASE_IDLE_RESULT" p99_us)" -v c="$CPU_US_PER_EVENT" -v bc="$BASE_CPU_US_PER_EVENT" \
  'BEGIN { printf "  Sluice / baseline: p99 at %s streams %.2f (goal <= 1.5), CPU per event %.2f (goal <= 1.3)\n", "'"$IDLE"'", s / b, c / bc }'
echo "idle soak, $SOAK streams for ${SOAK_SECONDS}s, keep-alive every 15 s (the default): Sluice CPU $SOAK_CPU_PCT % of one core, RSS $((SOAK_RSS / 1024)) MiB"
echo "  $SOAK_RESULT"
echo "  (goal: >= 50,000 idle streams where the fd limit allows, else the fd limit ($(ulimit -Hn) here); < 5 % CPU)"

record sse.base_rss_kib "$BASE_RSS"
record sse.idle_streams "$IDLE"
record sse.idle_kib_per_stream "$(awk -v a="$IDLE_RSS" -v b="$BASE_RSS" -v n="$IDLE" 'BEGIN { printf "%.2f", (a - b) / n }')"
record sse.idle_rate "$IDLE_RATE"
record sse.idle_p50_us "$(json "$IDLE_RESULT" p50_us)"
record sse.idle_p99_us "$(json "$IDLE_RESULT" p99_us)"
record sse.kafka_clients "$(cat "$WORK/kafka_clients")"
record sse.clients "$CLIENTS"
record sse.rate "$RATE"
record sse.events_per_s "$(json "$LOAD_RESULT" events_per_s)"
record sse.p50_us "$(json "$LOAD_RESULT" p50_us)"
record sse.p99_us "$(json "$LOAD_RESULT" p99_us)"
record sse.cpu_us_per_event "$CPU_US_PER_EVENT"
record sse.gaps "$(( $(json "$IDLE_RESULT" gaps) + $(json "$LOAD_RESULT" gaps) ))"
record sse.duplicates "$(( $(json "$IDLE_RESULT" duplicates) + $(json "$LOAD_RESULT" duplicates) ))"
record sse.baseline_idle_p50_us "$(json "$BASE_IDLE_RESULT" p50_us)"
record sse.baseline_idle_p99_us "$(json "$BASE_IDLE_RESULT" p99_us)"
record sse.baseline_p99_us "$(json "$BASE_LOAD_RESULT" p99_us)"
record sse.baseline_events_per_s "$(json "$BASE_LOAD_RESULT" events_per_s)"
record sse.baseline_cpu_us_per_event "$BASE_CPU_US_PER_EVENT"
record sse.soak_streams "$SOAK"
record sse.soak_processes "$SOAK_PROCS"
record sse.soak_fd_limit "$(ulimit -Hn)"
record sse.soak_seconds "$SOAK_SECONDS"
record sse.soak_open_at_end "$(json "$SOAK_RESULT" open_at_end)"
record sse.soak_heard_keepalive "$(json "$SOAK_RESULT" heard_keepalive)"
record sse.soak_cpu_pct "$SOAK_CPU_PCT"
record sse.soak_rss_kib "$SOAK_RSS"
