#!/usr/bin/env bash
# ctest "install_consumer": installs the build tree into a temporary prefix, then builds
# tests/consumer against it (CMake find_package, also with the consumer asking for C++14,
# and pkg-config) and runs each; a build forced to C++14 must fail with Sluice's message.
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
# A consumer whose own standard is C++14: Sluice::sluice requires cxx_std_17 (INTERFACE), so
# CMake raises the consumer to C++17.
cmake -S "$src/tests/consumer" -B "$prefix/cmake14-build" -DCMAKE_PREFIX_PATH="$prefix/usr" \
  -DCMAKE_CXX_STANDARD=14 -DCMAKE_CXX_EXTENSIONS=OFF >/dev/null
cmake --build "$prefix/cmake14-build" >/dev/null
grep -q -- '-std=c++17' "$prefix/cmake14-build/CMakeFiles/consumer.dir/flags.make" ||
  { echo "the C++14 consumer was not raised to C++17"; exit 1; }
"$prefix/cmake14-build/consumer"
# Forced to C++14 by hand, the umbrella header stops with one clear message.
if g++ -std=c++14 -fsyntax-only "$src/tests/consumer/main.cpp" -I"$prefix/usr/include" 2>"$prefix/c++14.log"; then
  echo "compiling against Sluice with -std=c++14 should fail"; exit 1
fi
grep -q "Sluice needs C++17" "$prefix/c++14.log" || { head -5 "$prefix/c++14.log"; exit 1; }
echo "install consumer: OK"
