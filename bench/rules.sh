#!/usr/bin/env bash
# The whole job: `trk rules examples/rules` (six rules) over RULES_APPS applications (default
# 50,000) in `trk emulator --generate`, over HTTP with no rate budget: a plan, an --apply, and
# an --apply again (which finds nothing to do). Prints wall time, peak RSS (of trk alone) and
# writes for each, trk's CPU time, and the emulator's own CPU time over the whole run for comparison (the
# emulator is one Lua thread: when its CPU time nears the wall time, it is the bottleneck).
# usage: bench/rules.sh   (needs a built build/trk; not part of `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."
trk=${TRK:-build/trk}
apps=${RULES_APPS:-50000}
export LC_ALL=C
. bench/emulator.sh

candidates=$(( (apps * 2 + 2) / 3 ))      # --generate makes 1.5 applications a candidate
start_server --generate "$candidates"
export TRACKER_WIDGET_URL=$URL TRACKER_REST_URL=$URL TRACKER_APIKEY=demo-key \
       TRACKER_USERNAME=demo@example.com TRACKER_API_TOKEN=demo-token TRACKER_TIMEZONE=UTC \
       TRACKER_RATE_LIMIT=false

printf '%-44s %10s %10s %12s %10s\n' "trk rules examples/rules ($apps applications)" "wall" "trk CPU" "peak RSS" "writes"
for step in plan apply again; do
  flags=()
  [ "$step" != plan ] && flags=(--apply)
  /usr/bin/time -f '%e %M %U %S' -o "$dir/time" \
    "$trk" rules examples/rules --since 2000-01-01T00:00:00Z --state "$dir/state.db" \
      --json "${flags[@]}" > "$dir/$step.json" 2> "$dir/$step.err"
  read -r wall kb user sys < "$dir/time"
  writes=$(lua5.4 -e 'print(("%d"):format(require("cjson").decode(io.read("a")).actions))' < "$dir/$step.json")
  printf '  %-42s %8.1f s %8.1f s %8.1f MiB %10s\n' "$step" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" \
    "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')" "$writes"
done
ticks=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
printf '  %-42s %8.1f s\n' "emulator CPU time, all three" "$(awk -v t="$ticks" -v h="$(getconf CLK_TCK)" 'BEGIN { print t / h }')"
