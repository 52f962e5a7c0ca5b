#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12), builds reckondb and starts reckond in single mode with
# its data in ./data: gRPC on 127.0.0.1:2113, HTTP (health, metrics) on 127.0.0.1:2114.
# Extra arguments go to reckond (see `reckond --help`). Stop it with Ctrl-C (clean shutdown).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh reckond reckon
echo "reckond: starting; try ./build/tools/cli/reckon status   (in another terminal)"
exec ./build/src/server/reckond --data-dir "${DATA_DIR:-./data}" "$@"
