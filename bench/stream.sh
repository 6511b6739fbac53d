#!/usr/bin/env bash
# Streaming over HTTP from `trk emulator --synthetic N` (records computed on the fly, so the
# server holds nothing per record) to `trk run bench/stream_client.lua`:
#   1. throughput: records a second through `for c in t:candidates{}`, no latency, pages of 500;
#   2. memory: peak RSS of the client streaming 100,000 and 1,000,000 candidates;
#   3. overlap: 10,000 records in pages of 100, 100 ms latency a request, ~1 ms of work a
#      record, streamed (next page fetched during the work) against the baseline that fetches
#      each page only after working on the previous one.
# usage: bench/stream.sh [all|throughput|memory|overlap]   (needs a built build/trk)
set -euo pipefail
cd "$(dirname "$0")/.."
trk=${TRK:-build/trk}
what=${1:-all}
. bench/emulator.sh

client() {   # MODE PAGE WORK_MS -> prints "records seconds peak_kib"
  env TRACKER_WIDGET_URL="$URL" TRACKER_REST_URL="$URL" TRACKER_APIKEY=demo-key \
      TRACKER_USERNAME=demo@example.com TRACKER_API_TOKEN=demo-token \
    /usr/bin/time -f "%e %M" -o "$dir/time" \
    "$trk" run bench/stream_client.lua --max-memory 1G -- "$1" "$2" "$3" "$URL" demo-key demo@example.com \
    > "$dir/out"
  echo "$(cat "$dir/out") $(cat "$dir/time")"
}

row() { printf '%-44s %14s   %s\n' "$1" "$2" "$3"; }

echo "machine: $(nproc) cores, $(uname -r); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
row "benchmark" "figure" "target / note"

if [ "$what" = all ] || [ "$what" = throughput ]; then
  start_server --synthetic 200000
  client stream 500 0 > /dev/null           # warm the server's page path
  read -r n secs _ < <(client stream 500 0)
  row "stream 200,000 candidates over HTTP" "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f rec/s", n / s }')" "$n records in $secs s, pages of 500, no latency"
fi

if [ "$what" = all ] || [ "$what" = memory ]; then
  for n in 100000 1000000; do
    start_server --synthetic "$n"
    read -r got secs kib < <(client stream 500 0)
    [ "$got" = "$n" ] || { echo "streamed $got of $n" >&2; exit 1; }
    row "peak RSS streaming $n candidates" "$(awk -v k="$kib" 'BEGIN { printf "%.1f MiB", k / 1024 }')" "$secs s"
    eval "rss_$n=$kib"
  done
  row "RSS ratio 1,000,000 / 100,000" "$(awk -v a="$rss_1000000" -v b="$rss_100000" 'BEGIN { printf "%.2f", a / b }')" "flat means ~1.0"
fi

if [ "$what" = all ] || [ "$what" = overlap ]; then
  start_server --synthetic 10000 --latency 100
  read -r n1 seq _ < <(client sequential 100 1)
  read -r n2 str _ < <(client stream 100 1)
  row "10,000 records, 100 ms/request, 1 ms/record" "$seq s" "baseline: fetch, then work, one after the other"
  row "  the same, streamed with overlap" "$str s" "$(awk -v a="$seq" -v b="$str" 'BEGIN { printf "%.2fx faster", a / b }')"
fi
