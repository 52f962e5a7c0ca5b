#!/usr/bin/env bash
# Subscription delivery benchmarks (issue 4): starts a fresh reckond (single mode, temp data dir,
# loopback ports), runs the `reckon bench subscribe` / `reckon bench consume` workloads of
# docs/PERFORMANCE.md ("Subscription delivery") RUNS times each, prints one JSON result per line
# (prefixed with the workload name and run), then a table of medians, and stops the server.
# Client and server share the machine.
# Usage: bench/delivery_bench.sh [seconds per live workload, default 10] [workload name filter]
#   RUNS=3 (default) runs per workload; the medians are over them.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
FILTER=${2:-}
RUNS=${RUNS:-3}
. bench/start_reckond.sh delivery-bench
RESULTS="$DATA/results"

run() {  # name, reckon args...
  local name=$1
  shift
  [[ -n "$FILTER" && "$name" != *"$FILTER"* ]] && return 0
  for i in $(seq "$RUNS"); do
    local line
    line=$("$RECKON" "$@" --json 2>/dev/null || true)
    printf '%s #%d %s\n' "$name" "$i" "$line" | tee -a "$RESULTS"
  done
}

# Live delivery latency (append acknowledged -> received), catch-up subscriptions.
run subscribe-1k bench subscribe --rate 1000 --duration "$DURATION"
run subscribe-10k bench subscribe --rate 10000 --duration "$DURATION"
run subscribe-1k-100-subscribers bench subscribe --rate 1000 --subscribers 100 --duration "$DURATION"
# Catch-up throughput: history read by 1 and by 100 subscribers at once.
run catch-up-1-subscriber bench subscribe --prefill 1000000
run catch-up-100-subscribers bench subscribe --prefill 100000 --subscribers 100
# Persistent subscriptions: live latency, then backlog throughput with 1 and 4 consumers.
run consume-1k bench consume --rate 1000 --duration "$DURATION"
run consume-10k bench consume --rate 10000 --duration "$DURATION"
run consume-backlog-1-consumer bench consume --prefill 200000 --consumers 1
run consume-backlog-4-consumers bench consume --prefill 200000 --consumers 4

[[ -s "$RESULTS" ]] || exit 0
python3 - "$RESULTS" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, _, text = line.rstrip("\n").split(" ", 2)
    try:
        runs.setdefault(name, []).append(json.loads(text))
    except ValueError:
        runs.setdefault(name, []).append(None)
print("\nmedians over the runs (events_per_s | delivered_per_s | p50 / p99 / p99.9 / max ms | failed runs):")
for name, rs in runs.items():
    ok = [r for r in rs if r]
    med = lambda k: statistics.median([r.get(k, 0) for r in ok]) if ok else 0
    print(f"{name:32} {med('events_per_s'):>11.1f} | {med('delivered_per_s'):>11.1f} | "
          f"{med('p50_ms'):.3f} / {med('p99_ms'):.3f} / {med('p999_ms'):.3f} / {med('max_ms'):.3f} | "
          f"{len(rs) - len(ok)}")
EOF
