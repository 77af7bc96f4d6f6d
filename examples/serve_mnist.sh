#!/usr/bin/env bash
# Trains and exports the MNIST MLP (examples/serve_mnist.cpp), serves it with `sluice serve`
# on loopback, sends test images with curl and checks the served classes equal the ones the
# training process computed. Last line: "served classes equal in-process classes: N/N".
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
python3 - "$work/response.json" "$work/expected_classes.txt" <<'PY'
import json, sys
got = [p["classes"] for p in json.load(open(sys.argv[1]))["predictions"]]
want = [int(l) for l in open(sys.argv[2])]
same = sum(g == w for g, w in zip(got, want))
print("served classes:", got)
print(f"served classes equal in-process classes: {same}/{len(want)}")
sys.exit(0 if same == len(want) and len(got) == len(want) else 1)
PY
