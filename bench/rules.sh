#!/usr/bin/env bash
# The whole job: `trk rules` with three example rules (interview_note, score_routing,
# duplicate_email) over JOB_APPLICATIONS applications (default 50,000; about 4,500 writes) in
# `trk emulator --generate --latency 20 --admin`, against the BASELINE
# bench/baseline_python_job.py doing the same job the plain sequential way. Same emulator data
# for both (reset in between), no rate budget on either side (TRACKER_RATE_LIMIT=false, no
# --rate-limit); trk with --concurrency 4 (its default), Python one request at a time. Both
# runs must leave the same emulator state (a digest of every record, less the times and ids
# the run made) and report the same number of writes.
# flat: trk's peak RSS running the two application rules (interview_note, score_routing) with
# --apply over JOB_APPLICATIONS and FLAT_APPLICATIONS applications (default 500,000), no
# latency, each against a fresh emulator; target the second <= 1.2x the first. What grows with
# the job in trk (ids seen, plans, journal rows, handled changes) must stay constant or on
# disk. duplicate_email is left out: its index of every candidate's email is the rule's own
# data (ctx.state), as the baseline's dictionary is the baseline's.
# usage: bench/rules.sh TRK [job|flat]...   (prints ROW lines; see bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
trk=$1
shift
whats=${*:-job}
apps=${JOB_APPLICATIONS:-50000}
large=${FLAT_APPLICATIONS:-500000}
latency=${JOB_LATENCY:-20}
concurrency=4
. bench/emulator.sh

job() {
  mkdir "$dir/rules"
  for r in interview_note score_routing duplicate_email; do cp "examples/rules/$r.lua" "$dir/rules/"; done
  candidates=$(( (apps * 2 + 2) / 3 ))      # --generate makes 1.5 applications a candidate
  # --verbose: a line per request in server.err, from which the writes' turnaround is measured
  start_server --generate "$candidates" --latency "$latency" --admin --verbose
  digest() { python3 bench/baseline_python_job.py --summary "$URL"; }
  cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
  before=$(digest)

  c0=$(cpu_ticks)
  env $(client_env) /usr/bin/time -f '%e %M' -o "$dir/trk.time" \
    "$trk" rules "$dir/rules" --apply --since 2000-01-01T00:00:00Z --state "$dir/state.db" \
      --concurrency "$concurrency" --json > "$dir/trk.json" 2> "$dir/trk.err" ||
    { echo "trk rules failed:" >&2; tail -5 "$dir/trk.err" >&2; exit 1; }
  c1=$(cpu_ticks)
  # the writes' mean turnaround at the emulator (latency + its own work, pages it made for
  # other requests included): what --concurrency 4 divides, rather than the nominal latency
  write_ms=$(awk '$2 ~ /(updateRecord|createActivity)$/ { s += $5; n++ } END { printf "%.1f", n ? s / n : 0 }' \
             "$dir/server.err")
  read -r trk_wall trk_kib < "$dir/trk.time"
  trk_writes=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["applied"])' "$dir/trk.json")
  trk_digest=$(digest)

  curl -sS --fail -X POST "$URL/_emulator/reset" > /dev/null
  [ "$(digest)" = "$before" ] || { echo "rules: the emulator's reset did not restore the data" >&2; exit 1; }
  /usr/bin/time -f '%e %M' -o "$dir/py.time" python3 bench/baseline_python_job.py "$URL" demo-key \
    demo@example.com demo-token 2000-01-01T00:00:00 > "$dir/py.out"
  read -r py_wall py_kib < "$dir/py.time"
  py_writes=$(awk '$1 == "writes" { print $2 }' "$dir/py.out")
  py_digest=$(digest)
  stop_server

  same=1
  [ "$trk_digest" = "$py_digest" ] && [ "$trk_writes" = "$py_writes" ] || same=0
  emu_cpu=$(calc 't / h' t="$((c1 - c0))" h="$(getconf CLK_TCK)")
  note_same=$([ "$same" = 1 ] && echo "same final state and $trk_writes writes in both" ||
              echo "DIFFERENT WORK: trk $trk_writes writes ($trk_digest), Python $py_writes ($py_digest)")
  row "whole job: trk rules, 3 rules, $apps apps" "$(printf '%.1f s' "$trk_wall")" "" "" \
      "$(printf '%s writes, --concurrency %d, no rate budget, %d ms latency; emulator CPU %.1f s of it' \
         "$trk_writes" "$concurrency" "$latency" "$emu_cpu")"
  row "  baseline: Python, plain sequential" "$(printf '%.1f s' "$py_wall")" "" "" "$note_same"
  # the writes alone, --concurrency at a time, each a round trip: no run of this job is faster
  local floor measured
  floor=$(calc 'w * l / 1000 / c' w="$trk_writes" l="$latency" c="$concurrency")
  measured=$(calc 'w * m / 1000 / c' w="$trk_writes" m="$write_ms" c="$concurrency")
  row "  wall: Python / trk" "$(printf '%.2fx' "$(calc 'p / t' p="$py_wall" t="$trk_wall")")" ">= 5x" \
      "$(verdict 's && p >= 5 * t' s="$same" p="$py_wall" t="$trk_wall")" \
      "$(printf 'the writes alone take %.1f s at --concurrency %d (%s x %d ms / %d): at most %.2fx; at the %.1f ms a write took at the emulator, %.1f s: at most %.2fx (bench/README.md)' \
         "$floor" "$concurrency" "$trk_writes" "$latency" "$concurrency" "$(calc 'p / f' p="$py_wall" f="$floor")" \
         "$write_ms" "$measured" "$(calc 'p / f' p="$py_wall" f="$measured")")"
  row "  peak RSS: Python / trk" "$(printf '%.2fx' "$(calc 'p / t' p="$py_kib" t="$trk_kib")")" ">= 3x" \
      "$(verdict 's && p >= 3 * t' s="$same" p="$py_kib" t="$trk_kib")" \
      "$(printf 'trk %.1f MiB, Python %.1f MiB; out of reach at 50,000 apps: duplicate_email'"'"'s own index of every email (13 MiB, as the baseline'"'"'s dictionary 11) and trk'"'"'s 3 MiB are over a third of Python'"'"'s peak (bench/README.md)' \
         "$(calc 'k / 1024' k="$trk_kib")" "$(calc 'k / 1024' k="$py_kib")")"
}

