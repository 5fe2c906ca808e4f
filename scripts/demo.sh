#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a real Prometheus with
# the shipped rules (when installable) and the daemon on its embedded default
# (the synthetic generator feeding deploy/rules), and prints where to look.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
TARGETS=earshot ./scripts/build.sh
PORT=${EARSHOT_PORT:-9464}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Debian's prometheus package may already run its own service on 9090.
PROM_PORT=${PROM_PORT:-9090}
while port_busy "$PROM_PORT"; do PROM_PORT=$((PROM_PORT + 1)); done
prom_pid=""
if command -v prometheus >/dev/null 2>&1 && [ -x scripts/demo-prometheus.sh ]; then
  ./scripts/demo-prometheus.sh "127.0.0.1:${PORT}" "$PROM_PORT" >/tmp/earshot-demo-prometheus.log 2>&1 &
  prom_pid=$!
else
  echo "demo: prometheus is not installed; skipping it (scripts/install-deps.sh installs it)" >&2
fi
cleanup() { [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
cat <<MSG

  earshot demo: synthetic social posts -> deploy/rules -> share of voice
    live page     http://localhost:${PORT}/
    metrics       http://localhost:${PORT}/metrics
    JSON API      http://localhost:${PORT}/api/v1/share-of-voice?window=5m&basis=mentions
    Prometheus    http://localhost:${PROM_PORT}/  (try: earshot:share_of_voice:ratio{window='5m',platform='all'})

MSG
./build/cmd/earshot run   # the embedded default: generator + deploy/rules, :9464
