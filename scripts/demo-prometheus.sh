#!/usr/bin/env bash
# Starts Debian's Prometheus with earshot's recording and alert rules
# (deploy/prometheus/), scraping a running earshot every 5 seconds, with its
# storage in a temporary directory; prints the URL and runs until Ctrl-C,
# then removes the storage.
#
# Usage: scripts/demo-prometheus.sh [EARSHOT_HOST:PORT] [PROMETHEUS_PORT]
#   defaults: 127.0.0.1:9464 and 9090
# Then try, in Prometheus's UI:
#   earshot:share_of_voice:ratio{window="5m",basis="mentions",platform="all"}
#   earshot:platform_leader:ratio{window="5m",basis="mentions"}
set -euo pipefail

target="${1:-127.0.0.1:9464}"
port="${2:-9090}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rules="$here/deploy/prometheus"

prom="$(command -v prometheus || true)"
if [ -z "$prom" ]; then
  echo "demo-prometheus: prometheus not found; install it with scripts/install-deps.sh" >&2
  exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/earshot-prometheus.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $rules/earshot.rules.yml
  - $rules/earshot.alerts.yml
scrape_configs:
  - job_name: earshot
    static_configs:
      - targets: ["$target"]
YAML

"$prom" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pid=$!

url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "demo-prometheus: prometheus exited:" >&2
    cat "$tmp/prometheus.log" >&2
    exit 1
  fi
  if curl -fsS "$url/-/ready" >/dev/null 2>&1; then
    echo "Prometheus: $url  (scraping earshot at $target; storage in $tmp; Ctrl-C to stop)"
    echo "Share of voice: $url/graph?g0.expr=earshot%3Ashare_of_voice%3Aratio%7Bbasis%3D%22mentions%22%2Cplatform%3D%22all%22%7D&g0.tab=1"
    wait "$pid"
    exit $?
  fi
  sleep 0.2
done
echo "demo-prometheus: prometheus did not become ready; log:" >&2
cat "$tmp/prometheus.log" >&2
exit 1
