#!/usr/bin/env bash
# SSE benchmark:
#  1. 10,000 idle streams: Sluice RSS growth per connection; then IDLE_RATE (10) records/s for 10 s,
#     delivery latency (produce time -> client, one client in 16 sampled), gaps/duplicates.
#  2. 1,000 streams, RATE (200) records/s for 10 s: delivered events/s, latency, gaps/duplicates.
#  3. Idle soak: SOAK streams (50,000, or as many as this machine's per-process fd limit allows),
#     keep-alive every 15 s (the default), held SOAK_SECONDS (35): Sluice CPU while idle; every stream must
#     stay open and hear a keep-alive.
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
ulimit -n "$(ulimit -Hn)"
# Sluice and the load client each hold one descriptor per stream, plus some of their own.
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

# Idle soak at the fd limit: CPU over the hold, all streams open with keep-alives.
target/release/sluice-bench sse-load --addr "127.0.0.1:$HTTP_PORT" --path /live \
  --clients "$SOAK" --seconds "$SOAK_SECONDS" --hold >"$WORK/soak.out" 2>&1 &
SOAK_LOAD=$!
for _ in $(seq 1 900); do grep -q connected "$WORK/soak.out" && break; sleep 0.1; done
sleep 1
SOAK_RSS="$(rss_kib)"
SOAK_T0="$(date +%s.%N)"
SOAK_CPU0="$(cpu_ticks "$SLUICE_PID")"
wait "$SOAK_LOAD" || { cat "$WORK/soak.out" >&2; exit 1; }
SOAK_CPU1="$(cpu_ticks "$SLUICE_PID")"
SOAK_T1="$(date +%s.%N)"
SOAK_RESULT="$(tail -1 "$WORK/soak.out")"
SOAK_CPU_PCT="$(awk -v t="$((SOAK_CPU1 - SOAK_CPU0))" -v hz="$(getconf CLK_TCK)" -v a="$SOAK_T0" -v b="$SOAK_T1" \
  'BEGIN { printf "%.2f", 100 * t / hz / (b - a) }')"

echo
awk -v a="$IDLE_RSS" -v b="$BASE_RSS" -v n="$IDLE" 'BEGIN { printf "memory per idle stream at %d streams:  %.2f KiB Sluice RSS (goal <= 4 KB)\n", n, (a - b) / n }'
echo "$IDLE streams, $IDLE_RATE records/s:        $IDLE_RESULT"
echo "  (goal: p99 <= 25 ms from the record reaching Sluice; latencies here start at the produce)"
echo "$CLIENTS streams, $RATE records/s:        $LOAD_RESULT"
echo "  (goal: >= 200,000 delivered events/s with 1,000 clients)"
echo "Sluice CPU per delivered event: $CPU_US_PER_EVENT us"
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
record sse.soak_streams "$SOAK"
record sse.soak_fd_limit "$(ulimit -Hn)"
record sse.soak_seconds "$SOAK_SECONDS"
record sse.soak_open_at_end "$(json "$SOAK_RESULT" open_at_end)"
record sse.soak_heard_keepalive "$(json "$SOAK_RESULT" heard_keepalive)"
record sse.soak_cpu_pct "$SOAK_CPU_PCT"
record sse.soak_rss_kib "$SOAK_RSS"
