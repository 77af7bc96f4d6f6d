#!/usr/bin/env bash
# Runs Sluice's libFuzzer targets one after another: first each target's regression inputs
# (tests/fuzz/regressions/<target>/) once, then the target for a fixed time on a scratch
# copy of its checked-in seed corpus (tests/fuzz/corpus/<target>/, never modified), and
# prints per target: executions, time, coverage (cov = edges, ft = features), corpus size
# and crashes. Exits non-zero when any target crashed (or timed out, ran out of memory or
# leaked); the inputs that did are left in the scratch folder's artifacts/.
#
#   tests/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET] [options] [-- libFuzzer flags]
#     SECONDS_PER_TARGET   default 60 (CI: 8, about 50 s for all six targets)
#     -t, --target NAME    run only this target (fuzz_npz or npz); repeatable
#     -w, --work DIR       scratch folder (default: a fresh mktemp -d, removed on success
#                          unless --keep); an existing corpus there is reused and grown
#     -k, --keep           keep the scratch folder
#     -b, --build DIR      fuzz build folder (default build-fuzz); configured and built if
#                          needed (clang, -DSLUICE_FUZZ=ON)
#
# One fuzzer runs at a time (no -jobs/-workers): the machines are shared.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds=60
targets=()
work=""
keep=0
build="$root/build-fuzz"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -t|--target) t="$2"; [[ "$t" == fuzz_* ]] || t="fuzz_$t"; targets+=("$t"); shift 2 ;;
    -w|--work) work="$2"; keep=1; shift 2 ;;
    -k|--keep) keep=1; shift ;;
    -b|--build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *[!0-9]*) echo "run_fuzzers.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    *) seconds="$1"; shift ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  for src in "$here"/fuzz_*.cc; do targets+=("$(basename "$src" .cc)"); done
fi

# ---- build ----
# The build's Debian packages plus clang and its libFuzzer/sanitizer runtime (as .ci/run
# installs them); ccache only when it is installed.
source "$root/.ci/deps.sh"
sluice_packages+=(clang libclang-rt-14-dev)
sluice_install_deps || exit 2
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  echo "== configuring $build (clang, SLUICE_FUZZ=ON)"
  CC="${CC:-clang}" CXX="${CXX:-clang++}" cmake -S "$root" -B "$build" -DSLUICE_FUZZ=ON \
    -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCH=OFF -DSLUICE_BUILD_EXAMPLES=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null || exit 2
fi
echo "== building ${targets[*]}"
cmake --build "$build" -j2 --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1 || {
  tail -30 "$build/fuzz-build.log"; echo "run_fuzzers.sh: build failed" >&2; exit 2; }

if [[ -z "$work" ]]; then work="$(mktemp -d /tmp/sluice-fuzz-run.XXXXXX)"; fi
mkdir -p "$work"

# Allocation failures must come back as null (Sluice turns them into ResourceExhausted);
# UBSan findings abort (the build also uses -fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1:detect_stack_use_after_return=1}"
# Leaks inside libhdf5 itself are HDF5's (lsan_suppressions.txt); every other leak still fails.
export LSAN_OPTIONS="suppressions=$here/lsan_suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# The TensorFlow targets have no checked-in seeds (Sluice writes no TF files); when the shared
# interop folder is there, its small real GraphDefs, SavedModels and checkpoints (< 64 KiB) are
# copied into the scratch corpus (never into the project). A checkpoint seed is the target's
# input format: little-endian u32 length of the .index, the .index, then the .data shard.
interop="${SLUICE_INTEROP_DIR:-$root/../shared/interop}"
seed_from_interop() {
  local t="$1" out="$2" f i=0
  [[ -d "$interop" ]] || return 0
  case "$t" in
    fuzz_tf_graph_def)
      while IFS= read -r f; do cp "$f" "$out/interop_$((i++)).pb"; done < <(
        find "$interop" -name '*.pb' ! -name saved_model.pb -size -64k | sort) ;;
    fuzz_tf_saved_model)
      while IFS= read -r f; do cp "$f" "$out/interop_$((i++)).pb"; done < <(
        find "$interop" -name saved_model.pb -size -64k | sort) ;;
    fuzz_tf_checkpoint)
      while IFS= read -r f; do
        local data="${f%.index}.data-00000-of-00001"
        [[ -f "$data" ]] || continue
        { python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<I", int(sys.argv[1])))' \
            "$(stat -c %s "$f")"; cat "$f" "$data"; } > "$out/interop_$((i++)).ckpt"
      done < <(find "$interop" -name '*.index' -size -64k | sort) ;;
  esac
}

status=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/$t"
  [[ -x "$bin" ]] || { echo "run_fuzzers.sh: no target $t" >&2; status=1; continue; }
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  # First the inputs that crashed before (tests/fuzz/regressions/<target>/), once each under
  # the sanitizers: ctest replays them too, but without ASan/UBSan.
  if compgen -G "$here/regressions/$t/*" >/dev/null; then
    if ! "$bin" -runs=1 "$here/regressions/$t"/* >"$dir/regressions.txt" 2>&1; then
      status=1
      echo "!! $t: a regression input fails again; see $dir/regressions.txt"
      grep -E 'Running: |ERROR: |runtime error|fuzz check failed' "$dir/regressions.txt" | tail -4 | sed 's/^/     /'
    fi
  fi
  [[ -d "$here/corpus/$t" ]] && cp -n "$here/corpus/$t"/* "$dir/corpus/" 2>/dev/null
  seed_from_interop "$t" "$dir/corpus"
  flags=(-max_total_time="$seconds" -rss_limit_mb=4096 -timeout=60
         -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
  [[ -f "$here/dict/$t.dict" ]] && flags+=(-dict="$here/dict/$t.dict")
  echo "== $t: ${seconds}s, corpus $(ls "$dir/corpus" | wc -l) files"
  echo "   $bin ${flags[*]} ${extra[*]} $dir/corpus" >"$dir/command.txt"
  start=$(date +%s)
  "$bin" "${flags[@]}" "${extra[@]}" "$dir/corpus" >"$dir/log.txt" 2>&1
  rc=$?
  wall=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log.txt" | tail -1)
  last=$(grep -E '^#[0-9]+' "$dir/log.txt" | grep -E 'cov: ' | tail -1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$last")
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$dir/log.txt" | tail -1)
  crashes=$(find "$dir/artifacts" -type f | wc -l)
  if [[ $rc -ne 0 || $crashes -ne 0 ]]; then
    status=1
    echo "!! $t failed (exit $rc); log $dir/log.txt, artifacts:"
    find "$dir/artifacts" -type f | sed 's/^/     /'
    grep -E 'ERROR: |SUMMARY: |runtime error|fuzz check failed|deadly signal|uncaught' "$dir/log.txt" | head -5 | sed 's/^/     /'
    crashes=$(( crashes > 0 ? crashes : 1 ))
  fi
  summary+=("$(printf '%-20s %12s %7ss %8s %8s %7s %7s %8s' "$t" "${execs:-?}" "$wall" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "${rss:-?}" "$crashes")")
done

echo
printf '%-20s %12s %8s %8s %8s %7s %7s %8s\n' target executions time cov ft corpus rss_mb crashes
printf '%s\n' "${summary[@]}"
[[ $keep -eq 1 || $status -ne 0 ]] && echo "(scratch folder: $work)"
if [[ $status -eq 0 && $keep -eq 0 ]]; then rm -rf "$work"; fi
exit $status
