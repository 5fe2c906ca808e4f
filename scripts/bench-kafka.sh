#!/usr/bin/env bash
# Kafka vs file throughput on the same events, and how soon a consumed event
# shows in /metrics (scripts/bench.sh runs it with KAFKA=1):
#   scripts/bench-kafka.sh BUILD_DIR [EVENTS] [CPU]
# BUILD_DIR must hold cmd/earshot, bench/throughput and
# tests/earshot-kafka-tool (scripts/bench.sh builds them). Starts a throwaway
# broker with scripts/kafka/kafka.sh on loopback, writes the 1,000-brand
# benchmark workload (bench/workload.h: EVENTS events and their rules) to a
# file and to a one-partition topic, then, pinned to CPU (default 0):
#   file:    earshot replay of the file;
#   kafka:   earshot run with a kafka source from the topic's beginning,
#            polling /metrics until every event is counted;
#   latency: 20 more events produced one at a time into the running daemon,
#            each timed from the broker's acknowledgement to its count in
#            /metrics (an upper bound of consumed -> visible);
#   consume API: the CPU that librdkafka's consume calls alone cost the
#            reading thread per event, C++ per-message consume() against the
#            C batch rd_kafka_consume_batch_queue() that earshot uses
#            (earshot-kafka-tool consume-cost, ROUNDS times each, alternated;
#            the lowest of each, as other load on the machine only adds).
# Throughput is events per CPU second of the pipeline thread (the main
# thread; librdkafka's fetch threads aside), and by wall time from the first
# counted event to the last.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$(cd "$1" && pwd)
N=${2:-1000000}
CPU=${3:-0}
LATENCY_SAMPLES=20
TOOL=$BIN/tests/earshot-kafka-tool
[[ -x $TOOL ]] || { echo "bench-kafka: $TOOL missing (ninja -C $1 earshot-kafka-tool)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/earshot-bench-kafka.XXXXXX)
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  scripts/kafka/kafka.sh stop "$WORK/kafka" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

scripts/kafka/kafka.sh start "$WORK/kafka" >/dev/null
"$BIN/bench/throughput" --write-only --brands 1000 --events $((N + LATENCY_SAMPLES)) \
  --cache "$WORK" >/dev/null
head -n "$N" "$WORK/events-1000.jsonl" >"$WORK/events.jsonl"
tail -n "$LATENCY_SAMPLES" "$WORK/events-1000.jsonl" >"$WORK/later.jsonl"
RULES=$WORK/rules-1000
scripts/kafka/kafka.sh wait "$WORK/kafka" 120 >/dev/null
B=$(scripts/kafka/kafka.sh bootstrap "$WORK/kafka")
"$TOOL" create "$B" bench 1 >/dev/null
"$TOOL" produce "$B" bench "$WORK/events.jsonl" 2>/dev/null

# Thread CPU seconds (utime + stime) of /proc/PID/task/TID.
thread_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/task/$2/stat"
}

echo "1,000 brands (3,000 terms), $N events of the benchmark workload, pinned to CPU $CPU"
echo
echo "| source | events | pipeline thread CPU s | events/s per processing core | wall s (first to last event) | events/s by wall |"
echo "|---|---|---|---|---|---|"
cat "$WORK/events.jsonl" >/dev/null  # page cache
out=$(taskset -c "$CPU" "$ROOT/scripts/cputime" -f '%U %S %e' "$BIN/cmd/earshot" replay --rules "$RULES" \
        "$WORK/events.jsonl" 2>&1 >/dev/null | tail -1)
read -r u s e <<<"$out"
awk -v n="$N" -v u="$u" -v s="$s" -v e="$e" 'BEGIN {
  printf "| file (replay) | %d | %.2f | %.0f | %.2f | %.0f |\n", n, u + s, n / (u + s), e, n / e }'

# The consumer settings of docs/kafka.md: large fetches and a local queue
# that never fills, so fetching never pauses (fetch.queue.backoff.ms).
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
rules: {paths: [$RULES], reload: off}
clock: event
http: {listen: "127.0.0.1:0"}
EOF
taskset -c "$CPU" "$BIN/cmd/earshot" run --config "$WORK/config.yaml" 2>"$WORK/run.log" &
pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's/.*listening on :\([0-9]*\).*/\1/p' "$WORK/run.log" | head -1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { cat "$WORK/run.log" >&2; echo "bench-kafka: daemon did not start" >&2; exit 1; }
counted() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^earshot_events_total\{/ { s += $NF } END { printf "%d\n", s }'
}
t_first=""
deadline=$((SECONDS + 600))
while :; do
  c=$(counted)
  if [[ -z $t_first && $c -gt 0 ]]; then
    t_first=$(date +%s.%N)
  fi
  if [[ $c -ge $N ]]; then
    t_last=$(date +%s.%N)
    break
  fi
  [[ $SECONDS -lt $deadline ]] || { echo "bench-kafka: only $c of $N events after 600 s" >&2; exit 1; }
  sleep 0.05
done
cpu=$(thread_cpu "$pid" "$pid")
awk -v n="$N" -v c="$cpu" -v a="$t_first" -v b="$t_last" 'BEGIN {
  printf "| kafka (run) | %d | %.2f | %.0f | %.2f | %.0f |\n", n, c, n / c, b - a, n / (b - a) }'

# Latency: one event at a time; the tool returns once the broker has
# acknowledged it, then /metrics is polled every 5 ms until it is counted.
: >"$WORK/latency.txt"
want=$N
while IFS= read -r line; do
  printf '%s\n' "$line" >"$WORK/one.jsonl"
  "$TOOL" produce "$B" bench "$WORK/one.jsonl" 2>/dev/null
  t0=$(date +%s%N)
  want=$((want + 1))
  until [[ $(counted) -ge $want ]]; do
    (( $(date +%s%N) - t0 < 10000000000 )) || { echo "bench-kafka: event not visible after 10 s" >&2; exit 1; }
    sleep 0.005
  done
  echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$WORK/latency.txt"
done <"$WORK/later.jsonl"
sort -n "$WORK/latency.txt" | awk '{ v[NR] = $1 } END {
  printf "\nacknowledged by the broker -> counted in /metrics, %d events one at a time: median %d ms, max %d ms\n",
    NR, v[int((NR + 1) / 2)], v[NR] }'

echo
echo "consume API cost on the reading thread, $N events, lowest of ${ROUNDS:-5} runs each:"
best_p="" best_b=""
for _ in $(seq 1 "${ROUNDS:-5}"); do
  for api in per-message batch; do
    c=$(taskset -c "$CPU" "$TOOL" consume-cost "$B" bench "$N" "$api")
    if [[ $api == per-message ]]; then
      [[ -z $best_p ]] || (( $(awk -v a="$c" -v b="$best_p" 'BEGIN { print (a < b) }') )) && best_p=$c
    else
      [[ -z $best_b ]] || (( $(awk -v a="$c" -v b="$best_b" 'BEGIN { print (a < b) }') )) && best_b=$c
    fi
  done
done
awk -v n="$N" -v p="$best_p" -v b="$best_b" 'BEGIN {
  printf "| API | CPU s | ns per event |\n|---|---|---|\n"
  printf "| C++ KafkaConsumer::consume(), one call a message | %.3f | %.0f |\n", p, p / n * 1e9
  printf "| C rd_kafka_consume_batch_queue(), up to 1024 a call | %.3f | %.0f |\n", b, b / n * 1e9 }'
