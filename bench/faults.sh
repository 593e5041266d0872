#!/usr/bin/env bash
# Faults: Sluice's memory with 200 uploads stalled half way (1 MB sent of a 2 MB body) and
# 10 s after they are closed, at the default body budget; then produce across a 20 s broker
# pause (SIGSTOP / SIGCONT): produces answered 503, the longest answer, recovery time after
# SIGCONT, and /readyz. Prints the figures; fails only if produce never recovers.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
. bench/common.sh
bench_setup events
CONNECTIONS="${CONNECTIONS:-200}"
PAUSE_SECONDS="${PAUSE_SECONDS:-20}"
ADMIN_PORT="$(free_port)"
cat > "$WORK/faults.yaml" <<YAML
name: bench-faults
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: $HTTP_PORT }, exit: http }
  http:
    type: http
    kind: server
    options: { limits: { max-body-bytes: 4194304, max-connections: 1000 } }
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
        with: { capability: produce, topic: events }
  client: { type: kafka, kind: client, options: { servers: [ "$BOOT" ] } }
YAML
RUST_LOG=warn target/release/sluice serve --config "$WORK/faults.yaml" --data-dir "$WORK/data" \
  --admin-listen "127.0.0.1:$ADMIN_PORT" >"$WORK/sluice.log" 2>&1 &
SLUICE_PID=$!
trap 'kill "$SLUICE_PID" "$TANSU_PID" 2>/dev/null || true; kill -CONT "$BROKER_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_for_port "$HTTP_PORT" || { cat "$WORK/sluice.log"; exit 1; }
print_machine
echo "== $CONNECTIONS uploads of 2 MB stalled after 1 MB (body budget: the default 64 MiB)"
python3 bench/faults.py bodies "$HTTP_PORT" "$SLUICE_PID" "$CONNECTIONS" 1048576 | tee "$WORK/bodies.txt"
echo "== produce across a ${PAUSE_SECONDS} s broker pause"
python3 bench/faults.py pause "$HTTP_PORT" "$ADMIN_PORT" "$BROKER_PID" "$PAUSE_SECONDS" | tee "$WORK/pause.txt"
while read -r name value; do
  record "faults.$name" "$value"
done < <(cat "$WORK/bodies.txt" "$WORK/pause.txt")
