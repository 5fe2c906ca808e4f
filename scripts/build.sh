#!/usr/bin/env bash
# Configures and builds earshot into ${BUILD_DIR:-build} (optimized, with
# debug info). Extra arguments go to cmake; TARGETS="earshot" builds less.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -G Ninja "${launcher[@]}" "$@" >/dev/null
# shellcheck disable=SC2086
ninja -C "$BUILD_DIR" -j"$(nproc)" ${TARGETS:-}
