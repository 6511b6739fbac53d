#!/usr/bin/env bash
# Requests per job against the lower bound (docs/performance.md). Against a real Tracker a
# job's wall time is its request count over the budget of about 100 requests a minute, so this
# is the figure a user lives by. In each emulator dialect (evidence, the default, and rich):
#   rules job  `trk rules` with the three example rules of bench/rules.sh (interview_note,
#              score_routing, duplicate_email; --apply) over REQUESTS_APPLICATIONS
#              applications (default 3,000), and the BASELINE bench/baseline_python_job.py
#              doing the same job on the same data (the emulator reset in between); both must
#              leave the same state (a digest of every record); then trk's next run (the
#              checkpoints of the first, nothing new but its own writes): an incremental run
#   migration  `trk run` of migrate.upsert_candidates over a CSV of 2 x REQUESTS_ROWS rows
#              (default 300): half existing candidates (unchanged, a new job title, a new job
#              title and custom field), half new ones
# Requests are counted from the emulator's own log, by kind. The lower bound is computed by
# bench/requests_bound.py from the data (the emulator's state before and after the run): the
# pages every stream must read at the dialect's page caps, the reads of fields pages lack, one
# request per record changed, created or noted, the token exchange and the settings.
# Target: trk within 1.05x of the bound. Minutes are requests / 100.
# usage: bench/requests.sh TRK   (prints ROW lines; see bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
trk=$1
apps=${REQUESTS_APPLICATIONS:-3000}
rows=${REQUESTS_ROWS:-300}
. bench/emulator.sh

mkdir "$dir/rules"
for r in interview_note score_routing duplicate_email; do cp "examples/rules/$r.lua" "$dir/rules/"; done
candidates=$(( (apps * 2 + 2) / 3 ))      # --generate makes 1.5 applications a candidate
# the stages every emulator database starts with, for a database whose settings list none
stages='Applied=1;Shortlisted=2;Screening=3;Submitted to Client=4;Interview=5;Second Interview=6;Offer=7;Working=8;Complete=9;Rejected=10;Withdrawn=11'
cat > "$dir/import.lua" <<'EOF'
local tracker = require "tracker"
local migrate = require "tracker.migrate"
local t = tracker.connect()
local rows <close> = migrate.csv(arg[1], { header = { Email = "email", ["First Name"] = "first_name",
  ["Last Name"] = "last_name", ["Job Title"] = "job_title", Priority = "custom.Priority" } })
print(migrate.upsert_candidates(t, rows))
EOF

state() { curl -sS --fail "$URL/_emulator/state" > "$1"; }
mark() { wc -l < "$dir/server.err"; }
counted() { python3 bench/requests_bound.py count "$dir/server.err" "$(( $1 + 1 ))"; }
digest() { python3 bench/baseline_python_job.py --summary "$URL"; }
reset() { curl -sS --fail -X POST "$URL/_emulator/reset" > /dev/null; }
minutes() { printf '%.1f' "$(calc 'n / 100' n="$1")"; }
within() { verdict 's && t <= 1.05 * b' s="$3" t="$1" b="$2"; }

