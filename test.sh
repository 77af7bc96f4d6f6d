#!/usr/bin/env bash
# Builds Sluice (Release) and runs the whole test suite with ctest.
# Installs missing Debian packages first. Usage: ./test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")"
source .ci/deps.sh
sluice_install_deps
build=${SLUICE_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
