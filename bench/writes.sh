#!/usr/bin/env bash
# Write throughput over HTTP from `trk run bench/writes_client.lua` to `trk emulator --generate`,
# the writes alternating t:move_to_stage(app, stage) and t:add_note(app, text) over applications
# read once beforehand (those reads are not timed):
#   1. budget: the emulator limits requests to 100 a minute (--rate-limit 100/min, answering 429
#      beyond) and the client keeps its DEFAULT rate_limit (100 a minute); writes for
#      WRITES_SECONDS (default 75). Writes a minute, their ratio to the budget (target 0.95 to
#      1.0), and the 429 answers, counted from the emulator's own request log (target 0);
#   2. free: no limit on either side (rate_limit = false); WRITES_N writes (default 2000),
#      writes a second.
# usage: bench/writes.sh [all|budget|free]   (needs a built build/trk; not part of `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."
trk=${TRK:-build/trk}
what=${1:-all}
seconds=${WRITES_SECONDS:-75}
nwrites=${WRITES_N:-2000}
budget=100
candidates=${WRITES_CANDIDATES:-1000}      # --generate: 1.5 applications a candidate
export LC_ALL=C                            # a '.' in $EPOCHREALTIME and printf
. bench/emulator.sh

# MODE AMOUNT -> prints "WRITES FAILED REQUESTS RETRIES CODES SECONDS": the client's stderr lines,
# stamped on arrival (the sandbox has no fine wall clock); SECONDS from "start" to "end".
# TRACKER_* are cleared so that nothing but the defaults applies (TRACKER_RATE_LIMIT above all).
client() {
  env -u TRACKER_RATE_LIMIT -u TRACKER_REGION -u TRACKER_WIDGET_URL -u TRACKER_REST_URL \
      -u TRACKER_APIKEY -u TRACKER_USERNAME -u TRACKER_PASSWORD -u TRACKER_API_TOKEN \
      -u TRACKER_TIMEZONE \
    "$trk" run bench/writes_client.lua --max-cpu 0 -- "$1" "$2" "$URL" 2>&1 >/dev/null |
    while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done > "$dir/client"
  awk '$2 == "info:" && $3 == "start" { t0 = $1 }
       $2 == "info:" && $3 == "end"   { printf "%s %s %s %s %s %.3f\n", $4, $5, $6, $7, $8, $1 - t0; found = 1 }
       END { exit !found }' "$dir/client" || { echo "client failed:" >&2; cat "$dir/client" >&2; exit 1; }
}

row() { printf '%-48s %16s   %s\n' "$1" "$2" "$3"; }

echo "machine: $(nproc) cores, $(uname -r); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
row "benchmark" "figure" "target / note"

if [ "$what" = all ] || [ "$what" = budget ]; then
  start_server --generate "$candidates" --rate-limit "$budget/min" --verbose
  read -r n failed reqs retries codes secs < <(client budget "$seconds")
  # every answer the emulator sent, reads included: a request line is "METHOD PATH STATUS BYTES TIMEms [NOTE]"
  n429=$(awk '$3 == 429' "$dir/server.err" | wc -l)
  wpm=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", n / s * 60 }')
  row "writes at the default budget ($budget/min)" "$wpm writes/min" \
      "$n writes in $secs s ($failed failed: $codes), $reqs requests"
  row "  ratio to the budget" "$(awk -v w="$wpm" -v b="$budget" 'BEGIN { printf "%.3f", w / b }')" \
      "target >= 0.95 and <= 1.0"
  row "  429 answers (emulator log, whole run)" "$n429" "target 0; client retries: $retries"
fi

if [ "$what" = all ] || [ "$what" = free ]; then
  start_server --generate "$candidates"
  read -r n failed reqs retries codes secs < <(client free "$nwrites")
  row "writes with no budget (rate_limit = false)" \
      "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f writes/s", n / s }')" \
      "$n writes in $secs s ($failed failed: $codes), $reqs requests"
fi