# APPS -> "PEAK_KIB WALL WRITES EMULATOR_CPU": trk over the application rules, --apply, no
# latency
flat_run() {
  local c0 c1
  start_server --generate "$(( ($1 * 2 + 2) / 3 ))" --admin
  c0=$(awk '{ print $14 + $15 }' "/proc/$server_pid/stat")
  env $(client_env) /usr/bin/time -f '%M %e' -o "$dir/flat.time" \
    "$trk" rules "$dir/flat" --apply --since 2000-01-01T00:00:00Z --state "$dir/flat-$1.db" \
      --concurrency "$concurrency" --json > "$dir/flat.json" 2> "$dir/flat.err" ||
    { echo "trk rules ($1 applications) failed:" >&2; tail -5 "$dir/flat.err" >&2; exit 1; }
  c1=$(awk '{ print $14 + $15 }' "/proc/$server_pid/stat")
  stop_server
  echo "$(tail -1 "$dir/flat.time")" \
       "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["applied"])' "$dir/flat.json")" \
       "$(calc 't / h' t="$((c1 - c0))" h="$(getconf CLK_TCK)")"
}

flat() {
  mkdir "$dir/flat"
  for r in interview_note score_routing; do cp "examples/rules/$r.lua" "$dir/flat/"; done
  local small big sw sn se bw bn be
  read -r small sw sn se < <(flat_run "$apps")
  read -r big bw bn be < <(flat_run "$large")
  row "memory: trk rules peak RSS, $apps apps" "$(printf '%.1f MiB' "$(calc 'k / 1024' k="$small")")" "" "" \
      "$(printf 'interview_note and score_routing, %s writes, no latency; %.0f s, emulator CPU %.1f s of it' "$sn" "$sw" "$se")"
  row "memory: trk rules peak RSS, $large apps" "$(printf '%.1f MiB' "$(calc 'k / 1024' k="$big")")" "" "" \
      "$(printf 'the same rules, %s writes; %.0f s, emulator CPU %.1f s of it' "$bn" "$bw" "$be")"
  row "  $large / $apps" "$(printf '%.2fx' "$(calc 'a / b' a="$big" b="$small")")" "<= 1.2x" \
      "$(verdict 'a <= 1.2 * b' a="$big" b="$small")" ""
}

for w in $whats; do
  case $w in
    job) job ;;
    flat) flat ;;
    *) echo "bench/rules.sh: unknown benchmark '$w' (job, flat)" >&2; exit 2 ;;
  esac
done
