#!/usr/bin/env bash
# Instructions per request, counted with callgrind: what Sluice's user-space code costs on
# one request, free of the timing noise of the rate benchmarks (the kernel's part is not
# counted, and it is the same on both sides of each pair).
#  1. 304 (GET of an item with a matching If-None-Match) against the echo route (GET).
#  2. POST -> Kafka against the minimal server's POST -> Kafka (sluice-bench baseline).
# Each server runs under `valgrind --tool=callgrind` with one tokio worker, instrumentation
# switched on after start-up; a warm-up, then MEASURE seconds of wrk -c4 (GETs) or -c8
# (POSTs) are counted; librdkafka's threads are counted too. Prints instructions per
# request and the 12 functions with the most inclusive instructions of each run; the
# profiles are kept in target/bench/callgrind/ for callgrind_annotate.
# Needs valgrind (installed with apt-get when missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

MEASURE="${MEASURE:-15}"
. bench/common.sh
if ! command -v callgrind_control >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
  else
    echo "valgrind is needed: sudo apt-get install -y valgrind" >&2
    exit 1
  fi
fi
bench_setup cg-items cg-posts
OUT="target/bench/callgrind"
mkdir -p "$OUT"
rm -f "$OUT"/*.out*
cat > "$WORK/cg.yaml" <<YAML
name: bench-callgrind
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
      - when: [ { method: GET, path: "/items/{id}" } ]
        exit: client
        with: { capability: fetch, topic: cg-items, filters: [ { key: "\${params.id}" } ] }
      - when: [ { method: PUT, path: "/items/{id}" } ]
        exit: client
        with: { capability: produce, topic: cg-items, key: "\${params.id}" }
      - when: [ { method: POST, path: /events } ]
        exit: client
        with: { capability: produce, topic: cg-posts }
  client:
    type: kafka
    kind: client
    options:
      servers: [ "$BOOT" ]
      properties: { fetch.wait.max.ms: "10" }
YAML
echo 'wrk.method = "POST"; wrk.body = string.rep("x", 100); wrk.headers["Content-Type"] = "text/plain"' > "$WORK/post.lua"

# under_callgrind NAME COMMAND...: starts COMMAND under callgrind, instrumentation off; sets CG_PID
under_callgrind() {
  local name=$1
  shift
  RUST_LOG=warn TOKIO_WORKER_THREADS=1 valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$OUT/$name.out" "$@" >"$WORK/$name.log" 2>&1 &
  CG_PID=$!
  trap 'kill "$CG_PID" "$TANSU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
}

# measure PROFILE CONNECTIONS URL [wrk args...]: counts MEASURE seconds of URL into
# $OUT/PROFILE and prints instructions per request
measure() {
  local profile=$1 connections=$2 url=$3
  shift 3
  wrk -t1 -c"$connections" -d5s "$@" "$url" >/dev/null
  callgrind_control -z "$CG_PID" >/dev/null 2>&1
  local requests
  requests="$(wrk -t1 -c"$connections" -d"${MEASURE}s" "$@" "$url" | awk '/requests in/ { print $1 }')"
  callgrind_control -d "$profile" "$CG_PID" >/dev/null 2>&1
  local dump
  dump="$(ls -t "$OUT"/*.out.* | head -1)"
  mv "$dump" "$OUT/$profile.out"
  local total
  total="$(callgrind_annotate "$OUT/$profile.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')"
  printf '%-34s %8d requests  %7d instructions per request\n' "$profile" "$requests" $((total / requests))
  record "callgrind.${profile}_ir_per_request" $((total / requests))
}

# top PROFILE: the 12 functions of Sluice's own code (or the baseline's) with the most
# instructions, callees included
top() {
  callgrind_annotate --inclusive=yes "$OUT/$1.out" 2>/dev/null |
    awk '/^-- Auto-annotated/ { exit } /file:function/ { on = 1; next } on && NF' |
    sed -E 's#/root/.cargo/registry/src/[^/]+/##; s#'"$PWD"'/##g; s#/rustc/[0-9a-f]+/library/##' |
    grep -E ' (dataplane|shared|controlplane)/src/|bench/src/' | grep -v 'listener.rs:' | head -12 | cut -c1-150
}

print_machine
under_callgrind sluice target/release/sluice serve --config "$WORK/cg.yaml" --data-dir "$WORK/data" --admin-listen 127.0.0.1:0
wait_for_port "$HTTP_PORT" 600 || { cat "$WORK/sluice.log"; exit 1; }
curl -sf -X PUT -d '{"v":1}' "http://127.0.0.1:$HTTP_PORT/items/key-1" >/dev/null
sleep 2
ETAG="$(curl -s -D - -o /dev/null "http://127.0.0.1:$HTTP_PORT/items/key-1" | awk 'tolower($1) == "etag:" { print $2 }' | tr -d '\r')"
echo "wrk.headers[\"If-None-Match\"] = '$ETAG'" > "$WORK/inm.lua"
callgrind_control -i on "$CG_PID" >/dev/null 2>&1
measure echo 4 "http://127.0.0.1:$HTTP_PORT/echo"
measure not-modified 4 "http://127.0.0.1:$HTTP_PORT/items/key-1" -s "$WORK/inm.lua"
measure post 8 "http://127.0.0.1:$HTTP_PORT/events" -s "$WORK/post.lua"
kill "$CG_PID"
wait "$CG_PID" 2>/dev/null || true

BASE_PORT="$(free_port)"
under_callgrind baseline target/release/sluice-bench baseline --addr "127.0.0.1:$BASE_PORT" --bootstrap "$BOOT" --topic cg-posts
wait_for_port "$BASE_PORT" 600 || { cat "$WORK/baseline.log"; exit 1; }
callgrind_control -i on "$CG_PID" >/dev/null 2>&1
measure baseline-post 8 "http://127.0.0.1:$BASE_PORT/produce" -s "$WORK/post.lua"
kill "$CG_PID"
wait "$CG_PID" 2>/dev/null || true

for profile in not-modified post baseline-post; do
  echo
  echo "== $profile: its own functions with the most instructions, callees included"
  top "$profile"
done
