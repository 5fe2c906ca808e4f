#!/usr/bin/env bash
# The HTTP listener's figures (docs/performance.md and docs/reliability.md,
# "HTTP listener"), on a real `earshot run` with the generator at full speed
# (rate 0) and the ~54,000-series rule set of bench/http_load.py:
#   1. ingestion alone, then with 1,000 idle + 100 slowloris clients (the
#      default timeouts close them after 5 s; the tool reopens them), and 100
#      timed /metrics and /healthz requests among them;
#   2. wrk at concurrency 50 on /metrics (and /healthz): requests/s and p99;
#   3. a burst of 1,000 short-lived connections, then /healthz and ingestion;
#   4. TLS on (web_config): 300 clients that never handshake, 100 timed
#      /metrics and /healthz requests over TLS.
# The ingestion comparison runs with the daemon's threads pinned to CPU
# ${DAEMON_CPU:-0} (pipeline, socket and handler threads on one core, so what
# the listener costs comes out of ingestion) and the load tool on CPU
# ${LOAD_CPU:-1} (so its own work does not); everything else runs unpinned.
# Usage: scripts/bench-http.sh [BUILD_DIR]   (default build-bench; builds earshot there)
# Environment: WRK_SECONDS (15), INGEST_SECONDS (10), INGEST_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${1:-${BUILD_DIR:-build-bench}}
WRK_SECONDS=${WRK_SECONDS:-15}
INGEST_SECONDS=${INGEST_SECONDS:-10}
INGEST_ROUNDS=${INGEST_ROUNDS:-3}
LOAD=(python3 "$ROOT/bench/http_load.py")
PINNED=0
(( $(nproc) >= 2 )) && PINNED=1
command -v wrk >/dev/null || { echo "bench-http: wrk not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "bench-http: openssl not found" >&2; exit 1; }
if [[ ! -x $BUILD_DIR/cmd/earshot ]]; then
  launcher=()
  command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEARSHOT_BUILD_TESTS=OFF \
    -DEARSHOT_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
  ninja -C "$BUILD_DIR" earshot >&2
fi
EARSHOT=$(cd "$BUILD_DIR" && pwd)/cmd/earshot
# 1,100 clients and the daemon's connections: raise the soft limit here too.
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d)
PID=""
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"${LOAD[@]}" --write-rules "$WORK/rules" --source-dir "$ROOT"
start() {  # start WEB_CONFIG_LINE: earshot run in $WORK, sets PID and PORT
  cat >"$WORK/earshot.yaml" <<YAML
source: {type: generator, generator: {rate: 0, seed: 1}}
rules: {paths: [rules/], reload: off}
http: {listen: "127.0.0.1:0", max_connections: 2000$1}
YAML
  (cd "$WORK" && exec "$EARSHOT" run --config earshot.yaml >"$WORK/earshot.log" 2>&1) &
  PID=$!
  PORT=""
  for _ in $(seq 300); do
    PORT=$(grep -o 'listening on :[0-9]*' "$WORK/earshot.log" | head -1 | cut -d: -f2 || true)
    [[ -n $PORT ]] && break
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/earshot.log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $PORT ]] || { echo "bench-http: earshot did not start" >&2; exit 1; }
}
stop() { kill "$PID"; wait "$PID" || true; PID=""; }
series() { curl -sk "$@" | grep -vc '^#' || true; }

echo "== HTTP listener (earshot run, generator at full speed; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); load tool on its own CPU for the ingestion rounds: $PINNED)"
start ""
for _ in $(seq 600); do
  n=$(series "http://127.0.0.1:$PORT/metrics")
  (( n >= 50000 )) && break
  sleep 0.1
done
echo "series in /metrics: $n; $(curl -s "http://127.0.0.1:$PORT/metrics" | wc -c) bytes"

echo
echo "== 1. 1,000 idle + 100 slowloris clients (header_timeout 5s: closed and reopened)"
if (( PINNED )); then
  taskset -a -p -c "${DAEMON_CPU:-0}" "$PID" >/dev/null
  taskset -c "${LOAD_CPU:-1}" "${LOAD[@]}" --port "$PORT" --idle 1000 --slow 100 \
    --ingest-seconds "$INGEST_SECONDS" --ingest-rounds "$INGEST_ROUNDS" --pid "$PID"
  taskset -a -p -c "0-$(( $(nproc) - 1 ))" "$PID" >/dev/null
else
  "${LOAD[@]}" --port "$PORT" --idle 1000 --slow 100 --ingest-seconds "$INGEST_SECONDS" \
    --ingest-rounds "$INGEST_ROUNDS" --pid "$PID"
fi
"${LOAD[@]}" --port "$PORT" --idle 1000 --slow 100 --requests 100

echo
echo "== 2. wrk, 2 threads, 50 connections, ${WRK_SECONDS}s"
for path in /metrics /healthz; do
  out=$(wrk -t2 -c50 -d"${WRK_SECONDS}s" --latency "http://127.0.0.1:$PORT$path")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errs=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr '\n' ' ' || true)
  echo "$path: $rps requests/s, p50 $p50, p99 $p99 ${errs:+($errs)}"
done

echo
echo "== 3. burst of 1,000 short-lived connections"
"${LOAD[@]}" --port "$PORT" --burst 1000 --ingest-seconds 3
kill -0 "$PID" && echo "daemon alive"
stop

echo
echo "== 4. TLS (web_config): 300 clients that never start a handshake"
(cd "$WORK" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout tls.key -out tls.crt -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 2>/dev/null)
printf 'tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n' >"$WORK/web.yml"
start ", web_config: web.yml"
for _ in $(seq 600); do
  n=$(series --cacert "$WORK/tls.crt" "https://127.0.0.1:$PORT/metrics")
  (( n >= 50000 )) && break
  sleep 0.1
done
echo "series in /metrics: $n"
"${LOAD[@]}" --port "$PORT" --tls-ca "$WORK/tls.crt" --idle-tls 300 --requests 100
stop
