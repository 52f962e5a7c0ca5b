#!/usr/bin/env bash
# Benchmarks over gRPC: starts a fresh reckond (single mode, temp data dir, loopback ports),
# runs the `reckon bench` workloads of docs/PERFORMANCE.md, prints one JSON result per line
# (prefixed with the workload name), and stops the server. Client and server share the machine.
# Usage: bench/grpc_bench.sh [seconds per workload, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
RECKOND=./build/src/server/reckond
RECKON=./build/tools/cli/reckon
DATA=$(mktemp -d /tmp/reckon-grpc-bench-XXXXXX)
PORT=$((20000 + RANDOM % 20000))
HTTP=$((PORT + 1))
"$RECKOND" --data-dir "$DATA/data" --listen 127.0.0.1:$PORT --http 127.0.0.1:$HTTP >"$DATA/reckond.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$HTTP/health" >/dev/null 2>&1 && break
  sleep 0.1
done
export RECKON_SERVER=127.0.0.1:$PORT

run() {  # name, reckon args...
  local name=$1
  shift
  printf '%s ' "$name"
  "$RECKON" "$@" --json 2>/dev/null
}

run append-32-threads bench append --clients 32 --duration "$DURATION"
run append-32-async bench append --async --connections 2 --clients 32 --duration "$DURATION"
run append-64-async bench append --async --connections 2 --clients 64 --duration "$DURATION"
run append-32-multiplexed bench append --async --multiplex --connections 1 --clients 32 --duration "$DURATION"
run append-64-multiplexed bench append --async --multiplex --connections 2 --clients 64 --duration "$DURATION"
PEAK=$("$RECKON" bench append --async --multiplex --connections 2 --clients 64 --duration "$DURATION" --json 2>/dev/null |
  python3 -c 'import json,sys; print(int(json.load(sys.stdin)["appends_per_s"]))')
run "append-open-loop-half-peak(${PEAK}/2)" bench append --rate $((PEAK / 2)) --multiplex --connections 2 --clients 512 --duration "$DURATION"
run append-batch100-4-threads bench append --clients 4 --batch 100 --duration "$DURATION"
run append-batch100-16-async bench append --async --connections 2 --clients 16 --batch 100 --duration "$DURATION"
run append-batch100-16-multiplexed bench append --async --multiplex --connections 2 --clients 16 --batch 100 --duration "$DURATION"
run read-all-streamed bench read --mode all --batch 100000 --prefill 1000000 --clients 1 --duration "$DURATION"
