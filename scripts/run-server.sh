#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12), builds reckondb and starts a single-node store on ./data.
# Until the reckond server lands, this runs the embedded store demo (tools/demo_main.cc).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh reckon-demo
exec ./build/tools/reckon-demo "${DATA_DIR:-./data}"
