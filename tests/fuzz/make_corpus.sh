#!/usr/bin/env bash
# Regenerates the checked-in seed corpora (tests/fuzz/corpus/<target>/) and dictionaries
# (tests/fuzz/dict/<target>.dict) with tests/fuzz/make_corpus.cc, built in the fuzz build.
#
#   tests/fuzz/make_corpus.sh [build folder, default build-fuzz]
#
# The generator is deterministic: rerunning it on an unchanged tree rewrites identical
# files, so `git status` after running it shows what a format change did to the seeds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build-fuzz}"

# The build's Debian packages plus clang and its libFuzzer/sanitizer runtime (as .ci/run
# installs them); ccache only when it is installed.
source "$root/.ci/deps.sh"
sluice_packages+=(clang libclang-rt-14-dev)
sluice_install_deps
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  CC="${CC:-clang}" CXX="${CXX:-clang++}" cmake -S "$root" -B "$build" -DSLUICE_FUZZ=ON \
    -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCH=OFF -DSLUICE_BUILD_EXAMPLES=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
fi
cmake --build "$build" -j2 --target make_fuzz_corpus >/dev/null
"$build/tests/fuzz/make_fuzz_corpus" "$here" "$root/tests/data"
du -sh "$here/corpus" "$here/dict"
