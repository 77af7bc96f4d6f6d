#!/bin/sh
# Sluice vs ONNX Runtime vs PyTorch eager on the exported ONNX models, in one run: for each
# model and thread count, Sluice's rows (build/bench/bench_onnx_models), then ONNX
# Runtime's (bench/onnx_ort.js) on the same .onnx files, then PyTorch eager's
# (bench/onnx_torch.py: the same architectures), the same input shapes, thread count and
# run count; then a table of medians and the ratios ORT / Sluice and PyTorch / Sluice
# (> 1: Sluice is faster).
#
#   bench/onnx_compare.sh [build dir] [onnxruntime-node folder] [threads, e.g. "1 2"] [runs] [models]
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
have_torch=0
/usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null && have_torch=1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The models as the ctest fixture exports them (a no-op when they are up to date), so the
# script also works on a build whose tests have not run yet.
/usr/bin/python3 "$here/../tests/onnx_models/export_models.py" "$build/onnx_models" >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in $models; do
  for t in $threads; do
    "$build/bench/bench_onnx_models" --models-dir "$build/onnx_models" --models "$m" --batch 1 8 \
      --threads "$t" --runs "$runs" | tee -a "$out"
    NODE_PATH="$ort/node_modules" node "$here/onnx_ort.js" "$build/onnx_models" "$m" "$t" "$runs" 1 8 | tee -a "$out"
    if [ "$have_torch" = 1 ]; then
      /usr/bin/python3 "$here/onnx_torch.py" "$build/onnx_models" "$m" "$t" "$runs" 1 8 | tee -a "$out"
    fi
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | batch | threads | Sluice ms | ONNX Runtime ms | PyTorch ms | ORT / Sluice | PyTorch / Sluice |"
echo "|---|---|---|---|---|---|---|---|"
awk '{ key = $2 " " $4 " " $6; t[$1 "|" key] = $8; if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
     END { for (i = 0; i < n; i++) { split(order[i], k, " "); s = t["sluice|" order[i]]; o = t["ort|" order[i]];
           p = t["torch|" order[i]];
           if (p == "") printf "| %s | %s | %s | %.3f | %.3f | - | %.2fx | - |\n", k[1], k[2], k[3], s, o, o / s;
           else printf "| %s | %s | %s | %.3f | %.3f | %.3f | %.2fx | %.2fx |\n", k[1], k[2], k[3], s, o, p, o / s, p / s } }' "$out"
