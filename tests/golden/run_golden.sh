#!/usr/bin/env bash
# Golden replay: runs `earshot replay` on a case directory and compares the
# exposition with expected.prom. Lines that depend on the wall clock or the
# machine (processing-time histogram, reload timestamp) are left out.
#   run_golden.sh EARSHOT_BIN CASE_DIR
# Regenerate (then review the diff!): EARSHOT_UPDATE_GOLDEN=1 ctest -R golden
set -euo pipefail
bin=$1
dir=$2
args=(replay)
[ -f "$dir/config.yaml" ] && args+=(--config "$dir/config.yaml")
args+=(--rules "$dir/rules")
args+=("$dir/input.jsonl")
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
"$bin" "${args[@]}" 2>/dev/null |
  grep -v -E '^(# (HELP|TYPE) )?earshot_(event_processing_seconds|rules_last_reload_success_timestamp_seconds)' \
  >"$actual"
if [ "${EARSHOT_UPDATE_GOLDEN:-}" = "1" ]; then
  cp "$actual" "$dir/expected.prom"
  echo "updated $dir/expected.prom"
  exit 0
fi
if ! diff -u "$dir/expected.prom" "$actual"; then
  echo "golden mismatch in $dir (EARSHOT_UPDATE_GOLDEN=1 regenerates; review the diff)" >&2
  exit 1
fi
