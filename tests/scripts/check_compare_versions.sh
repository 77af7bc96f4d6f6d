#!/usr/bin/env bash
# Issue 10 item 12: the benchmark table's header must name the versions that were measured,
# so the README cannot drift from the run. Checks that `bench/compare.sh --versions` prints
# PyTorch's package version, OpenBLAS's version and core type, the compiler and the CPU, and
# that the README's benchmark paragraph names the PyTorch Debian ships (when it is installed).
# Usage: check_compare_versions.sh <source dir>
set -euo pipefail
src=$1
line=$("$src/bench/compare.sh" --versions)
echo "$line"
fail() { echo "FAIL: $*"; exit 1; }
[[ "$line" =~ ^PyTorch\ (\?|[0-9][^\ ]*)\ \(Debian\ python3-torch ]] || fail "no PyTorch version first"
[[ "$line" =~ \|\ OpenBLAS\ (\?|[0-9.]+,\ [A-Za-z0-9]+\ kernels) ]] || fail "no OpenBLAS version and core"
[[ "$line" == *"$(g++ --version | head -1)"* ]] || fail "no compiler version"
[[ "$line" =~ \([A-Z0-9-]+\),\ [0-9]+\ cores$ ]] || fail "no CPU line"
if torch=$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null) && [[ -n "$torch" ]]; then
  grep -qF "python3-torch\` $torch" "$src/README.md" ||
    fail "README's benchmark paragraph does not name python3-torch $torch"
fi
echo "OK"
