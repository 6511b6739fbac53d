#!/usr/bin/env bash
# Rate budget: `trk run bench/writes_client.lua` writes for BUDGET_SECONDS (default 60) to a
# `trk emulator --generate` that enforces BUDGET requests a minute (default 600; answering 429
# beyond), the client's rate_limit set to the same budget. The writes alternate
# t:move_to_stage and t:add_note over applications read beforehand (untimed; those reads spend
# the same budget on both sides). Figures: the client's requests a minute over the timed part
# against the budget (target >= 95%), and the 429 answers in the emulator's own log over the
# whole run (target 0).
# usage: bench/writes.sh TRK [budget]   (prints ROW lines; see bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
trk=$1
seconds=${BUDGET_SECONDS:-60}
budget=${BUDGET:-600}
. bench/emulator.sh

start_server --generate 1000 --rate-limit "$budget/min" --verbose
# stderr lines of the client, stamped on arrival: "info: start REQUESTS RETRIES" and
# "info: end WRITES FAILED REQUESTS RETRIES CODES"
env -u TRACKER_RATE_LIMIT "$trk" run bench/writes_client.lua --apply --state "$dir/state.db" --max-cpu 0 -- budget "$seconds" "$URL" "$budget" \
    2>&1 >/dev/null | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done > "$dir/client"
read -r n failed reqs retries codes secs < <(awk '
  $2 == "info:" && $3 == "start" { t0 = $1 }
  $2 == "info:" && $3 == "end"   { printf "%s %s %s %s %s %.3f\n", $4, $5, $6, $7, $8, $1 - t0; found = 1 }
  END { exit !found }' "$dir/client") || { echo "writes client failed:" >&2; cat "$dir/client" >&2; exit 1; }
stop_server
n429=$(awk '$3 == 429' "$dir/server.err" | wc -l)
rpm=$(calc 'q / s * 60' q="$reqs" s="$secs")
row "rate budget: requests/min at $budget/min" "$(printf '%.1f /min' "$rpm")" ">= 95% of budget" \
    "$(verdict 'r >= 0.95 * b' r="$rpm" b="$budget")" \
    "$(printf '%.1f%% of the budget; %d requests (%d writes, %d failed: %s) in %.1f s' \
       "$(calc 'r / b * 100' r="$rpm" b="$budget")" "$reqs" "$n" "$failed" "$codes" "$secs")"
row "  429 answers (emulator log, whole run)" "$n429" "0" "$(verdict 'n == 0' n="$n429")" "client retries: $retries"
