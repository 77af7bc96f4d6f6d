#!/usr/bin/env bash
# Load test of `sluice serve` with wrk, on loopback only, bounded in time: half_plus_two and
# the MNIST-shaped MLP (batch 1 requests) at 1, 8 and 64 connections, batching off and on.
# Prints a Markdown table (requests/s, p50, p99, non-2xx answers, socket errors, and the
# server's own CPU time per request: its utime + stime over the point divided by the requests,
# the figure that depends least on what else the machine runs). Exits 1 when any request
# failed (a non-2xx answer or a socket error) or a point answered nothing, so ctest's
# `serving_load` (label `load`) can run it as a check.
#
#   bench/serving/load.sh [BUILD_DIR] [SECONDS_PER_POINT]      (defaults: build, 10)
#   POINTS="half_plus_two:64 mlp:8" BATCHING=off bench/serving/load.sh ...   (a subset)
#   ACCESS_LOG=/tmp/access.log, SERVE_FLAGS="--session_threads=1": other server settings
#   WRK_THREADS=2: wrk threads (default 1, so the client leaves the server a core)
set -euo pipefail
build=${1:-build}
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$build/bench/bench_serving_models" "$work/models" >/dev/null
cat > "$work/models.json" <<JSON
{"model_config_list": [
  {"name": "half_plus_two", "base_path": "$work/models/half_plus_two"},
  {"name": "mlp", "base_path": "$work/models/mlp"}]}
JSON

points=" ${POINTS:-} "
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
failed=0
echo "| model | batching | connections | requests/s | p50 | p99 | non-2xx | socket errors | server CPU/request |"
echo "|---|---|---|---|---|---|---|---|---|"
for batching in ${BATCHING:-off on}; do
  flags=(--model_config_file="$work/models.json" --port=0 --access_log="${ACCESS_LOG:-off}" --file_system_poll_wait_seconds=0 ${SERVE_FLAGS:-})
  [[ $batching == on ]] && flags+=(--enable_batching --max_batch_size=64 --batch_timeout_micros=500)
  "$build/tools/sluice" serve "${flags[@]}" > "$work/serve.out" 2> "$work/serve.err" &
  server_pid=$!
  for _ in $(seq 100); do grep -q "Exporting" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/.*:\([0-9]*\) \.\.\.$/\1/p' "$work/serve.out")
  [[ -n "$port" ]] || { cat "$work/serve.err" >&2; exit 1; }
  for model in half_plus_two mlp; do
    for conns in 1 8 64; do
      [[ "$points" == "  " || "$points" == *" $model:$conns "* ]] || continue
      # One wrk thread: client and server share the machine's 2 cores, and a second client
      # thread would preempt the server's workers (WRK_THREADS=2 to compare).
      threads=${WRK_THREADS:-1}
      t0=$(cpu_ticks)
      out=$(BODY_FILE="$work/models/$model.json" wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s --latency \
              -s "$here/post.lua" "http://127.0.0.1:$port/v1/models/$model:predict")
      rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
      p50=$(awk '$1=="50%" {print $2}' <<<"$out")
      p99=$(awk '$1=="99%" {print $2}' <<<"$out")
      bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
      sock=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
      cpu=$(awk -v a="$t0" -v b="$(cpu_ticks)" -v hz="$hz" '/requests in/ {printf "%.0fus", (b - a) / hz * 1e6 / $1}' <<<"$out")
      echo "| $model | $batching | $conns | $rps | $p50 | $p99 | ${bad:-0} | ${sock:-0} | $cpu |"
      if [[ "${bad:-0}" != 0 || "${sock:-0}" != 0 || "${rps:-0}" == 0 ]]; then failed=1; fi
    done
  done
  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
done
exit "$failed"
