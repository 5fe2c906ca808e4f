#!/usr/bin/env bash
# Builds librdkafka from Debian 13 (trixie)'s signed source package into
# ${EARSHOT_CACHE:-$HOME/.cache/earshot}/librdkafka, for Debian 12 machines.
#
# Why: earshot needs librdkafka >= 2.6.1 (the SCRAM client nonce fix,
# librdkafka PR 4895: Kafka 4.x rejects every SCRAM login of older clients).
# Debian 12 ships 2.0.2; trixie ships 2.8.0, whose binary packages need
# trixie's libc, but whose source builds with bookworm's compiler and -dev
# packages (scripts/install-deps.sh installs them). docs/kafka.md has the
# whole story.
#
#   scripts/rdkafka/build.sh            build once; a later run finds the cache and does nothing
#   scripts/rdkafka/build.sh --prefix   print the prefix (whether built or not)
#   EARSHOT_RDKAFKA_REBUILD=1 ...       fetch and build again (e.g. for a trixie security update)
#
# Provenance: the source is fetched only with `apt-get source`, through a
# private sources list and private apt state under the cache directory (the
# machine's /etc/apt is never touched). apt verifies the chain: the trixie
# InRelease file must carry a valid signature by a key in
# /usr/share/keyrings/debian-archive-keyring.gpg (debian-archive-keyring),
# the Sources index must match the SHA256 that InRelease lists, and each
# downloaded file (.dsc, .orig.tar.gz, .debian.tar.xz) must match the size
# and SHA256 that the Sources index lists. dpkg-source then checks the
# tarballs against the .dsc again and applies Debian's patches.
#
# What is built: the shared C and C++ libraries with the features of
# Debian's own package (SSL, SASL SCRAM/PLAIN/OAUTHBEARER/GSSAPI, OIDC via
# libcurl, zlib, zstd, lz4, snappy), -O2 -g, make -j$(nproc); no examples,
# tests, docs or static libraries. Every failure exits non-zero with a
# message: the build must never fall back silently to Debian 12's 2.0.2.
set -euo pipefail

CACHE="${EARSHOT_CACHE:-$HOME/.cache/earshot}"
PREFIX="$CACHE/librdkafka"
MIN_VERSION="2.6.1"
# Bump when the configure flags or the install layout change: a prefix built
# by another recipe is rebuilt.
RECIPE=2
CONFIGURE_FLAGS=(--no-download --enable-ssl --enable-gssapi --enable-curl --enable-zlib
                 --enable-zstd --enable-lz4-ext)

die() { echo "rdkafka/build.sh: $*" >&2; exit 1; }

if [ "${1:-}" = "--prefix" ]; then echo "$PREFIX"; exit 0; fi
[ $# -eq 0 ] || die "usage: scripts/rdkafka/build.sh [--prefix]"

stamp_ok() {
  [ -f "$PREFIX/.complete" ] && grep -qx "recipe $RECIPE" "$PREFIX/.complete"
}

if [ -z "${EARSHOT_RDKAFKA_REBUILD:-}" ] && stamp_ok; then
  echo "rdkafka/build.sh: cached: $(head -n1 "$PREFIX/.complete") in $PREFIX"
  exit 0
fi

for exe in apt-get dpkg-source dpkg make cc c++ pkg-config; do
  command -v "$exe" >/dev/null 2>&1 || die "$exe not found (scripts/install-deps.sh installs the build dependencies)"
done
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -s "$KEYRING" ] || die "$KEYRING missing (install debian-archive-keyring)"

mkdir -p "$CACHE"
# Parallel runs (several worktrees, CI steps): one builds, the others wait.
exec 9>"$CACHE/.librdkafka.lock"
flock 9
if [ -z "${EARSHOT_RDKAFKA_REBUILD:-}" ] && stamp_ok; then
  echo "rdkafka/build.sh: cached: $(head -n1 "$PREFIX/.complete") in $PREFIX"
  exit 0
fi

