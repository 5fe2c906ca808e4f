#!/usr/bin/env bash
# Installs everything earshot needs to build, test and run its demo on Debian 12.
# Idempotent: packages already present are skipped by apt.
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  librdkafka-dev rapidjson-dev libre2-dev prometheus-cpp-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libicu-dev
  libboost-dev libssl-dev libcrypt-dev ccache
)
TEST_PKGS=(
  prometheus chromium openjdk-17-jre-headless maven python3 procps
  clang libclang-rt-14-dev openssl wrk python3-pytest python3-yaml systemd
)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" != "--build-only" ]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
