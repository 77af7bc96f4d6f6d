#!/usr/bin/env bash
# Trains and exports the MNIST MLP (examples/serve_mnist.cpp), serves it with `sluice serve`
# on loopback, sends test images as base64 PNGs with curl (decoded, resized and classified inside
# the served graph) and checks the served classes and scores equal the ones the training process
# computed. Last line: "served classes equal in-process classes: N/N".
#
#   examples/serve_mnist.sh [BUILD_DIR]      (default: build)
set -euo pipefail
build=${1:-build}
work=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$build/examples/serve_mnist" --out "$work" --epochs 1
"$build/tools/sluice" serve --model_name=mnist --model_base_path="$work/mnist" --port=0 \
  --access_log="$work/access.log" > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
for _ in $(seq 100); do grep -q Exporting "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\) \.\.\.$/\1/p' "$work/serve.out")
[[ -n "$port" ]] || { cat "$work/serve.err" >&2; exit 1; }
echo "sluice serve on 127.0.0.1:$port"
curl -sf "http://127.0.0.1:$port/v1/models/mnist/metadata" > /dev/null
curl -sf -H 'Content-Type: application/json' -d @"$work/request.json" \
  "http://127.0.0.1:$port/v1/models/mnist:predict" > "$work/response.json"
python3 - "$work/response.json" "$work/expected.json" <<'PY'
import json, struct, sys
pred = json.load(open(sys.argv[1]))["predictions"]
want = json.load(open(sys.argv[2]))
f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]
got = [p["classes"] for p in pred]
scores_ok = all(f32(a) == f32(b) for p, w in zip(pred, want["scores"]) for a, b in zip(p["scores"], w))
same = sum(g == w for g, w in zip(got, want["classes"]))
print("served classes:", got)
print("served scores equal in-process scores (float32):", scores_ok)
print(f"served classes equal in-process classes: {same}/{len(want['classes'])}")
sys.exit(0 if scores_ok and same == len(want["classes"]) and len(got) == len(want["classes"]) else 1)
PY
