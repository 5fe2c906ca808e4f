#!/usr/bin/env bash
# Builds earshot and runs every test tier: unit + golden (no services),
# integration (a real Kafka broker, started by the tests), e2e (a real
# Prometheus server and headless Chromium). Fails if any dependency is
# missing: no tier is skipped.
#   scripts/test.sh            all tiers
#   scripts/test.sh -L unit    one tier (any ctest arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
./scripts/kafka/kafka.sh fetch   # the broker's jars from Maven Central, cached
mkdir -p tests/artifacts
cd build
if [ $# -eq 0 ]; then
  ctest --output-on-failure --timeout 900 -j2
else
  ctest --output-on-failure --timeout 900 "$@"
fi

# Separate, clearly named steps (docs/reliability.md), only on a full run:
# the unit and integration tiers again under AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/), then a short libFuzzer run of
# every fuzz target (build-fuzz/; FUZZ_SECONDS=3600 for the longer run).
if [ $# -eq 0 ]; then
  cd ..
  echo "== sanitizers: scripts/sanitize.sh"
  ./scripts/sanitize.sh
  echo "== fuzzing: FUZZ_SECONDS=20 scripts/fuzz.sh"
  FUZZ_SECONDS=20 ./scripts/fuzz.sh
fi
