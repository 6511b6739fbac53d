#!/usr/bin/env bash
# make bench: every benchmark beside its target, then bench/RESULTS.md (a full run only).
# usage: bench/run.sh TRK [NAME...]
#   NAME: stream (server capacity and streaming throughput), memory, overlap (latency hiding),
#         budget (rate budget), startup, sandbox (sandbox overhead), job (the whole job), flat
#         (trk's memory over 10x the applications), dialects (the job's requests in each
#         emulator dialect), requests (requests per job against the lower bound);
#         default: all of them, in that order. A run of a subset prints its table but leaves
#         bench/RESULTS.md alone.
# Each benchmark script prints ROW lines (name, figure, target, PASS/MISS, note); see
# bench/README.md for what each measures.
set -euo pipefail
cd "$(dirname "$0")/.."
trk=${1:?usage: bench/run.sh TRK [NAME...]}
shift
all=(stream memory overlap budget startup sandbox job flat dialects requests)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
[ -x "$trk" ] || { echo "bench/run.sh: no trk binary at $trk (make build first)" >&2; exit 2; }
for tool in python3 /usr/bin/time curl lua5.4; do
  command -v "$tool" > /dev/null || { echo "bench/run.sh: $tool is missing (make deps installs it)" >&2; exit 2; }
done

rows=$(mktemp /tmp/trk-bench-rows.XXXXXX)
trap 'rm -f "$rows"' EXIT
t0=$SECONDS
for name in "${names[@]}"; do
  case $name in
    stream|memory|overlap) script=(bench/stream.sh "$trk" "$name") ;;
    budget) script=(bench/writes.sh "$trk") ;;
    startup|sandbox) script=(bench/startup.sh "$trk" "$name") ;;
    job|flat) script=(bench/rules.sh "$trk" "$name") ;;
    dialects) script=(bench/dialects.sh "$trk") ;;
    requests) script=(bench/requests.sh "$trk") ;;
    *) echo "bench/run.sh: unknown benchmark '$name' (${all[*]})" >&2; exit 2 ;;
  esac
  echo "== $name" >&2
  s0=$SECONDS
  if ! "${script[@]}" | tee -a "$rows" | awk -F'\t' '$1 == "ROW" { printf "   %-50s %16s  %-22s %s\n", $2, $3, $4, $5 }' >&2; then
    printf 'ROW\t%s\tFAILED\t\tMISS\tthe benchmark did not complete (see its error above)\n' "$name" >> "$rows"
  fi
  echo "   ($((SECONDS - s0)) s)" >&2
done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
header() {
  echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -srm)"
  echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit:  $commit$dirty"
  echo "command: bench/run.sh $trk ${*:-}"
  echo "time:    $((SECONDS - t0)) s"
}
table() {
  echo "| benchmark | figure | target | | note |"
  echo "|---|---|---|---|---|"
  awk -F'\t' '$1 == "ROW" { printf "| %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6 }' "$rows"
}

echo
header "$@"
echo
awk -F'\t' '$1 == "ROW" { printf "%-50s %16s  %-22s %-5s %s\n", $2, $3, $4, $5, $6 }' "$rows"
misses=$(awk -F'\t' '$1 == "ROW" && $5 == "MISS"' "$rows" | wc -l)
echo
echo "$misses target(s) missed"

if [ $# -eq 0 ]; then
  {
    echo "# Benchmark results"
    echo
    echo "The latest full run of \`make bench\` (bench/run.sh); what each row measures is in"
    echo "bench/README.md. Figures are measured side by side in one run; ratios are what to compare"
    echo "across machines."
    echo
    echo '```'
    header
    echo '```'
    echo
    table
  } > bench/RESULTS.md
  echo "wrote bench/RESULTS.md"
fi
