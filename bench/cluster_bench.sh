#!/usr/bin/env bash
# Durable appends through a 3-node cluster of real reckond processes on this machine (loopback
# ports, temp data dirs): starts the cluster, waits for a leader, runs `reckon bench append`
# against all three endpoints (the client follows the leader) for each workload below, prints
# one JSON result per line prefixed with the workload name, and stops the nodes (their data
# dirs are removed). Client and the three nodes share this machine's cores and disk.
# Usage: bench/cluster_bench.sh [seconds per workload, default 10]
# RECKOND=path runs another server binary; RECKOND_ARGS adds flags to every node.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
RECKOND=${RECKOND:-./build/src/server/reckond}
RECKON=./build/tools/cli/reckon
DATA=$(mktemp -d /tmp/reckon-cluster-bench-XXXXXX)
# Below the ephemeral range (32768+), so no outgoing connection holds a port meanwhile.
BASE=$((10000 + RANDOM % 20000))
PEERS="1=127.0.0.1:$((BASE + 1)),2=127.0.0.1:$((BASE + 2)),3=127.0.0.1:$((BASE + 3))"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$DATA"
}
trap cleanup EXIT
ENDPOINTS=""
for i in 1 2 3; do
  "$RECKOND" ${RECKOND_ARGS:-} --mode cluster --node-id $i --raft-listen 127.0.0.1:$((BASE + i)) --peers "$PEERS" \
    --data-dir "$DATA/node$i" --listen 127.0.0.1:$((BASE + 10 + i)) --http 127.0.0.1:$((BASE + 20 + i)) \
    >"$DATA/node$i.log" 2>&1 &
  PIDS+=($!)
  ENDPOINTS="${ENDPOINTS:+$ENDPOINTS,}127.0.0.1:$((BASE + 10 + i))"
done
export RECKON_SERVER=$ENDPOINTS
for _ in $(seq 150); do
  "$RECKON" status --json 2>/dev/null | grep -q '"leader":[1-9]' && break
  sleep 0.1
done
# Let start-up I/O (log segments, RocksDB files) finish before measuring.
sleep 1.5

run() {  # name, reckon args...
  local name=$1
  shift
  printf '%s ' "$name"
  "$RECKON" "$@" --json 2>>"$DATA/bench.err" || { echo; tail -3 "$DATA/bench.err" >&2; }
}

run append-1-thread bench append --clients 1 --duration "$DURATION"
run append-8-threads bench append --clients 8 --duration "$DURATION"
run append-32-threads bench append --clients 32 --duration "$DURATION"
run append-32-multiplexed bench append --async --multiplex --connections 1 --clients 32 --duration "$DURATION"
run append-64-multiplexed bench append --async --multiplex --connections 2 --clients 64 --duration "$DURATION"
run append-batch100-16-async bench append --async --connections 2 --clients 16 --batch 100 --duration "$DURATION"
