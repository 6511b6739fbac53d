#!/usr/bin/env bash
# What each emulator dialect costs in requests (docs/emulator.md, Dialects): the whole job of
# bench/rules.sh (three example rules, --apply) over DIALECT_APPLICATIONS applications
# (default 3,000), once against `trk emulator --dialect rich` (the shapes trk inferred first,
# which every other benchmark uses) and once against `--dialect evidence` (only what Tracker's
# evidence shows: no item times, REST /Search at 10 rows a page without custom fields, widget
# pages of 100). Each run's requests are counted from the emulator's own log, by kind. At
# Tracker's budget of about 100 requests a minute, requests are what a job costs.
# usage: bench/dialects.sh TRK   (prints ROW lines; see bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
trk=$1
apps=${DIALECT_APPLICATIONS:-3000}
. bench/emulator.sh

mkdir "$dir/rules"
for r in interview_note score_routing duplicate_email; do cp "examples/rules/$r.lua" "$dir/rules/"; done
candidates=$(( (apps * 2 + 2) / 3 ))      # --generate makes 1.5 applications a candidate
# the stages every emulator database starts with, named as a user of a database whose settings
# list none names them
stages='Applied=1;Shortlisted=2;Screening=3;Submitted to Client=4;Interview=5;Second Interview=6;Offer=7;Working=8;Complete=9;Rejected=10;Withdrawn=11'

# run DIALECT: the job against a fresh emulator; prints "total search row_reads widget_reads
# writes other writes_applied"
run() {
  BENCH_DIALECT=$1 start_server --generate "$candidates" --admin --verbose
  env $(client_env) TRACKER_STAGES="$stages" "$trk" rules "$dir/rules" --apply \
    --since 2000-01-01T00:00:00Z --state "$dir/state-$1.db" --json > "$dir/$1.json" 2> "$dir/$1.err" ||
    { echo "trk rules ($1) failed:" >&2; tail -5 "$dir/$1.err" >&2; exit 1; }
  stop_server
  local applied
  applied=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["applied"])' "$dir/$1.json")
  awk -v applied="$applied" '
    $1 == "POST" || $1 == "GET" {
      total++
      if ($2 ~ /OpportunityResource\/(Paged)?Search$/) search++
      else if ($1 == "GET" && $2 ~ /OpportunityResource\/[0-9]+$/) rows++
      else if ($2 ~ /getRecords$|getIndividualRecord$|getSettingsData$/) reads++
      else if ($2 ~ /ExchangeToken$/) other++
      else writes++
    }
    END { printf "%d %d %d %d %d %d %d\n", total, search, rows, reads, writes, other, applied }' \
    "$dir/server.err"
}

read -r r_total r_search r_rows r_reads r_writes r_other r_applied <<< "$(run rich)"
read -r e_total e_search e_rows e_reads e_writes e_other e_applied <<< "$(run evidence)"

minutes() { calc 'n / 100' n="$1"; }
row "job requests, rich dialect, $apps apps" "$r_total" "" "" \
    "$(printf 'search %d, application reads %d, widget reads %d, writes %d (%d applied); %.0f min at 100/min' \
       "$r_search" "$r_rows" "$r_reads" "$r_writes" "$r_applied" "$(minutes "$r_total")")"
row "job requests, evidence dialect" "$e_total" "" "" \
    "$(printf 'search %d, application reads %d, widget reads %d, writes %d (%d applied); %.0f min at 100/min' \
       "$e_search" "$e_rows" "$e_reads" "$e_writes" "$e_applied" "$(minutes "$e_total")")"
same=$([ "$r_applied" = "$e_applied" ] && echo 1 || echo 0)
row "  evidence / rich requests" "$(printf '%.2fx' "$(calc 'e / r' e="$e_total" r="$r_total")")" \
    "same writes" "$(verdict 's == 1' s="$same")" \
    "$(printf '+%d requests: /Search pages of 10 (+%d), a read per application for its custom fields (+%d), widget pages of 100 (+%d)' \
       "$((e_total - r_total))" "$((e_search - r_search))" "$((e_rows - r_rows))" "$((e_reads - r_reads))")"
