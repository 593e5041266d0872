#!/usr/bin/env bash
# The cost of tracing: CPU per one-way POST with traces off, sampled at 100 % and at 1 %,
# three Sluice processes on one configuration each (the exporter's `sampling` differs), the
# collector a `sluice-bench baseline` answering OTLP exports with 200. Runs are interleaved
# (off, 100 %, 1 %, off, ...) and the median of PAIRS is reported, with each one's excess
# over off. The requests carry no `traceparent`, so each starts a new trace and the ratio
# decides (a client's sampled flag would override it).
#
# Exits non-zero only on correctness failures (non-2xx answers, socket errors).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-5}"
CONNS="${CONNS:-64}"
SIZE="${SIZE:-100}"
PAIRS="${PAIRS:-3}"

. bench/common.sh
bench_setup bench-trace
start_baseline
COLLECTOR="http://127.0.0.1:$BASE_PORT"

# config PORT EXPORTER_BLOCK: a produce route on PORT with the given telemetry.
config() {
  cat <<YAML
name: bench-trace
$2
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: $1 }, exit: http }
  http: { type: http, kind: server, exit: mapping }
  mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ { method: POST, path: /events } ]
        exit: client
        with: { capability: produce, topic: bench-trace }
  client: { type: kafka, kind: client, options: { servers: [ "$BOOT" ], properties: { linger.ms: "1" } } }
YAML
}
telemetry() {
  cat <<YAML
telemetry:
  exporters:
    collector:
      type: otlp
      options: { signals: [ traces ], sampling: $1, endpoint: { location: "$COLLECTOR" } }
YAML
}

declare -A PID PORT ADMIN
for variant in off all one; do
  PORT[$variant]="$(free_port)"
  ADMIN[$variant]="$(free_port)"
  case "$variant" in
    off) config "${PORT[$variant]}" "" > "$WORK/$variant.yaml" ;;
    all) config "${PORT[$variant]}" "$(telemetry 1)" > "$WORK/$variant.yaml" ;;
    one) config "${PORT[$variant]}" "$(telemetry 0.01)" > "$WORK/$variant.yaml" ;;
  esac
  HTTP_PORT="${PORT[$variant]}"
  mkdir -p "$WORK/$variant"
  RUST_LOG=warn TOKIO_WORKER_THREADS="${WORKERS:-2}" target/release/sluice serve --config "$WORK/$variant.yaml" \
    --data-dir "$WORK/$variant/data" --admin-listen "127.0.0.1:${ADMIN[$variant]}" >"$WORK/$variant.log" 2>&1 &
  PID[$variant]=$!
  wait_for_port "$HTTP_PORT" || { cat "$WORK/$variant.log"; exit 1; }
done
trap 'kill "${PID[off]}" "${PID[all]}" "${PID[one]}" "$BASE_PID" "$TANSU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = string.rep("x", $SIZE)
wrk.headers["content-type"] = "application/octet-stream"
LUA

# on VARIANT SECONDS -> "rate requests cpu_us errors"
on() { SLUICE_PID="${PID[$1]}" HTTP_PORT="${PORT[$1]}" wrk_post /events "$2"; }

print_machine
echo "== traces: off, sampled 100 %, sampled 1 % (OTLP/HTTP to a local collector); wrk -t1 -c$CONNS, ${SIZE}-byte bodies, ${DURATION}s per run, $PAIRS interleaved rounds"
for variant in off all one; do on "$variant" 2 >/dev/null; done
FAILED=0
for round in $(seq 1 "$PAIRS"); do
  for variant in off all one; do
    read -r rate n cpu errors < <(on "$variant" "$DURATION")
    echo "round $round $variant: $rate req/s, $cpu µs CPU per request"
    echo "$cpu" >> "$WORK/$variant.cpu"
    echo "$rate" >> "$WORK/$variant.rate"
    [ "$errors" = 0 ] || FAILED=1
  done
done
off="$(median < "$WORK/off.cpu")"
all="$(median < "$WORK/all.cpu")"
one="$(median < "$WORK/one.cpu")"
echo "== median CPU per POST: off $off µs, sampled 100 % $all µs (+$(awk -v a="$all" -v o="$off" 'BEGIN { printf "%.2f", a - o }') µs), sampled 1 % $one µs (+$(awk -v a="$one" -v o="$off" 'BEGIN { printf "%.2f", a - o }') µs)"
echo "== median rate: off $(median < "$WORK/off.rate"), 100 % $(median < "$WORK/all.rate"), 1 % $(median < "$WORK/one.rate") req/s"
# What became of the spans: a run that dropped spans measured less work than it should.
for variant in all one; do
  spans="$(curl -s "http://127.0.0.1:${ADMIN[$variant]}/metrics" | grep '^sluice_trace_spans' | tr '\n' ' ')"
  echo "== spans ($variant): $spans"
done
record trace.cpu_us_off "$off"
record trace.cpu_us_all "$all"
record trace.cpu_us_one "$one"
exit "$FAILED"
