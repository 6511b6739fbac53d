#!/usr/bin/env bash
# The sandbox's cost against plain lua5.4, whole process, median of N interleaved runs each:
#   1. start-up: an empty script;
#   2. steady state: a CPU-bound script (loops, calls, string methods, tables).
# usage: bench/startup.sh [RUNS]   (default 21; needs a built build/trk)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-21}
trk=${TRK:-build/trk}
dir=$(mktemp -d /tmp/trk-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
: > "$dir/empty.lua"
cat > "$dir/work.lua" <<'LUA'
local s, t = 0, {}
local function f(x) return x + 1 end
for i = 1, 3e6 do s = f(s) + (i % 7) end
for i = 1, 2e5 do t[#t + 1] = ("row %d"):format(i):upper():sub(1, 6) end
table.sort(t)
LUA

now_ns() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

measure() {   # script label
  local lua_t=() trk_t=() t0 t1 t2
  for ((i = 0; i < runs; i++)); do
    t0=$(now_ns); lua5.4 "$1"; t1=$(now_ns); "$trk" run "$1"; t2=$(now_ns)
    lua_t+=($(( (t1 - t0) / 1000 ))); trk_t+=($(( (t2 - t1) / 1000 )))
  done
  awk -v l="$(printf '%s\n' "${lua_t[@]}" | median)" -v t="$(printf '%s\n' "${trk_t[@]}" | median)" \
      -v n="$runs" -v what="$2" 'BEGIN {
    printf "%s, median of %d runs (whole process, microseconds)\n", what, n
    printf "  lua5.4    %9.0f\n  trk run   %9.0f\n  ratio     %9.2f  (trk / lua5.4)\n", l, t, t / l }'
}

measure "$dir/empty.lua" "empty script"
measure "$dir/work.lua" "CPU-bound script"
