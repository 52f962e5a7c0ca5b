#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12) and runs every test: unit, integration and fault tests.
# Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd "${BUILD_DIR:-build}"
# Tests that start processes pick free loopback ports; a port taken by a parallel test between
# pick and bind is retried once rather than failing the run (a real failure fails twice).
ctest --output-on-failure --timeout 600 -j "$(nproc)" --repeat until-pass:2 "$@"
