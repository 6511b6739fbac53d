#!/bin/sh
# Runs every fuzz target of BUILD (a -DTRK_FUZZ=ON build) for SECONDS each over its corpus in
# spec/fuzz/corpus/TARGET/, and prints a line of figures per target. New inputs go to a
# scratch directory, never into the repository (set TRK_FUZZ_KEEP=DIR to keep them in
# DIR/TARGET/). Exits 1 when a target crashed, leaked, hung or failed; its input is saved in
# BUILD/fuzz-crashes/TARGET/.
#
#   spec/fuzz/run.sh BUILD SECONDS [TARGET...] [-- LIBFUZZER_OPTIONS...]
#   spec/fuzz/run.sh build-fuzz 60 client -- -jobs=2
set -u
usage() { echo "usage: $0 BUILD SECONDS [TARGET...] [-- LIBFUZZER_OPTIONS...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
build=$1 seconds=$2
shift 2
case $seconds in ''|*[!0-9]*) usage ;; esac
here=$(cd "$(dirname "$0")" && pwd)
targets=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do targets="$targets $1"; shift; done
[ $# -gt 0 ] && shift                              # the rest goes to libFuzzer
[ -n "$targets" ] || targets="client emulator csv"

TIMEOUT=${TRK_FUZZ_TIMEOUT:-10}        # seconds one input may take: past it, a hang
RSS_MB=${TRK_FUZZ_RSS_MB:-2048}        # memory of the whole process
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/trk-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT INT TERM
failed=0
printf '%-10s %8s %10s %8s %8s %8s  %s\n' target runs "execs/s" cov ft corpus result
for t in $targets; do
  bin=$build/fuzz_$t
  corpus=$here/corpus/$t
  if [ ! -x "$bin" ] || [ ! -d "$corpus" ]; then
    echo "$0: no target '$t' ($bin, $corpus)" >&2
    failed=1
    continue
  fi
  out=${TRK_FUZZ_KEEP:+$TRK_FUZZ_KEEP/$t}
  out=${out:-$scratch/$t}
  crashes=$build/fuzz-crashes/$t
  mkdir -p "$out" "$crashes"
  flags=""
  [ -f "$here/$t.dict" ] && flags="-dict=$here/$t.dict"
  # The emulator keeps every JWT it issues (it tells a superseded token from an unknown one),
  # so a run that exchanges one allocates more than it frees, and libFuzzer would stop for a
  # full leak scan after nearly every run: leaks are checked once, at the end, instead.
  [ "$t" = emulator ] && flags="$flags -detect_leaks=0"
  log=$scratch/$t.log
  # the first corpus directory receives new inputs; the repository's is only read
  "$bin" "$out" "$corpus" $flags -max_total_time="$seconds" -timeout="$TIMEOUT" \
         -rss_limit_mb="$RSS_MB" -artifact_prefix="$crashes/" -print_final_stats=1 \
         "$@" >"$log" 2>&1
  code=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  units=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
  if [ $code -eq 0 ]; then result=ok; else result="FAILED (exit $code)"; failed=1; fi
  printf '%-10s %8s %10s %8s %8s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" \
         "${ft:-?}" "${units:-?}" "$result"
  if [ $code -ne 0 ]; then
    echo "---- $t: the end of libFuzzer's output ($log) ----" >&2
    tail -n 60 "$log" >&2
    echo "---- inputs saved in $crashes/; reproduce with: $bin $crashes/<file>" >&2
  fi
done
exit $failed
