#!/usr/bin/env bash
# Streaming benchmarks over HTTP against `trk emulator --synthetic N` (records computed from
# their index, never stored).
#   capacity, throughput   (one run, "stream"): the emulator in --static mode (each page made
#       once by the model, then sent from C), warmed by one untimed pass of each client; then
#       ROUNDS interleaved timed passes of `trk run bench/stream_client.lua` (for r in
#       t:candidates{}), bench/baseline_floor.lua (curl + cjson in lua5.4) and
#       bench/baseline_python.py, pages of 500, no latency; median records/s of each, and the
#       ratios. The server's capacity: CONCURRENT curl processes fetching the kept pages over
#       and over, requests/s, against trk's request rate.
#   memory: peak RSS of trk streaming 100,000 and 1,000,000 candidates.
#   overlap: 10,000 records in pages of 100, 100 ms latency a request, ~1 ms of work a record,
#       streamed, against the BASELINE that fetches each page only after working on the last;
#       the emulator in --static mode, warmed by an untimed run of each.
# usage: bench/stream.sh TRK [stream|memory|overlap]...   (prints ROW lines; see bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
trk=$1
shift
whats=${*:-stream memory overlap}
records=${STREAM_RECORDS:-200000}
rounds=${STREAM_ROUNDS:-3}
concurrent=${CAPACITY_CLIENTS:-4}
. bench/emulator.sh

trk_client() {   # MODE PAGE WORK_MS [LOOPS_PER_MS] -> N CHECK SECONDS
  stamped env $(client_env) "$trk" run bench/stream_client.lua --max-memory 1G --max-cpu 0 -- "$@"
}
floor_client() { stamped lua5.4 bench/baseline_floor.lua "$URL" demo-key demo@example.com "$records" 500; }
python_client() { stamped python3 bench/baseline_python.py "$URL" demo-key demo@example.com 500; }
log_lines() { wc -l < "$dir/server.err"; }

