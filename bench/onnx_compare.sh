#!/bin/sh
# Sluice vs ONNX Runtime on the exported ONNX models, in one run: for each model, Sluice's
# rows (build/bench/bench_onnx_models) then ONNX Runtime's (bench/onnx_ort.js), the same
# .onnx files, input shapes, thread count and run count; then a table of medians and the
# ratio ORT / Sluice (> 1: Sluice is faster).
#
#   bench/onnx_compare.sh [build dir] [onnxruntime-node folder] [threads] [runs]
#
# The models come from the ctest fixture onnx_export_models (<build>/onnx_models). ONNX
# Runtime is npm's onnxruntime-node, installed outside the repository:
#   mkdir -p /work/wt/ort && cd /work/wt/ort && npm install --ignore-scripts onnxruntime-node
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
ort=${2:-/work/wt/ort}
threads=${3:-2}
runs=${4:-10}
models="resnet18 mobilenet_v2 squeezenet1_1 lstm_classifier transformer_encoder"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for m in $models; do
  "$build/bench/bench_onnx_models" --models-dir "$build/onnx_models" --models "$m" --batch 1 8 \
    --threads "$threads" --runs "$runs" | tee -a "$out"
  NODE_PATH="$ort/node_modules" node "$here/onnx_ort.js" "$build/onnx_models" "$m" "$threads" "$runs" 1 8 | tee -a "$out"
done
echo
echo "| model | batch | threads | Sluice ms | ONNX Runtime ms | ORT / Sluice |"
echo "|---|---|---|---|---|---|"
awk '{ key = $2 " " $4 " " $6; t[$1 "|" key] = $8; if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
     END { for (i = 0; i < n; i++) { split(order[i], k, " "); s = t["sluice|" order[i]]; o = t["ort|" order[i]];
           printf "| %s | %s | %s | %.3f | %.3f | %.2fx |\n", k[1], k[2], k[3], s, o, o / s } }' "$out"
