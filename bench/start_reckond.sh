# Sourced by the gRPC benchmark scripts: starts a fresh single-mode reckond on a temp data dir
# and loopback ports, waits until it serves, exports RECKON_SERVER for `reckon`, and stops it
# (removing its data) when the script exits. Sets RECKOND, RECKON and DATA (the temp dir).
# Usage: . bench/start_reckond.sh NAME   (from the project root)
# RECKOND=path runs another server binary (A/B runs); RECKOND_ARGS adds server flags.
RECKOND=${RECKOND:-./build/src/server/reckond}
RECKON=./build/tools/cli/reckon
DATA=$(mktemp -d "/tmp/reckon-${1:-bench}-XXXXXX")
# Below the ephemeral range (32768+), so no outgoing connection holds the port meanwhile.
PORT=$((10000 + RANDOM % 20000))
HTTP=$((PORT + 1))
"$RECKOND" ${RECKOND_ARGS:-} --data-dir "$DATA/data" --listen 127.0.0.1:$PORT --http 127.0.0.1:$HTTP >"$DATA/reckond.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$HTTP/health" >/dev/null 2>&1 && break
  sleep 0.1
done
export RECKON_SERVER=127.0.0.1:$PORT
