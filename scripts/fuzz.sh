#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on) into ${FUZZ_BUILD_DIR:-build-fuzz} and runs
# each for FUZZ_SECONDS (default 30) from its seed corpus in
# tests/fuzz/corpus/<target>/. A crash, leak, timeout or out-of-memory input
# fails the run and is saved to tests/artifacts/fuzz/<target>/ (crash-*,
# timeout-*, oom-*); turn it into a regression test and a corpus seed.
#
#   scripts/fuzz.sh                          every target, 30 s each (CI uses 20)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh        the longer run (an hour per target)
#   scripts/fuzz.sh fuzz_query_parser        one target
#   FUZZ_JOBS=2 ...                          parallel fuzzing workers per target
#   FUZZ_PARALLEL=1 ...                      targets one at a time (default: one a CPU)
#
# New inputs that reach new code are written to build-fuzz/corpus/<target>/,
# not to the source tree; copy interesting ones into the seed corpus by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_JOBS:-1}
ALL_TARGETS=(fuzz_decoder_canonical fuzz_decoder_twitter_v1 fuzz_decoder_reddit
             fuzz_decoder_mapping fuzz_decoder_differential fuzz_rule_loader
             fuzz_query_parser fuzz_config fuzz_web_config fuzz_matcher_differential)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/install-deps.sh)" >&2; exit 1; }
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Every library is instrumented for coverage and the sanitizers; -O1 keeps
# the build fast and the sanitizers precise; line tables are all a report
# needs for file:line.
flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fsanitize-recover=pointer-overflow"
cmake -S . -B "$BUILD_DIR" -G Ninja "${launcher[@]}" \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="$flags" \
  -DEARSHOT_FUZZ=ON -DEARSHOT_BUILD_TESTS=OFF -DEARSHOT_BUILD_BENCH=OFF >/dev/null
ninja -C "$BUILD_DIR" -j"$(nproc)" "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/fuzz/ubsan.supp}
# One target's run; its status is the fuzzer's.
fuzz_one() {
  local t=$1
  local seeds="$ROOT/tests/fuzz/corpus/$t" work="$BUILD_DIR/corpus/$t"
  local artifacts="$ROOT/tests/artifacts/fuzz/$t"
  mkdir -p "$work" "$artifacts"
  local parallel=()
  [ "$JOBS" -le 1 ] || parallel=(-fork="$JOBS")
  # -rss_limit_mb and -malloc_limit_mb make unbounded allocation a failure;
  # -timeout makes a hang (one input over 10 s) a failure.
  "$BUILD_DIR/tests/fuzz/$t" "$work" "$seeds" \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=2097152 -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 "${parallel[@]}" \
      -artifact_prefix="$artifacts/" -print_final_stats=1 \
      >"$BUILD_DIR/$t.log" 2>&1
}
for t in "${targets[@]}"; do
  [ -d "$ROOT/tests/fuzz/corpus/$t" ] || { echo "fuzz.sh: no seed corpus tests/fuzz/corpus/$t" >&2; exit 1; }
done
# FUZZ_PARALLEL targets at a time (default: the CPUs over FUZZ_JOBS); each
# still gets its full FUZZ_SECONDS.
default_parallel=$(($(nproc) / JOBS))
PARALLEL=${FUZZ_PARALLEL:-$((default_parallel > 0 ? default_parallel : 1))}
failed=()
for ((i = 0; i < ${#targets[@]}; i += PARALLEL)); do
  batch=("${targets[@]:i:PARALLEL}")
  pids=()
  for t in "${batch[@]}"; do
    echo "== $t: ${SECONDS_PER_TARGET}s"
    fuzz_one "$t" &
    pids+=($!)
  done
  for k in "${!batch[@]}"; do
    t=${batch[$k]}
    artifacts="$ROOT/tests/artifacts/fuzz/$t"
    if ! wait "${pids[$k]}"; then
      echo "fuzz.sh: $t FAILED; input saved under $artifacts; log: $BUILD_DIR/$t.log" >&2
      tail -n 60 "$BUILD_DIR/$t.log" >&2
      failed+=("$t")
    else
      echo "-- $t"
      grep -E "stat::number_of_executed_runs|cov:" "$BUILD_DIR/$t.log" | tail -n 2 || true
    fi
    rmdir "$artifacts" 2>/dev/null || true  # leave no empty directories
  done
done
echo "fuzz.sh: ${#targets[@]} targets, ${SECONDS_PER_TARGET}s each"
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
