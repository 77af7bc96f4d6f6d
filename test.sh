#!/usr/bin/env bash
# Builds Sluice (Release) and runs the whole test suite with ctest.
# Installs missing Debian packages first. Usage: ./test.sh [extra ctest args]
# SLUICE_BUILD_DIR (default build) and SLUICE_CMAKE_FLAGS (extra configure flags, e.g.
# -DSLUICE_WERROR=ON as CI sets) adjust the build.
set -euo pipefail
cd "$(dirname "$0")"
source .ci/deps.sh
sluice_install_deps
build=${SLUICE_BUILD_DIR:-build}
# shellcheck disable=SC2086  # SLUICE_CMAKE_FLAGS is a list of flags
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release ${SLUICE_CMAKE_FLAGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
