#!/usr/bin/env bash
# Start-up cost of the sandbox: whole-process time of `trk run` on an empty script against
# `lua5.4` on the same script, median of N runs each, interleaved so drift hits both alike.
# usage: bench/startup.sh [RUNS]   (default 51; needs a built build/trk)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-51}
trk=${TRK:-build/trk}
empty=$(mktemp /tmp/trk-empty.XXXXXX.lua)
trap 'rm -f "$empty"' EXIT

now_ns() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

lua_t=(); trk_t=()
for ((i = 0; i < runs; i++)); do
  t0=$(now_ns); lua5.4 "$empty"; t1=$(now_ns); "$trk" run "$empty"; t2=$(now_ns)
  lua_t+=($(( (t1 - t0) / 1000 ))); trk_t+=($(( (t2 - t1) / 1000 )))
done
lua_med=$(printf '%s\n' "${lua_t[@]}" | median)
trk_med=$(printf '%s\n' "${trk_t[@]}" | median)
awk -v l="$lua_med" -v t="$trk_med" -v n="$runs" 'BEGIN {
  printf "empty script, median of %d runs (whole process, microseconds)\n", n
  printf "  lua5.4    %8.0f\n  trk run   %8.0f\n  ratio     %8.2f  (trk / lua5.4)\n", l, t, t / l }'
