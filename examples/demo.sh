#!/usr/bin/env bash
# The demo `make demo` runs: a local Tracker emulator with generated data, the example rules
# planned, applied, and applied again (which finds nothing left to do), then the journal.
# Run from the project root after a build: examples/demo.sh [path/to/trk]
set -euo pipefail

trk=${1:-build/trk}
work=$(mktemp -d)
emulator=
cleanup() {
  [ -n "$emulator" ] && kill "$emulator" 2>/dev/null && wait "$emulator" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

step "starting trk emulator with 2,000 generated candidates"
"$trk" emulator --port 0 --generate 2000 >"$work/emulator.out" 2>"$work/emulator.err" &
emulator=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/emulator.out" 2>/dev/null && break
  sleep 0.05
done
url=$(sed -n 's/^listening on //p' "$work/emulator.out")
[ -n "$url" ] || { cat "$work/emulator.err" >&2; exit 1; }
echo "listening on $url"

# The three variables a real Tracker needs (region or URLs, key, user), plus the emulator's
# REST token, its time zone, a rate budget the local emulator can take, and its application
# stages (its settings do not list them, as Tracker's may not: the rules move applications).
export TRACKER_WIDGET_URL=$url TRACKER_REST_URL=$url TRACKER_APIKEY=demo-key \
       TRACKER_USERNAME=demo@example.com TRACKER_API_TOKEN=demo-token \
       TRACKER_TIMEZONE=UTC TRACKER_RATE_LIMIT=60000
export TRACKER_STAGES="Applied=1;Shortlisted=2;Screening=3;Submitted to Client=4;Interview=5;\
Second Interview=6;Offer=7;Working=8;Complete=9;Rejected=10;Withdrawn=11"
rules=(rules examples/rules --state "$work/state.db")
since=(--since 2000-01-01T00:00:00Z)     # new rules: from the start of the demo's data

step "1. trk ${rules[*]:0:2} --since ...  (a dry run: the plan)"
"$trk" "${rules[@]}" "${since[@]}" --plan "$work/plan.jsonl" >"$work/plan.txt"
head -22 "$work/plan.txt"
echo "  ... (the table shows 200 rows; all $(wc -l <"$work/plan.jsonl") actions are in the --plan file)"

step "2. the same with --apply  (each write journalled before and after it is sent)"
"$trk" "${rules[@]}" "${since[@]}" --apply

step "3. --apply again  (checkpoints: only what changed since; nothing is done twice)"
"$trk" "${rules[@]}" --apply

step "4. trk journal"
"$trk" journal --state "$work/state.db"