start=$SECONDS
APT="$CACHE/apt-trixie"
mkdir -p "$APT/etc" "$APT/lists/partial" "$APT/cache/archives/partial"
echo "deb-src [signed-by=$KEYRING] http://deb.debian.org/debian trixie main" >"$APT/etc/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$APT/etc/sources.list"
  -o "Dir::Etc::SourceParts=$APT/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$APT/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$APT/etc/preferences.d"
  -o "Dir::State::Lists=$APT/lists"
  -o "Dir::Cache=$APT/cache"
  # The downloads land in a directory under $HOME, which apt's unprivileged
  # _apt user may not be able to enter when this runs as root.
  -o "APT::Sandbox::User=$(id -un)"
  # Never accept an unsigned or unverifiable index.
  -o "Acquire::AllowInsecureRepositories=false"
  -o "Acquire::AllowDowngradeToInsecureRepositories=false"
)
mkdir -p "$APT/etc/sources.list.d" "$APT/etc/preferences.d"

work="$(mktemp -d "$CACHE/librdkafka-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "rdkafka/build.sh: fetching the librdkafka source package from Debian trixie" >&2
apt-get "${apt_opts[@]}" -qq update >"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log" >&2; die "apt-get update of the private trixie deb-src list failed"; }
(cd "$work" && apt-get "${apt_opts[@]}" -q source --download-only librdkafka) >>"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log" >&2; die "apt-get source librdkafka failed"; }
dsc="$(ls "$work"/librdkafka_*.dsc)"
version="$(sed -n 's/^Version: //p' "$dsc" | head -n1)"
upstream="${version%-*}"
upstream="${upstream#*:}"
dpkg --compare-versions "$upstream" ge "$MIN_VERSION" ||
  die "trixie's librdkafka is $version, older than $MIN_VERSION"
(cd "$work" && dpkg-source -x "$dsc" src) >>"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log" >&2; die "dpkg-source -x $dsc failed"; }

echo "rdkafka/build.sh: building librdkafka $version into $PREFIX (make -j$(nproc))" >&2
cd "$work/src"
# RUNPATH $ORIGIN: librdkafka++.so.1 finds the librdkafka.so.1 beside it,
# never the system's (a binary's own run path does not apply to the
# dependencies of its libraries). Written for make and then the shell.
LDFLAGS='-Wl,-rpath,\$$ORIGIN' \
  ./configure --prefix="$PREFIX" "${CONFIGURE_FLAGS[@]}" >"$work/configure.log" 2>&1 ||
  { tail -n 40 "$work/configure.log" >&2; die "configure failed (log above)"; }
# `libs` builds only src/ (C) and src-cpp/ (C++): no examples, tests or docs.
make -j"$(nproc)" libs >"$work/make.log" 2>&1 ||
  { tail -n 60 "$work/make.log" >&2; die "make failed (log above)"; }
stage="$work/stage"
for d in src src-cpp; do
  make -C "$d" install DESTDIR="$stage" >>"$work/make.log" 2>&1 ||
    { tail -n 40 "$work/make.log" >&2; die "make install in $d failed"; }
done
built="$stage$PREFIX"
# earshot links the shared libraries; the static ones are 50 MB of dead weight.
rm -f "$built"/lib/*.a "$built"/lib/pkgconfig/*-static.pc
[ -f "$built/lib/librdkafka.so.1" ] && [ -f "$built/lib/librdkafka++.so.1" ] ||
  die "the build produced no librdkafka.so.1 / librdkafka++.so.1"
for lib in librdkafka.so.1 librdkafka++.so.1; do
  readelf -d "$built/lib/$lib" | grep -q 'RUNPATH.*\[\$ORIGIN\]' ||
    die "$lib has no RUNPATH \$ORIGIN"
done
got="$(PKG_CONFIG_PATH="$built/lib/pkgconfig" pkg-config --modversion rdkafka)"
[ "$got" = "$upstream" ] || die "built version $got, expected $upstream"
{
  echo "librdkafka $version (Debian trixie source package, built $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - start)) s)"
  echo "recipe $RECIPE"
  echo "configure ${CONFIGURE_FLAGS[*]}"
} >"$built/.complete"
rm -rf "$PREFIX"
mv "$built" "$PREFIX"
echo "rdkafka/build.sh: librdkafka $version built in $((SECONDS - start)) s: $PREFIX"
