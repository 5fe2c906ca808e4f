#!/usr/bin/env bash
# Builds earshot with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DEARSHOT_SANITIZE=ON, -O1) into ${SANITIZE_BUILD_DIR:-build-asan} and runs
# the unit tier (GoogleTest + golden replays) and the integration tier (a
# real Kafka broker) there. Any sanitizer report fails the test that hit it.
#
#   scripts/sanitize.sh                  unit + integration
#   scripts/sanitize.sh -L unit          any ctest arguments instead
#
# To keep CI lean it builds only the earshot binary, the unit test binaries
# and the test tools (the Kafka tool, the config-key lister that
# tests/cli/test_docs.py reads), not the benchmarks or fuzzers, and with
# -g1: line tables, all a sanitizer report needs for file:line, compile
# ~40% faster than -g (Boost.Beast's http_server.cc alone: 99 s -> 60 s).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SANITIZE_BUILD_DIR:-build-asan}
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DEARSHOT_SANITIZE=ON -DEARSHOT_BUILD_BENCH=OFF >/dev/null
targets=(earshot earshot-kafka-tool earshot-config-keys)
for src in tests/unit/*_test.cc tests/integration/*_itest.cc; do
  [ -e "$src" ] && targets+=("$(basename "${src%.cc}")")
done
ninja -C "$BUILD_DIR" -j"$(nproc)" "${targets[@]}"

# Leaks fail too; library-internal one-time allocations are suppressed in
# tests/sanitizers/lsan.supp (each with a reason).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
./scripts/kafka/kafka.sh fetch >/dev/null   # the broker's jars, cached
mkdir -p tests/artifacts
cd "$BUILD_DIR"
if [ $# -eq 0 ]; then
  ctest --output-on-failure --timeout 900 -j2 -L unit
  # Two at a time, as in the main run: these tests mostly wait on brokers
  # and daemons (the soak alone takes ~3.5 minutes under the sanitizers).
  ctest --output-on-failure --timeout 900 -j2 -L integration
else
  ctest --output-on-failure --timeout 900 "$@"
fi
