#!/usr/bin/env bash
# Compares builds of earshot on one of the per-script benchmark's files
# (docs/performance.md, "Method"). Each of ROUNDS rounds replays the file
# once with every binary in turn, pinned to one CPU: the runs are
# interleaved, so a drift in the host's speed (5-10% within minutes on a
# shared virtual machine) falls on every binary alike. Prints each binary's
# median and best CPU seconds (user + system, to the microsecond by
# scripts/cputime) and the events/s of its best run.
#   scripts/bench-ab.sh SCRIPT BINARY...
#     SCRIPT: latin, arabic or japanese; BINARY: an earshot executable
#     (ROUNDS=11, EVENTS=200000, SEED=1, BENCH_CPU=0)
# The rules and events are those of scripts/bench-scripts.sh, which writes
# them on its first run. To compare an environment rather than a build (an
# allocator by LD_PRELOAD, a glibc tunable), pass a wrapper script that
# sets it and execs the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ $# -lt 2 ]]; then
  echo "usage: scripts/bench-ab.sh latin|arabic|japanese BINARY..." >&2
  exit 2
fi
script=$1
shift
case $script in
  latin | arabic | japanese) ;;
  *) echo "bench-ab.sh: unknown script \"$script\" (latin, arabic or japanese)" >&2; exit 2 ;;
esac
CACHE=${EARSHOT_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/earshot/bench}
ROUNDS=${ROUNDS:-11}
EVENTS=${EVENTS:-200000}
SEED=${SEED:-1}
CPU=${BENCH_CPU:-0}
rules=$CACHE/rules-$script-1000
# The file's name carries the generator's version, set in bench-scripts.sh.
workload=$(sed -n 's/^WORKLOAD=//p' "$ROOT/scripts/bench-scripts.sh")
events=$CACHE/events-$script-1000-$SEED-$EVENTS-$workload.jsonl
if [[ ! -d $rules || ! -s $events ]]; then
  echo "bench-ab.sh: no $events or $rules: run scripts/bench-scripts.sh once (EVENTS=$EVENTS SEED=$SEED)" >&2
  exit 1
fi
for bin in "$@"; do
  if [[ ! -x $bin ]]; then
    echo "bench-ab.sh: $bin is not an executable" >&2
    exit 1
  fi
done
cat "$events" >/dev/null  # page cache

declare -A seconds
for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    # The last line of cputime's report: "user system".
    t=$(taskset -c "$CPU" "$ROOT/scripts/cputime" -f '%U %S' "$bin" replay --rules "$rules" \
          "$events" 2>&1 >/dev/null | tail -1)
    seconds[$bin]+="$(awk '{ printf "%.6f", $1 + $2 }' <<<"$t") "
  done
done

echo "== $script: $EVENTS events, $ROUNDS interleaved rounds pinned to CPU $CPU, CPU seconds"
echo "| binary | median | best | events/s at best |"
echo "|---|---|---|---|"
for bin in "$@"; do
  tr ' ' '\n' <<<"${seconds[$bin]}" | grep . | sort -g |
    awk -v bin="$bin" -v n="$EVENTS" '
      { v[NR] = $1 }
      END {
        med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "| %s | %.3f | %.3f | %.0f |\n", bin, med, v[1], n / v[1]
      }'
done
