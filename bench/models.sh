#!/usr/bin/env bash
# The cost of models per request: the same 1 KB JSON body produced through a plain route and
# through routes whose topic has a JSON Schema, an Avro (view: json) and a Protobuf (view:
# json) value model from an inline catalog, and Avro from a schema registry (the tests'
# registry, run by sluice-bench). Rounds are interleaved (plain, json, avro, proto, registry,
# plain, ...) and the median of ROUNDS is reported, as CPU microseconds per request of the
# Sluice process and the difference to the plain route.
#
# Also counts the requests the registry served while the registry route was under load:
# after warm-up it must be 0 (every schema is cached).
#
# Exits non-zero on a correctness failure (a non-2xx answer, a registry lookup per produce),
# never on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-5}"
CONNS="${CONNS:-16}"
ROUNDS="${ROUNDS:-3}"
CLK_TCK="$(getconf CLK_TCK)"

. bench/common.sh
bench_setup bench-models-plain bench-models-json bench-models-avro bench-models-proto bench-models-reg

cat > "$WORK/item.avsc" <<'JSON'
{"type": "record", "name": "Item", "namespace": "bench", "fields": [
  {"name": "id", "type": "string"}, {"name": "name", "type": "string"},
  {"name": "count", "type": "long"}, {"name": "tags", "type": {"type": "array", "items": "string"}},
  {"name": "note", "type": "string"}]}
JSON
cat > "$WORK/item.proto" <<'PROTO'
syntax = "proto3";
package bench;
message Item {
  string id = 1;
  string name = 2;
  int64 count = 3;
  repeated string tags = 4;
  string note = 5;
}
PROTO
cat > "$WORK/item.json" <<'JSON'
{"type": "object", "additionalProperties": false,
 "required": ["id", "name", "count", "tags", "note"],
 "properties": {"id": {"type": "string", "maxLength": 64}, "name": {"type": "string"},
  "count": {"type": "integer", "minimum": 0}, "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
  "note": {"type": "string", "maxLength": 4000}}}
JSON

target/release/sluice-bench registry --schema "bench-models-reg-value=AVRO:$WORK/item.avsc" > "$WORK/registry.json" &
REGISTRY_PID=$!
trap 'kill "$REGISTRY_PID" "${SLUICE_PID:-}" "$TANSU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/registry.json" ] && break; sleep 0.1; done
REGISTRY_URL="$(sed -E 's/.*"url":"([^"]+)".*/\1/' "$WORK/registry.json")"

route() { # PATH TOPIC
  printf '      - when: [ { method: POST, path: %s } ]\n        exit: cache\n        with: { capability: produce, topic: %s }\n' "$1" "$2"
}
topic() { # TOPIC MODEL
  printf '        - name: %s\n          value: %s\n' "$1" "$2"
}
indent() { sed 's/^/            /'; }
{
  echo "name: bench"
  echo "catalogs:"
  echo "  local:"
  echo "    type: inline"
  echo "    options:"
  echo "      subjects:"
  for subject in avsc proto json; do
    echo "        item_$subject:"
    echo "          schema: |"
    indent < "$WORK/item.$subject"
  done
  echo "  registry:"
  echo "    type: schema-registry"
  echo "    options: { url: \"$REGISTRY_URL\" }"
  echo "bindings:"
  echo "  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: $HTTP_PORT }, exit: http }"
  echo "  http: { type: http, kind: server, exit: mapping }"
  echo "  mapping:"
  echo "    type: http-kafka"
  echo "    kind: proxy"
  echo "    routes:"
  route /plain bench-models-plain
  route /json bench-models-json
  route /avro bench-models-avro
  route /proto bench-models-proto
  route /registry bench-models-reg
  echo "  cache:"
  echo "    type: kafka"
  echo "    kind: cache_client"
  echo "    options:"
  echo "      topics:"
  topic bench-models-json "{ model: json, catalog: { local: [ { subject: item_json } ] } }"
  topic bench-models-avro "{ model: avro, view: json, catalog: { local: [ { subject: item_avsc } ] } }"
  topic bench-models-proto "{ model: protobuf, view: json, catalog: { local: [ { subject: item_proto, record: Item } ] } }"
  topic bench-models-reg "{ model: avro, view: json, catalog: { registry: [ { strategy: topic } ] } }"
  echo "    exit: client"
  echo "  client: { type: kafka, kind: client, options: { servers: [ \"$BOOT\" ], properties: { linger.ms: \"1\" } } }"
} > "$WORK/models.yaml"
start_sluice "$WORK/models.yaml"
# start_sluice set its own trap; the registry goes too.
trap 'kill "$REGISTRY_PID" "$SLUICE_PID" "${TANSU_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# A 1 KB body that fits all three schemas.
NOTE="$(head -c 900 /dev/zero | tr '\0' n)"
BODY="{\"id\": \"item-0001\", \"name\": \"a benchmark item\", \"count\": 42, \"tags\": [\"red\", \"green\", \"blue\", \"large\"], \"note\": \"$NOTE\"}"
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["content-type"] = "application/json"
LUA
BYTES="${#BODY}"

registry_requests() { curl -s "$REGISTRY_URL/_requests"; }

print_machine
echo "== wrk -t1 -c$CONNS, $BYTES-byte JSON bodies, ${DURATION}s per run, $ROUNDS interleaved rounds"
ROUTES="plain json avro proto registry"
FAILED=0
for path in $ROUTES; do wrk_post "/$path" 1 > /dev/null; done
LOOKUPS_BEFORE="$(registry_requests)"
for round in $(seq 1 "$ROUNDS"); do
  line="round $round:"
  for path in $ROUTES; do
    read -r rate _ cpu errors < <(wrk_post "/$path" "$DURATION")
    echo "$rate $cpu" >> "$WORK/$path"
    FAILED=$((FAILED + errors))
    line="$line $path $rate req/s ${cpu} us;"
  done
  echo "$line"
done
LOOKUPS="$(( $(registry_requests) - LOOKUPS_BEFORE ))"

echo
printf '%-30s %10s %16s %18s\n' "route ($BYTES B JSON body)" "req/s" "CPU us per req" "over plain (us)"
PLAIN_CPU="$(cut -d' ' -f2 "$WORK/plain" | median)"
for path in $ROUTES; do
  rate="$(cut -d' ' -f1 "$WORK/$path" | median)"
  cpu="$(cut -d' ' -f2 "$WORK/$path" | median)"
  over="$(awk -v c="$cpu" -v p="$PLAIN_CPU" 'BEGIN { printf "%+.2f", c - p }')"
  printf '%-30s %10s %16s %18s\n' "$path" "$rate" "$cpu" "$over"
  record "models.${path}_rate" "$rate"
  record "models.${path}_cpu_us" "$cpu"
  record "models.${path}_over_plain_us" "$over"
done
echo "registry requests during $ROUNDS x ${DURATION}s of registry-route load: $LOOKUPS (goal: 0 after warm-up)"
record models.registry_lookups_under_load "$LOOKUPS"
record models.errors "$FAILED"
if [ "$FAILED" != 0 ]; then
  echo "FAILED: $FAILED run(s) had non-2xx answers or socket errors" >&2
  exit 1
fi
if [ "$LOOKUPS" != 0 ]; then
  echo "FAILED: the registry was asked $LOOKUPS times under load" >&2
  exit 1
fi
