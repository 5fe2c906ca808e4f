#!/usr/bin/env bash
# Kafka vs file throughput on the same events (scripts/bench.sh runs it with
# KAFKA=1):  scripts/bench-kafka.sh BUILD_DIR [EVENTS] [CPU]
# Starts a throwaway broker with scripts/kafka/kafka.sh on loopback, writes
# EVENTS events of `earshot generate --seed 1` to a file and to a
# one-partition topic, then runs, pinned to CPU (default 0):
#   file:  earshot replay of the file (deploy/rules);
#   kafka: earshot run with a kafka source from the topic's beginning, polling
#          /metrics until every event is counted.
# Prints events/s per processing core: events / CPU time of the pipeline
# thread (the main thread; librdkafka's own threads aside), and by wall time
# from the first counted event to the last.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$(cd "$1" && pwd)
N=${2:-1000000}
CPU=${3:-0}
WORK=$(mktemp -d /tmp/earshot-bench-kafka.XXXXXX)
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  scripts/kafka/kafka.sh stop "$WORK/kafka" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

scripts/kafka/kafka.sh start "$WORK/kafka" >/dev/null
scripts/kafka/kafka.sh wait "$WORK/kafka" 120 >/dev/null
B=$(scripts/kafka/kafka.sh bootstrap "$WORK/kafka")
"$BIN/cmd/earshot" generate --count "$N" --seed 1 >"$WORK/events.jsonl"
"$BIN/cmd/earshot" generate --count "$N" --seed 1 --kafka "$B" --topic bench 2>/dev/null

# Thread CPU seconds (utime + stime) of /proc/PID/task/TID.
thread_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/task/$2/stat"
}

echo "| source | events | pipeline thread CPU s | events/s per core | wall s (first to last event) | events/s by wall |"
echo "|---|---|---|---|---|---|"
out=$(taskset -c "$CPU" /usr/bin/time -f '%U %S %e' "$BIN/cmd/earshot" replay "$WORK/events.jsonl" 2>&1 >/dev/null | tail -1)
read -r u s e <<<"$out"
awk -v n="$N" -v u="$u" -v s="$s" -v e="$e" 'BEGIN {
  printf "| file (replay) | %d | %.2f | %.0f | %.2f | %.0f |\n", n, u + s, n / (u + s), e, n / e }'

cat >"$WORK/config.yaml" <<EOF
source:
  type: kafka
  kafka:
    brokers: $B
    topics: [bench]
    group_id: earshot-bench
    properties:
      fetch.max.bytes: "104857600"
      max.partition.fetch.bytes: "16777216"
      queued.max.messages.kbytes: "262144"
      queued.min.messages: "1000000"
rules: {paths: [$ROOT/deploy/rules], reload: off}
clock: event
http: {listen: "127.0.0.1:0"}
EOF
taskset -c "$CPU" "$BIN/cmd/earshot" run --config "$WORK/config.yaml" 2>"$WORK/run.log" &
pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on :\([0-9]*\).*/\1/p' "$WORK/run.log" | head -1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { cat "$WORK/run.log" >&2; echo "bench-kafka: daemon did not start" >&2; exit 1; }
counted() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^earshot_events_total\{/ { s += $NF } END { printf "%d\n", s }'
}
start_cpu=""
t_first=""
deadline=$((SECONDS + 300))
while :; do
  c=$(counted)
  if [[ -z $t_first && $c -gt 0 ]]; then
    t_first=$(date +%s.%N)
  fi
  if [[ $c -ge $N ]]; then
    t_last=$(date +%s.%N)
    break
  fi
  [[ $SECONDS -lt $deadline ]] || { echo "bench-kafka: only $c of $N events after 300 s" >&2; exit 1; }
  sleep 0.05
done
cpu=$(thread_cpu "$pid" "$pid")
awk -v n="$N" -v c="$cpu" -v a="$t_first" -v b="$t_last" 'BEGIN {
  printf "| kafka (run) | %d | %.2f | %.0f | %.2f | %.0f |\n", n, c, n / c, b - a, n / (b - a) }'
