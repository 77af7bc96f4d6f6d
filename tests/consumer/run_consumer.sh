#!/usr/bin/env bash
# ctest "install_consumer": installs the build tree into a temporary prefix, then builds
# tests/consumer against it twice (CMake find_package, and pkg-config) and runs both.
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix/usr" >/dev/null
test -f "$prefix/usr/include/sluice/sluice.h"
cmake -S "$src/tests/consumer" -B "$prefix/cmake-build" -DCMAKE_PREFIX_PATH="$prefix/usr" >/dev/null
cmake --build "$prefix/cmake-build" >/dev/null
"$prefix/cmake-build/consumer"
libdir=$(dirname "$(find "$prefix/usr" -name 'libsluice.so' | head -1)")
export PKG_CONFIG_PATH=$libdir/pkgconfig
g++ -O1 "$src/tests/consumer/main.cpp" -o "$prefix/pc-consumer" $(pkg-config --cflags --libs sluice)
LD_LIBRARY_PATH=$libdir "$prefix/pc-consumer"
echo "install consumer: OK"