stream() {
  start_server --synthetic "$records" --static --verbose
  # warm: every page each client asks for is made once by the model and kept
  trk_client stream 500 0 > /dev/null
  floor_client > /dev/null
  python_client > /dev/null
  local warm trk_n="" trk_c="" l0 l1 trk_requests=0
  warm=$(log_lines)
  : > "$dir/trk.s"; : > "$dir/floor.s"; : > "$dir/python.s"
  for ((r = 0; r < rounds; r++)); do
    l0=$(log_lines)
    read -r n c s < <(trk_client stream 500 0)
    l1=$(log_lines)
    trk_requests=$((l1 - l0)); trk_n=$n; trk_c=$c
    echo "$s" >> "$dir/trk.s"
    read -r fn fc s < <(floor_client); echo "$s" >> "$dir/floor.s"
    read -r pn pc s < <(python_client); echo "$s" >> "$dir/python.s"
    if [ "$fn $fc" != "$trk_n $trk_c" ] || [ "$pn $pc" != "$trk_n $trk_c" ]; then
      echo "stream: the clients read different records: trk $trk_n/$trk_c, floor $fn/$fc, python $pn/$pc" >&2
      exit 1
    fi
  done
  [ "$trk_n" = "$records" ] || { echo "stream: trk streamed $trk_n of $records" >&2; exit 1; }
  # every timed request must have been answered from C: anything else measured the model
  local made
  made=$(tail -n +"$((warm + 1))" "$dir/server.err" | grep -vc '(static)$' || true)
  local ts fs ps trate frate prate
  ts=$(median < "$dir/trk.s"); fs=$(median < "$dir/floor.s"); ps=$(median < "$dir/python.s")
  trate=$(calc 'n / s' n="$records" s="$ts"); frate=$(calc 'n / s' n="$records" s="$fs")
  prate=$(calc 'n / s' n="$records" s="$ps")
  local req_rate
  req_rate=$(calc 'q / s' q="$trk_requests" s="$ts")

  # capacity: the floor's pages (kept by now), fetched by CONCURRENT curl processes at once
  local cfg="$dir/capacity.cfg" pages=$((records / 500 + 1)) reps=3
  for ((rep = 0; rep < reps; rep++)); do
    for ((p = 0; p < pages; p++)); do
      printf 'url = "%s/api/widget/getRecords"\noutput = "/dev/null"\n' "$URL"
      printf 'header = "Content-Type: application/json"\n'
      printf 'data = "{\\"trackerrms\\":{\\"getRecords\\":{\\"credentials\\":{\\"apikey\\":\\"demo-key\\",\\"username\\":\\"demo@example.com\\"},\\"instructions\\":{\\"recordtype\\":\\"R\\",\\"numrecords\\":500,\\"pagenum\\":%d,\\"sortfield\\":\\"lastupdateddatetime\\",\\"sortdir\\":\\"asc\\",\\"updatedafter\\":\\"\\",\\"updatedbefore\\":\\"\\",\\"includecustomfields\\":true}}}}"\n' "$p"
      [ $((rep * pages + p + 1)) -lt $((reps * pages)) ] && echo next
    done
  done > "$cfg"
  l0=$(log_lines)
  local t0 t1
  t0=$EPOCHREALTIME
  local pids=()
  for ((k = 0; k < concurrent; k++)); do curl -sS --fail -K "$cfg" & pids+=($!); done
  wait "${pids[@]}"
  t1=$EPOCHREALTIME
  l1=$(log_lines)
  local served cap notstatic
  served=$((l1 - l0))
  notstatic=$(tail -n +"$((l0 + 1))" "$dir/server.err" | grep -vc '(static)$' || true)
  [ "$served" = $((concurrent * reps * pages)) ] || { echo "capacity: $served answers of $((concurrent * reps * pages))" >&2; exit 1; }
  cap=$(calc 'q / (b - a)' q="$served" a="$t0" b="$t1")
  stop_server

  row "server capacity (static pages of 500, $concurrent clients)" "$(printf '%.0f req/s' "$cap")" \
      ">= 3x client rate" "$(verdict 'c >= 3 * r' c="$cap" r="$req_rate")" \
      "$(printf '%.1fx trk'"'"'s %.0f req/s; %d pages of ~%.0f kB; %s answers made by the model in timed runs' \
         "$(calc 'c / r' c="$cap" r="$req_rate")" "$req_rate" "$served" \
         "$(calc 'b / 1024' b="$(awk '$3 == 200 && $NF == "(static)" { s += $4; n++ } END { print s / n }' "$dir/server.err")")" \
         "$((made + notstatic))")"
  row "stream: trk for r in t:candidates{}" "$(printf '%.0f rec/s' "$trate")" "" "" \
      "$records records, pages of 500, median of $rounds; $trk_requests requests"
  row "  baseline floor: curl CLI + cjson, lua5.4" "$(printf '%.0f rec/s' "$frate")" "" "" "same records, same fields"
  row "  baseline Python: http.client + json" "$(printf '%.0f rec/s' "$prate")" "" "" "same records, same fields"
  row "  trk / floor" "$(printf '%.2fx' "$(calc 'a / b' a="$trate" b="$frate")")" ">= 1.0x" \
      "$(verdict 'a >= b' a="$trate" b="$frate")" ""
  row "  trk / Python" "$(printf '%.2fx' "$(calc 'a / b' a="$trate" b="$prate")")" ">= 2.0x" \
      "$(verdict 'a >= 2 * b' a="$trate" b="$prate")" ""
}

