#!/usr/bin/env bash
# The sandbox's cost against plain lua5.4, whole process, the same source file for both,
# runs interleaved (lua5.4, trk, lua5.4, ...), medians:
#   startup: an empty script, STARTUP_RUNS runs each (default 101); target trk <= 2x lua5.4
#            and under 5 ms.
#   sandbox: CPU-bound scripts, SANDBOX_RUNS runs each (default 11): bench/cpu_rules.lua (rule
#            evaluation over in-memory records) and bench/cpu_binarytrees.lua (binary-trees);
#            target trk <= 1.10x lua5.4 for each.
# usage: bench/startup.sh TRK [startup|sandbox]...   (prints ROW lines; see bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
trk=$1
shift
whats=${*:-startup sandbox}
. bench/emulator.sh

# FILE RUNS -> "LUA_MEDIAN_US TRK_MEDIAN_US"; each run's output is compared, so that both ran it
measure() {
  local t0 t1 t2
  : > "$dir/lua.t"; : > "$dir/trk.t"
  for ((i = 0; i < $2; i++)); do
    t0=${EPOCHREALTIME/./}; lua5.4 "$1" > "$dir/lua.out"; t1=${EPOCHREALTIME/./}
    "$trk" run "$1" > "$dir/trk.out"; t2=${EPOCHREALTIME/./}
    cmp -s "$dir/lua.out" "$dir/trk.out" || { echo "$1: lua5.4 and trk run printed different things" >&2; exit 1; }
    echo $((t1 - t0)) >> "$dir/lua.t"; echo $((t2 - t1)) >> "$dir/trk.t"
  done
  echo "$(median < "$dir/lua.t") $(median < "$dir/trk.t")"
}

for w in $whats; do
  case $w in
    startup)
      : > "$dir/empty.lua"
      runs=${STARTUP_RUNS:-101}
      read -r l t < <(measure "$dir/empty.lua" "$runs")
      row "start-up: trk run empty.lua" "$(printf '%.2f ms' "$(calc 't / 1000' t="$t")")" "< 5 ms" \
          "$(verdict 't < 5000' t="$t")" "median of $runs, whole process"
      row "  baseline: lua5.4 empty.lua" "$(printf '%.2f ms' "$(calc 'l / 1000' l="$l")")" "" "" ""
      row "  trk / lua5.4" "$(printf '%.2fx' "$(calc 't / l' t="$t" l="$l")")" "<= 2.0x" \
          "$(verdict 't <= 2 * l' t="$t" l="$l")" "" ;;
    sandbox)
      runs=${SANDBOX_RUNS:-11}
      for f in bench/cpu_rules.lua bench/cpu_binarytrees.lua; do
        read -r l t < <(measure "$f" "$runs")
        row "sandbox overhead: $(basename "$f")" "$(printf '%.2fx' "$(calc 't / l' t="$t" l="$l")")" \
            "<= 1.10x" "$(verdict 't <= 1.10 * l' t="$t" l="$l")" \
            "$(printf 'trk run %.2f s, baseline lua5.4 %.2f s; median of %d' \
               "$(calc 't / 1e6' t="$t")" "$(calc 'l / 1e6' l="$l")" "$runs")"
      done ;;
    *) echo "bench/startup.sh: unknown benchmark '$w' (startup, sandbox)" >&2; exit 2 ;;
  esac
done
