#!/usr/bin/env bash
# CPU cost of one acknowledged append, split between server and client: runs
# `reckon bench append ARGS...` against a running reckond and divides the CPU time each process
# used (from /proc and /usr/bin/time) by the number of acknowledged appends (and, for the
# delivery modes, by the number of deliveries too).
# Usage: RECKOND_PID=<pid> RECKON_SERVER=host:port bench/cpu_per_append.sh --clients 32 --duration 5
#        BENCH_MODE=subscribe RECKOND_PID=... RECKON_SERVER=... bench/cpu_per_append.sh --rate 5000
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RECKOND_PID:?set RECKOND_PID to the pid of reckond}"
ticks() { awk '{print $14 + $15}' "/proc/$RECKOND_PID/stat"; }
HZ=$(getconf CLK_TCK)
OUT=$(mktemp)
S1=$(ticks)
/usr/bin/time -f "%U %S" -o "$OUT.time" ./build/tools/cli/reckon bench "${BENCH_MODE:-append}" "$@" --json 2>/dev/null >"$OUT"
S2=$(ticks)
SERVER_TICKS=$((S2 - S1))
python3 -c '
import json, sys
out, timef, ticks, hz = sys.argv[1:5]
result = json.load(open(out))
user, sys_ = map(float, open(timef).read().split()[-2:])
calls = max(1, result["calls"])
server_us = int(ticks) / int(hz) * 1e6 / calls
client_us = (user + sys_) * 1e6 / calls
print("appends/s %.0f  events/s %.0f  server %.0f us/append  client %.0f us/append  p50 %s ms  p99 %s ms"
      % (result.get("appends_per_s", calls / result["duration_s"]), result["events_per_s"], server_us,
         client_us, result["p50_ms"], result["p99_ms"]), end="")
delivered = result.get("delivered", 0)
if delivered:
    print("  deliveries %d  server %.1f us/delivery  client %.1f us/delivery"
          % (delivered, server_us * calls / delivered, client_us * calls / delivered), end="")
print()
' "$OUT" "$OUT.time" "$SERVER_TICKS" "$HZ"
rm -f "$OUT" "$OUT.time"
