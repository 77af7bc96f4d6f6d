#!/usr/bin/env bash
# Runs Sluice and its peers on the same workloads (../shared/bench/WORKLOADS.md) in one run,
# threads 1 and 2, and prints one table: workload, Sluice median, peer median, ratio.
# Peers: PyTorch from Debian (python3-torch, torch_bench.py, with OpenBLAS's fast kernels
# forced: PyTorch's best case) and OpenBLAS called directly (openblas_gemm.c, SkylakeX).
# Installs what is missing (needs root or sudo). Run on an otherwise idle machine.
#   bench/compare.sh [--quick]     (--quick: 3 samples / 1 training run: a smoke test)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source .ci/deps.sh
sluice_packages+=(python3-torch python3-numpy gcc)
sluice_install_deps
samples=9 reps=3
[[ "${1:-}" == --quick ]] && { samples=3; reps=1; }
peers=$root/bench/peers
[[ -f "$root/../shared/bench/torch_bench.py" ]] && peers=$root/../shared/bench
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
OPENBLAS_CORETYPE=SkylakeX "$out/openblas_gemm" $samples > "$out/openblas.md"

echo "== PyTorch (tuned: OpenBLAS SkylakeX kernels, passive OpenMP waiting, no malloc trimming)"
env OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=2000000000 \
  MALLOC_TRIM_THRESHOLD_=4000000000 /usr/bin/python3 "$peers/torch_bench.py" --samples $samples \
  --train-reps $reps --label ' [tuned]' > "$out/torch.md"

echo
echo "Sluice vs peers, $(date -u +%F), $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(nproc) cores"
echo
/usr/bin/python3 "$root/bench/compare_table.py" "$out"
