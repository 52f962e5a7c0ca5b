#!/usr/bin/env bash
# Benchmarks over gRPC: starts a fresh reckond (single mode, temp data dir, loopback ports),
# runs the `reckon bench` workloads of docs/PERFORMANCE.md, prints one JSON result per line
# (prefixed with the workload name), and stops the server. Client and server share the machine.
# Usage: bench/grpc_bench.sh [seconds per workload, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
. bench/start_reckond.sh grpc-bench

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
