#!/usr/bin/env bash
# Installs everything earshot needs to build, test and run its demo on
# Debian 12 (bookworm) or Debian 13 (trixie).
# Idempotent: packages already present are skipped by apt, and the
# librdkafka build (Debian 12 only) is cached.
#
#   scripts/install-deps.sh                 build + test dependencies
#   scripts/install-deps.sh --build-only    what building the daemon needs (the Dockerfile)
#
# librdkafka: earshot needs >= 2.6.1 (SCRAM against Kafka 4.x, docs/kafka.md).
# Debian 13 ships 2.8.0 (librdkafka-dev). Debian 12 ships 2.0.2, so there
# scripts/rdkafka/build.sh builds trixie's 2.8.0 source package into
# ~/.cache/earshot/librdkafka, where CMake looks first.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

. /etc/os-release
case "${VERSION_CODENAME:-}" in
  bookworm) release=12 ;;
  trixie) release=13 ;;
  *) echo "install-deps: unsupported system ${PRETTY_NAME:-unknown}: earshot supports Debian 12 and 13" >&2
     exit 1 ;;
esac

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  rapidjson-dev libre2-dev prometheus-cpp-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libicu-dev
  libboost-dev libssl-dev libcrypt-dev ccache
)
TEST_PKGS=(
  prometheus chromium maven python3 procps
  clang openssl wrk python3-pytest python3-yaml systemd
)
if [ "$release" = 12 ]; then
  # librdkafka's own build dependencies (Debian's debian/control for 2.8.0),
  # all from bookworm; dpkg-dev brings dpkg-source, the archive keyring
  # verifies the trixie source index.
  BUILD_PKGS+=(dpkg-dev debian-archive-keyring libsasl2-dev libzstd-dev liblz4-dev
               zlib1g-dev libcurl4-openssl-dev python3)
  TEST_PKGS+=(openjdk-17-jre-headless libclang-rt-14-dev)
else
  BUILD_PKGS+=(librdkafka-dev)
  TEST_PKGS+=(openjdk-21-jre-headless libclang-rt-19-dev)
fi

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" != "--build-only" ]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "$release" = 12 ]; then
  "$HERE/rdkafka/build.sh"
else
  v="$(dpkg-query -W -f='${Version}' librdkafka-dev)"
  dpkg --compare-versions "$v" ge 2.6.1 ||
    { echo "install-deps: librdkafka-dev $v is older than 2.6.1" >&2; exit 1; }
fi