# dialect DIALECT: both jobs in one emulator of that dialect; prints ROW lines
dialect() {
  local d=$1
  BENCH_DIALECT=$d start_server --generate "$candidates" --admin --verbose
  local app_cap cand_cap row_reads=()
  if [ "$d" = evidence ]; then app_cap=10 cand_cap=100 row_reads=(--row-reads "Interview,Screening")
  else app_cap=500 cand_cap=500; fi

  # the rules job: trk, then the baseline from the same data
  state "$dir/before.json"
  local m0; m0=$(mark)
  env $(client_env) TRACKER_STAGES="$stages" "$trk" rules "$dir/rules" --apply \
    --since 2000-01-01T00:00:00Z --state "$dir/state-$d.db" --json > "$dir/$d.json" 2> "$dir/$d.err" ||
    { echo "trk rules ($d) failed:" >&2; tail -5 "$dir/$d.err" >&2; exit 1; }
  local t_total t_pages t_reads t_settings t_writes t_session
  read -r t_total t_pages t_reads t_settings t_writes t_session <<< "$(counted "$m0")"
  state "$dir/after.json"
  local trk_digest; trk_digest=$(digest)
  # the next run, nothing changed since but this run's own writes: what an incremental run costs
  local i0; i0=$(mark)
  env $(client_env) TRACKER_STAGES="$stages" "$trk" rules "$dir/rules" --apply \
    --state "$dir/state-$d.db" --json > "$dir/$d-again.json" 2> "$dir/$d-again.err" ||
    { echo "trk rules ($d, again) failed:" >&2; tail -5 "$dir/$d-again.err" >&2; exit 1; }
  local i_total i_pages i_reads i_settings i_writes i_session
  read -r i_total i_pages i_reads i_settings i_writes i_session <<< "$(counted "$i0")"
  local b_total b_pages b_reads b_writes b_session
  read -r b_total b_pages b_reads b_writes b_session <<< "$(python3 bench/requests_bound.py bound \
    "$dir/before.json" "$dir/after.json" --applications "$app_cap" --candidates "$cand_cap" \
    "${row_reads[@]}" 2> "$dir/bound.txt")"
  reset
  m0=$(mark)
  TRACKER_STAGES="$stages" python3 bench/baseline_python_job.py "$URL" demo-key demo@example.com \
    demo-token 2000-01-01T00:00:00 > "$dir/py.out"
  local p_total; read -r p_total _ <<< "$(counted "$m0")"
  local same=1
  [ "$(digest)" = "$trk_digest" ] || same=0

  row "requests: rules job, $d, $apps apps" "$t_total" "<= 1.05x bound" \
      "$(within "$t_total" "$b_total" "$same")" \
      "$(printf '%.2fx the bound; %s min at 100/min; pages %d, record reads %d, settings %d, writes %d, token %d' \
         "$(calc 't / b' t="$t_total" b="$b_total")" "$(minutes "$t_total")" "$t_pages" "$t_reads" \
         "$t_settings" "$t_writes" "$t_session")"
  row "  lower bound, $d" "$b_total" "" "" "$(minutes "$b_total") min; $(cat "$dir/bound.txt")"
  row "  the next run (incremental), $d" "$i_total" "" "" \
      "$(printf '%s min; pages %d, record reads %d, settings %d, writes %d, token %d' \
         "$(minutes "$i_total")" "$i_pages" "$i_reads" "$i_settings" "$i_writes" "$i_session")"
  row "  baseline: Python, $d" "$p_total" "" "" \
      "$(minutes "$p_total") min; $([ "$same" = 1 ] && echo "same final state as trk" ||
         echo "DIFFERENT FINAL STATE from trk's")"

  # the migration, from the same data again
  reset
  python3 bench/requests_bound.py csv "$dir/before.json" "$rows" "$dir/people.csv"
  m0=$(mark)
  env $(client_env) "$trk" run "$dir/import.lua" --input "$dir/people.csv" --apply \
    --state "$dir/mig-$d.db" -- "$dir/people.csv" > "$dir/mig.out" 2> "$dir/mig.err" ||
    { echo "trk run import.lua ($d) failed:" >&2; tail -5 "$dir/mig.err" >&2; exit 1; }
  read -r t_total t_pages t_reads t_settings t_writes t_session <<< "$(counted "$m0")"
  state "$dir/after.json"
  read -r b_total b_pages b_reads b_writes b_session <<< "$(python3 bench/requests_bound.py bound \
    "$dir/before.json" "$dir/after.json" --candidates "$cand_cap" 2> "$dir/bound.txt")"
  stop_server
  row "requests: CSV migration, $d, $((2 * rows)) rows" "$t_total" "<= 1.05x bound" \
      "$(within "$t_total" "$b_total" 1)" \
      "$(printf '%.2fx the bound; %s min at 100/min; pages %d, record reads %d, settings %d, writes %d; %s' \
         "$(calc 't / b' t="$t_total" b="$b_total")" "$(minutes "$t_total")" "$t_pages" "$t_reads" \
         "$t_settings" "$t_writes" "$(tr -d '\n' < "$dir/mig.out")")"
  row "  lower bound, $d" "$b_total" "" "" "$(minutes "$b_total") min; $(cat "$dir/bound.txt")"
}

dialect evidence
dialect rich
