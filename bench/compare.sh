#!/usr/bin/env bash
# Runs Sluice and its peers on the same workloads (../shared/bench/WORKLOADS.md) in one run,
# threads 1 and 2, and prints one table: workload, Sluice median, peer median, ratio.
# Peers: PyTorch from Debian (python3-torch, torch_bench.py, with OpenBLAS's fast kernels
# for this CPU forced: PyTorch's best case) and OpenBLAS called directly (openblas_gemm.c).
# The table's header names what was measured: CPU, compiler, PyTorch and OpenBLAS versions
# and the OpenBLAS kernels (core type) each side used.
# Installs what is missing (needs root or sudo). Run on an otherwise idle machine.
#   bench/compare.sh [--quick]     (--quick: 3 samples / 1 training run: a smoke test)
#   bench/compare.sh --versions    (only the header's versions line; runs nothing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source .ci/deps.sh
sluice_packages+=(python3-torch python3-numpy gcc)
# --versions installs nothing (ctest's bench_compare_versions runs it): "?" for what is missing.
[[ "${1:-}" == --versions ]] || sluice_install_deps
samples=9 reps=3
[[ "${1:-}" == --quick ]] && { samples=3; reps=1; }
peers=$root/bench/peers

# The fastest OpenBLAS kernel family this CPU runs (as Sluice picks its own; forcing SkylakeX
# on a CPU without AVX-512 would die of an illegal instruction).
if grep -qw avx512f /proc/cpuinfo; then core=SkylakeX isa=AVX-512
elif grep -qw avx2 /proc/cpuinfo; then core=Haswell isa=AVX2
else core=Prescott isa=SSE; fi

# "PyTorch 1.13.1+dfsg-4 (...) | OpenBLAS 0.3.21, Haswell kernels | g++ ... | AMD EPYC (AVX2), 2 cores"
versions() {
  local torch blas
  # Debian's package version; the module reports its own (1.13.0a0 for 1.13.1+dfsg-4).
  torch="$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || echo "?") (Debian python3-torch,"
  torch+=" torch.__version__ $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "?"))"
  blas=$(OPENBLAS_CORETYPE=$core /usr/bin/python3 - <<'PY' 2>/dev/null || echo "OpenBLAS ?"
import ctypes
lib = ctypes.CDLL("libopenblas.so.0")
lib.openblas_get_config.restype = ctypes.c_char_p
lib.openblas_get_corename.restype = ctypes.c_char_p
cfg = lib.openblas_get_config().decode().split()
print(f"OpenBLAS {cfg[1]}, {lib.openblas_get_corename().decode()} kernels")
PY
)
  echo "PyTorch $torch | $blas for the peers | $(g++ --version | head -1)" \
       "| $(lscpu | grep 'Model name' | sed 's/.*: *//') ($isa), $(nproc) cores"
}
if [[ "${1:-}" == --versions ]]; then versions; exit 0; fi
out=$(mktemp -d /tmp/sluice-compare.XXXXXX)
build=${SLUICE_BUILD_DIR:-build}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target sluice_bench bench_train_mlp bench_train_cnn >/dev/null

echo "== machine"
lscpu | grep -E 'Model name|^CPU\(s\)' | sed 's/  */ /g'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); results in $out"

echo "== Sluice kernels"
"$build/bench/sluice_bench" --benchmark_repetitions=$samples --benchmark_report_aggregates_only=true \
  --benchmark_format=json --benchmark_out="$out/sluice.json" --benchmark_out_format=json >/dev/null
for t in 1 2; do
  echo "== Sluice W6/W7, $t thread(s)"
  "$build/bench/bench_train_mlp" --threads $t --epochs $reps > "$out/w6_t$t.jsonl"
  "$build/bench/bench_train_cnn" --threads $t --runs $reps > "$out/w7_t$t.jsonl"
done

echo "== OpenBLAS direct"
gcc -O2 -march=native -pthread "$peers/openblas_gemm.c" -o "$out/openblas_gemm" \
  -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lm
OPENBLAS_CORETYPE=$core "$out/openblas_gemm" $samples > "$out/openblas.md"

echo "== PyTorch (tuned: OpenBLAS $core kernels, passive OpenMP waiting, no malloc trimming)"
env OPENBLAS_CORETYPE=$core OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=2000000000 \
  MALLOC_TRIM_THRESHOLD_=4000000000 /usr/bin/python3 "$peers/torch_bench.py" --samples $samples \
  --train-reps $reps --label ' [tuned]' > "$out/torch.md"

sluice_gemm=$(/usr/bin/python3 -c '
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
print(next((r["label"] for r in runs if r["name"].startswith("W1_GEMM") and r.get("label")), "?"))' "$out/sluice.json")
echo
echo "Sluice vs peers, $(date -u +%F): $(versions) | Sluice GEMM: $sluice_gemm"
echo
/usr/bin/python3 "$root/bench/compare_table.py" "$out"
