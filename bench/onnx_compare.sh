#!/bin/sh
# Sluice vs ONNX Runtime vs PyTorch eager on the exported ONNX models, in one run: for each
# model and thread count, Sluice's rows (build/bench/bench_onnx_models), then ONNX
# Runtime's (bench/onnx_ort.js) on the same .onnx files, then PyTorch eager's
# (bench/onnx_torch.py: the same architectures), the same input shapes, thread count and
# run count; then a table of medians and the ratios ORT / Sluice and PyTorch / Sluice
# (> 1: Sluice is faster).
#
#   [ROUNDS=n] bench/onnx_compare.sh [build dir] [onnxruntime-node folder] [threads, e.g. "1 2"] [runs] [models]
#
# The models are exported into <build>/onnx_models as the ctest fixture onnx_export_models does. ONNX
# Runtime is npm's onnxruntime-node, installed outside the repository:
#   mkdir -p /work/wt/ort && cd /work/wt/ort && npm install --ignore-scripts onnxruntime-node
# PyTorch is Debian's python3-torch (its rows are left out when /usr/bin/python3 cannot
# import torch).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
ort=${2:-/work/wt/ort}
threads=${3:-"1 2"}
runs=${4:-10}
models=${5:-"resnet18 mobilenet_v2 squeezenet1_1 lstm_classifier transformer_encoder"}
# ROUNDS > 1 repeats the whole comparison (every engine, model and thread count in turn) and
# reports the median of the rounds: on a shared VM whose speed changes from minute to minute,
# the engines then see the same spells of slow and fast.
rounds=${ROUNDS:-1}
have_torch=0
/usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null && have_torch=1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The models as the ctest fixture exports them (a no-op when they are up to date), so the
# script also works on a build whose tests have not run yet.
/usr/bin/python3 "$here/../tests/onnx_models/export_models.py" "$build/onnx_models" >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# One-thread rows run every engine on the same core (PIN_CPU, by default the last one): the
# cores of a shared VM are not alike (one may share its physical core with a busy
# neighbour: 30% slower for minutes at a time), and an engine should not win by the core it
# happened to land on.
pin_cpu=${PIN_CPU:-$(($(nproc) - 1))}
for r in $(seq "$rounds"); do
  for m in $models; do
    for t in $threads; do
      pin=""
      if [ "$t" = 1 ] && command -v taskset >/dev/null; then pin="taskset -c $pin_cpu"; fi
      $pin "$build/bench/bench_onnx_models" --models-dir "$build/onnx_models" --models "$m" --batch 1 8 \
        --threads "$t" --runs "$runs" | tee -a "$out"
      NODE_PATH="$ort/node_modules" $pin node "$here/onnx_ort.js" "$build/onnx_models" "$m" "$t" "$runs" 1 8 | tee -a "$out"
      if [ "$have_torch" = 1 ]; then
        $pin /usr/bin/python3 "$here/onnx_torch.py" "$build/onnx_models" "$m" "$t" "$runs" 1 8 | tee -a "$out"
      fi
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
# Each cell: the median over the rounds of each round's median.
/usr/bin/python3 - "$out" <<'PY'
import statistics, sys
rows, order = {}, []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 8 or f[0] not in ("sluice", "ort", "torch"):
        continue
    key = (f[1], f[3], f[5])
    if key not in order:
        order.append(key)
    rows.setdefault((f[0],) + key, []).append(float(f[7]))
print("| model | batch | threads | Sluice ms | ONNX Runtime ms | PyTorch ms | ORT / Sluice | PyTorch / Sluice |")
print("|---|---|---|---|---|---|---|---|")
for key in order:
    s, o = statistics.median(rows[("sluice",) + key]), statistics.median(rows[("ort",) + key])
    p = statistics.median(rows[("torch",) + key]) if ("torch",) + key in rows else None
    torch = f"{p:.3f}" if p else "-"
    ratio = f"{p / s:.2f}x" if p else "-"
    print(f"| {key[0]} | {key[1]} | {key[2]} | {s:.3f} | {o:.3f} | {torch} | {o / s:.2f}x | {ratio} |")
PY
