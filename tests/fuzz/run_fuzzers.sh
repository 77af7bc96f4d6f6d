#!/usr/bin/env bash
# Placeholder until the fuzz branch lands: runs each fuzz target for N seconds.
set -euo pipefail
secs=${1:-8}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
for t in "$build"/tests/fuzz/fuzz_*; do
  [[ -x "$t" ]] || continue
  corpus=$(mktemp -d)
  "$t" "$corpus" -max_total_time="$secs" -rss_limit_mb=4096 2>&1 | tail -1
  rm -rf "$corpus"
done