memory() {
  local kib_100000 kib_1000000
  for n in 100000 1000000; do
    start_server --synthetic "$n"
    /usr/bin/time -f '%M' -o "$dir/time" env $(client_env) "$trk" run bench/stream_client.lua \
      --max-memory 1G --max-cpu 0 -- stream 500 0 2> "$dir/mem.err" > /dev/null
    got=$(awk '$2 == "BENCH" && $3 == "end" { print $4 }' "$dir/mem.err")
    [ "$got" = "$n" ] || { echo "memory: streamed '$got' of $n: $(cat "$dir/mem.err")" >&2; exit 1; }
    eval "kib_$n=$(tail -1 "$dir/time")"
  done
  stop_server
  row "memory: peak RSS streaming 100,000" "$(printf '%.1f MiB' "$(calc 'k / 1024' k="$kib_100000")")" "" "" ""
  row "memory: peak RSS streaming 1,000,000" "$(printf '%.1f MiB' "$(calc 'k / 1024' k="$kib_1000000")")" \
      "< 64 MiB" "$(verdict 'k < 65536' k="$kib_1000000")" ""
  row "  1,000,000 / 100,000" "$(printf '%.2fx' "$(calc 'a / b' a="$kib_1000000" b="$kib_100000")")" \
      "<= 1.2x" "$(verdict 'a <= 1.2 * b' a="$kib_1000000" b="$kib_100000")" ""
}

overlap() {
  local records=10000 page=100 latency=100 work=1
  # static, warmed by one untimed run of each client: the timed runs measure the latency and
  # the client, not the model making pages (a page of 100 costs it tens of milliseconds)
  start_server --synthetic "$records" --static --latency "$latency" --verbose
  trk_client sequential "$page" 0 > /dev/null
  trk_client stream "$page" 0 > /dev/null
  # one calibration for both runs: each calibrating its own would differ by the machine's load
  local loops
  loops=$(env $(client_env) "$trk" run bench/stream_client.lua --max-cpu 0 -- calibrate 2>/dev/null |
          awk '$1 == "LOOPS" { print $2 }')
  local l0 l1 seq str reqs warm made
  warm=$(log_lines)
  read -r n1 _ seq < <(trk_client sequential "$page" "$work" "$loops")
  l0=$(log_lines)
  read -r n2 _ str < <(trk_client stream "$page" "$work" "$loops")
  l1=$(log_lines)
  # pages the model made in timed runs; an empty page past the end (a prefetched page, whose
  # request an earlier run dropped) costs it nothing and is not counted
  made=$(tail -n +"$((warm + 1))" "$dir/server.err" | awk '$NF != "(static)" && $4 >= 1000' | wc -l)
  stop_server
  [ "$n1" = "$records" ] && [ "$n2" = "$records" ] || { echo "overlap: $n1 and $n2 records of $records" >&2; exit 1; }
  [ "$made" = 0 ] || { echo "overlap: $made timed answers were made by the model, not kept" >&2; exit 1; }
  reqs=$((l1 - l0))
  local net wrk bound
  net=$(calc 'q * l / 1000' q="$reqs" l="$latency"); wrk=$(calc 'n * w / 1000' n="$records" w="$work")
  bound=$(calc '(a > b) ? a : b' a="$net" b="$wrk")
  row "latency hiding: streamed (100 ms/req, 1 ms/rec)" "$(printf '%.2f s' "$str")" \
      "<= 1.15x larger bound" "$(verdict 's <= 1.15 * b' s="$str" b="$bound")" \
      "$(printf '%.2fx the larger bound (network %.1f s for %d requests, work %.1f s)' \
          "$(calc 's / b' s="$str" b="$bound")" "$net" "$reqs" "$wrk")"
  row "  baseline: fetch, then work (sequential)" "$(printf '%.2f s' "$seq")" "" "" "the same pages with t:request"
  row "  sequential / streamed" "$(printf '%.2fx' "$(calc 'a / b' a="$seq" b="$str")")" ">= 1.7x" \
      "$(verdict 'a >= 1.7 * b' a="$seq" b="$str")" ""
}

for w in $whats; do
  case $w in
    stream) stream ;;
    memory) memory ;;
    overlap) overlap ;;
    *) echo "bench/stream.sh: unknown benchmark '$w' (stream, memory, overlap)" >&2; exit 2 ;;
  esac
done
