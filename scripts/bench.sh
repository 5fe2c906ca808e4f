#!/usr/bin/env bash
# Every performance figure of docs/performance.md in one command:
#   scripts/bench.sh            (QUICK=1 for a shorter run, KAFKA=0 to leave out the Kafka figures)
# Builds Release into ${BUILD_DIR:-build-bench}, writes the deterministic
# workloads into ${EARSHOT_BENCH_CACHE:-~/.cache/earshot/bench} (once per
# seed and size), then runs, pinned to CPU ${BENCH_CPU:-0}:
#   1. `earshot replay` of the 1,000- and 10,000-brand workloads (the headline
#      events/s, from user+system CPU time and from wall time); 1b. the same
#      with shadow rules (a candidate as large as the live set);
#   1d. the per-script benchmark (scripts/bench-scripts.sh: Latin, Arabic,
#      Japanese rules and texts, with the parse-only floor beside them);
#   2. bench/throughput: the parse-only floor, ns/event per stage, rule compile
#      time, scrape time and series, hot-reload pause for 10..10,000 brands;
#   3. the memory run (1,000 brands x 11 platforms x 3 windows, 24 h of event
#      time at 1,000 events/s);
#   4. the Google Benchmark micro-benchmarks (decode, normalize, match,
#      window update, dedupe, scrape);
#   5. Kafka vs file on the 1,000-brand workload and the consumed -> visible
#      latency (scripts/bench-kafka.sh; a throwaway broker, needs Java);
#   6. the HTTP listener under idle, slowloris, idle-TLS and burst clients,
#      and wrk at concurrency 50 (scripts/bench-http.sh; HTTP=0 leaves it out);
#   7. audience: replay with audience off vs on, and the memory run with
#      200,000 distinct authors off vs on (AUDIENCE=0 leaves it out).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build-bench}
CACHE=${EARSHOT_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/earshot/bench}
CPU=${BENCH_CPU:-0}
SEED=${SEED:-1}
if [[ ${QUICK:-0} == 1 ]]; then
  EVENTS=${EVENTS:-100000}; REPLAY_EVENTS=${REPLAY_EVENTS:-200000}; REPEAT=1; MEM_HOURS=${MEM_HOURS:-2}
else
  EVENTS=${EVENTS:-300000}; REPLAY_EVENTS=${REPLAY_EVENTS:-1000000}; REPEAT=3; MEM_HOURS=${MEM_HOURS:-24}
fi
PIN=(taskset -c "$CPU")

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
echo "== build (Release) into $BUILD_DIR" >&2
targets=(earshot throughput decode_bench match_bench pipeline_bench)
tests=OFF
if [[ ${KAFKA:-1} == 1 ]]; then targets+=(earshot-kafka-tool); tests=ON; fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEARSHOT_BUILD_TESTS=$tests \
  -DEARSHOT_BUILD_BENCH=ON "${launcher[@]}" >/dev/null
ninja -C "$BUILD_DIR" "${targets[@]}" >&2
BIN=$ROOT/$BUILD_DIR

echo "== machine" 
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(free -g | awk '/Mem:/{print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg); pinned to CPU $CPU"

mkdir -p "$CACHE"
for b in 1000 10000; do
  if [[ ! -s $CACHE/events-$b-$SEED-$REPLAY_EVENTS.jsonl ]]; then
    echo "== workload: $b brands, $REPLAY_EVENTS events, seed $SEED -> $CACHE" >&2
    "$BIN/bench/throughput" --write-only --brands "$b" --events "$REPLAY_EVENTS" --seed "$SEED" \
      --cache "$CACHE"
    mv "$CACHE/events-$b.jsonl" "$CACHE/events-$b-$SEED-$REPLAY_EVENTS.jsonl"
  fi
done

echo
echo "== 1. earshot replay (file source, decode, dedupe, normalize, match, sentiment, windows, counters, final exposition)"
echo "Each run $REPEAT times (this machine's speed drifts by 10-15% between runs): the fastest by CPU, and the median."
echo "| brands | events | CPU s (user+sys), best | events/s by CPU, best | median | wall s, best | max RSS MiB |"
echo "|---|---|---|---|---|---|---|"
for b in 1000 10000; do
  f=$CACHE/events-$b-$SEED-$REPLAY_EVENTS.jsonl
  cat "$f" >/dev/null  # page cache
  runs=()
  for _ in $(seq "$REPEAT"); do
    runs+=("$("${PIN[@]}" "$ROOT/scripts/cputime" -f '%U %S %e %M' "$BIN/cmd/earshot" replay \
             --rules "$CACHE/rules-$b" "$f" 2>&1 >/dev/null | tail -1)")
  done
  printf '%s\n' "${runs[@]}" | awk -v b="$b" -v n="$REPLAY_EVENTS" '
    { cpu[NR] = $1 + $2; wall[NR] = $3; rss[NR] = $4 }
    END {
      best = 1; for (i = 2; i <= NR; ++i) if (cpu[i] < cpu[best]) best = i
      # median of the CPU times (NR is small)
      for (i = 1; i <= NR; ++i) sorted[i] = cpu[i]
      for (i = 1; i <= NR; ++i) for (j = i + 1; j <= NR; ++j) if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
      med = sorted[int((NR + 1) / 2)]
      printf "| %d | %d | %.2f | %.0f | %.0f | %.2f | %.0f |\n", b, n, cpu[best], n / cpu[best], n / med, wall[best], rss[best] / 1024 }'
done

# --- shadow rules (docs/shadow.md) ------------------------------------------
echo
echo "== 1b. shadow rules: earshot replay with a candidate as large as the live set (1,000 brands)"
echo "Candidates: the live rules themselves (no event changes), and a copy with the second term of every 10th brand dropped. Runs interleaved, $REPEAT each."
f=$CACHE/events-1000-$SEED-$REPLAY_EVENTS.jsonl
sh=$CACHE/shadow-1000
rm -rf "$sh" && mkdir -p "$sh/edited"
for r in "$CACHE"/rules-1000/*.yaml; do
  awk '/name: brand[0-9]*0$/ {print; getline; sub(/, "[^"]*", /, ", ", $0); print; next} {print}' \
    "$r" >"$sh/edited/$(basename "$r")"
done
printf 'rules: {paths: [%s]}\n' "$CACHE/rules-1000" >"$sh/none.yaml"
printf 'rules: {paths: [%s]}\nshadow: {paths: [%s]}\n' "$CACHE/rules-1000" "$CACHE/rules-1000" >"$sh/same.yaml"
printf 'rules: {paths: [%s]}\nshadow: {paths: [%s]}\n' "$CACHE/rules-1000" "$sh/edited" >"$sh/edited.yaml"
: >"$sh/runs"
for _ in $(seq "$REPEAT"); do
  for v in none same edited; do
    echo "$v $("${PIN[@]}" "$ROOT/scripts/cputime" -f '%U %S %e %M' "$BIN/cmd/earshot" replay \
                 --config "$sh/$v.yaml" "$f" 2>&1 >/dev/null | tail -1)" >>"$sh/runs"
  done
done
echo "| candidate | CPU s, best | events/s by CPU, best | median | best vs no candidate | max RSS MiB |"
echo "|---|---|---|---|---|---|"
awk -v n="$REPLAY_EVENTS" '
  { v = $1; k = ++cnt[v]; cpu[v, k] = $2 + $3; rss[v] = $5 > rss[v] ? $5 : rss[v] }
  END {
    split("none same edited", order, " ")
    for (o = 1; o <= 3; ++o) {
      v = order[o]; best = 1e9
      for (i = 1; i <= cnt[v]; ++i) { s[i] = cpu[v, i]; if (s[i] < best) best = s[i] }
      for (i = 1; i <= cnt[v]; ++i) for (j = i + 1; j <= cnt[v]; ++j) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
      med = s[int((cnt[v] + 1) / 2)]
      if (v == "none") base = best
      printf "| %s | %.2f | %.0f | %.0f | %.0f%% | %.0f |\n", v, best, n / best, n / med, 100 * base / best, rss[v] / 1024 }
  }' "$sh/runs"
# --- end shadow rules ----------------------------------------------------------
# Signals (docs/signals.md) are on by default, so the figures above include
# them; the same 1,000-brand replay with them off, runs interleaved with
# runs on.
echo
echo "== 1c. signals on vs off: the 1,000-brand replay, $REPEAT runs each, interleaved"
echo "| signals | CPU s, best | events/s by CPU, best | median | max RSS MiB |"
echo "|---|---|---|---|---|"
sigdir=$(mktemp -d)
printf 'signals: {enabled: false}\n' >"$sigdir/off.yaml"
printf 'signals: {enabled: true}\n' >"$sigdir/on.yaml"
f=$CACHE/events-1000-$SEED-$REPLAY_EVENTS.jsonl
for _ in $(seq "$REPEAT"); do
  for m in off on; do
    echo "$m $("${PIN[@]}" "$ROOT/scripts/cputime" -f '%U %S %e %M' "$BIN/cmd/earshot" replay \
                --config "$sigdir/$m.yaml" --rules "$CACHE/rules-1000" "$f" 2>&1 >/dev/null | tail -1)"
  done
done | awk -v n="$REPLAY_EVENTS" '
  { k = $1; c = $2 + $3; cnt[k]++; cpu[k, cnt[k]] = c; if ($5 > rss[k]) rss[k] = $5 }
  END {
    for (m = 0; m < 2; ++m) {
      k = m == 0 ? "off" : "on"
      best[k] = cpu[k, 1]
      for (i = 1; i <= cnt[k]; ++i) { s[i] = cpu[k, i]; if (s[i] < best[k]) best[k] = s[i] }
      for (i = 1; i <= cnt[k]; ++i) for (j = i + 1; j <= cnt[k]; ++j) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
      med[k] = s[int((cnt[k] + 1) / 2)]
      printf "| %s | %.2f | %.0f | %.0f | %.0f |\n", k, best[k], n / best[k], n / med[k], rss[k] / 1024
    }
    printf "on / off: %.1f%% (best), %.1f%% (median)\n", 100 * best["off"] / best["on"], 100 * med["off"] / med["on"] }'
rm -rf "$sigdir"

echo
echo "== 1d. every script at full speed: Latin, Arabic and Japanese rule sets and texts"
REPEAT=$REPEAT BENCH_CPU=$CPU SEED=$SEED EARSHOT_BENCH_CACHE=$CACHE "$ROOT/scripts/bench-scripts.sh" "$BUILD_DIR"

echo
echo "== 2. stages (bench/throughput)"
"${PIN[@]}" "$BIN/bench/throughput" --brands 10,100,1000,10000 --events "$EVENTS" --repeat "$REPEAT" \
  --seed "$SEED" --cache "$CACHE"

echo
echo "== 3. memory"
# The target's configuration: the benchmark's dedupe cap (docs/performance.md,
# "Dedupe design"); the full run generates 86.4M events (~5 min).
mem_full=(--memory-full)
[[ ${QUICK:-0} == 1 ]] && mem_full=()
"${PIN[@]}" "$BIN/bench/throughput" --brands 0 --memory-hours "$MEM_HOURS" --memory-rate 1000 \
  "${mem_full[@]}" --dedupe-cap "${DEDUPE_CAP:-1000000}" --seed "$SEED" --cache "$CACHE"

echo
echo "== 4. micro-benchmarks"
min_time=0.5
[[ ${QUICK:-0} == 1 ]] && min_time=0.1
for b in decode_bench match_bench pipeline_bench; do
  "${PIN[@]}" "$BIN/bench/$b" --benchmark_min_time=$min_time 2>/dev/null | grep -E '^(BM_|Benchmark|-)' || true
done

if [[ ${KAFKA:-1} == 1 ]]; then
  echo
  echo "== 5. Kafka vs file, and consumed -> visible latency (scripts/kafka/kafka.sh broker on loopback)"
  "$ROOT/scripts/bench-kafka.sh" "$BUILD_DIR" "$REPLAY_EVENTS" "$CPU"
fi

if [[ ${HTTP:-1} == 1 ]]; then
  echo
  echo "== 6. HTTP listener: idle, slow and many clients; wrk (scripts/bench-http.sh)"
  if [[ ${QUICK:-0} == 1 ]]; then
    WRK_SECONDS=${WRK_SECONDS:-5} INGEST_SECONDS=${INGEST_SECONDS:-4} INGEST_ROUNDS=${INGEST_ROUNDS:-1} \
      "$ROOT/scripts/bench-http.sh" "$BUILD_DIR"
  else
    "$ROOT/scripts/bench-http.sh" "$BUILD_DIR"
  fi
fi

if [[ ${AUDIENCE:-1} == 1 ]]; then
  # audience (docs/audience.md): the cost of unique and top authors, which
  # parts 1-3 include (audience.enabled is the default).
  echo
  echo "== 7. audience: replay with audience on vs off (1,000 brands), interleaved; memory with 200,000 authors"
  off_cfg=$(mktemp --suffix=.yaml)
  trap 'rm -f "$off_cfg"' EXIT
  echo "audience: {enabled: false}" >"$off_cfg"
  f=$CACHE/events-1000-$SEED-$REPLAY_EVENTS.jsonl
  runs=()
  for _ in $(seq "$((REPEAT + 2))"); do
    for mode in off on; do
      cfg=()
      [[ $mode == off ]] && cfg=(--config "$off_cfg")
      runs+=("$mode $("${PIN[@]}" "$ROOT/scripts/cputime" -f '%U %S %M' "$BIN/cmd/earshot" replay "${cfg[@]}" \
               --rules "$CACHE/rules-1000" "$f" 2>&1 >/dev/null | tail -1)")
    done
  done
  printf '%s\n' "${runs[@]}" | awk -v n="$REPLAY_EVENTS" '
    { cpu = $2 + $3; k = $1; c[k, ++m[k]] = cpu; rss[k] = $4 }
    END {
      for (k in m) {
        for (i = 1; i <= m[k]; ++i) s[i] = c[k, i]
        for (i = 1; i <= m[k]; ++i) for (j = i + 1; j <= m[k]; ++j) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
        best[k] = s[1]; med[k] = s[int((m[k] + 1) / 2)]
        printf "audience %s: %d runs, CPU s best %.2f (%.0f events/s), median %.2f (%.0f events/s), max RSS %.0f MiB\n", k, m[k], best[k], n / best[k], med[k], n / med[k], rss[k] / 1024
      }
      for (i = 1; i <= m["off"]; ++i) r = r sprintf(" %.2f", c["off", i] / c["on", i])
      printf "on / off throughput: best %.2f, median %.2f; pairwise:%s\n", best["off"] / best["on"], med["off"] / med["on"], r }'
  mem_full=(--memory-full)
  [[ ${QUICK:-0} == 1 ]] && mem_full=()
  for mode in off on; do
    "${PIN[@]}" "$BIN/bench/throughput" --brands 0 --memory-hours "$MEM_HOURS" --memory-rate 1000 \
      "${mem_full[@]}" --dedupe-cap "${DEDUPE_CAP:-1000000}" --authors 200000 --audience "$mode" \
      --seed "$SEED" --cache "$CACHE" | grep -E 'RSS|audience'
  done
fi
