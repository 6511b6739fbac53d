# Sourced by the benchmarks: a scratch directory, one `trk emulator` at a time over HTTP, and
# the helpers every benchmark shares.
#   start_server ARGS...   (re)starts `$trk emulator --port 0 ARGS...` and sets URL; the
#                          server's stdout and stderr go to $dir/server.out and server.err.
#                          The dialect is BENCH_DIALECT, default rich: the shapes the figures
#                          were first measured on and the Python baselines speak
#                          (bench/dialects.sh measures what evidence costs).
#   stop_server            stops it (SIGTERM) and waits, so that its last log line is written.
#   client_env             the TRACKER_* variables for $URL with the public demo credentials.
#   stamped CMD...         runs CMD with its stderr stamped line by line on arrival; prints
#                          "N CHECK SECONDS" from the client's "BENCH start" and
#                          "BENCH end N CHECK" lines (scripts in trk's sandbox have no fine
#                          wall clock, so every client is timed the same way, by the shell).
#   row NAME FIGURE TARGET VERDICT NOTE   one result, as bench/run.sh collects it.
# The caller sets trk (the binary) first; the directory and the server go at exit.
export LC_ALL=C                 # '.' in $EPOCHREALTIME and in printf
dir=$(mktemp -d /tmp/trk-bench.XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

start_server() {
  stop_server
  "$trk" emulator --port 0 --dialect "${BENCH_DIALECT:-rich}" "$@" > "$dir/server.out" 2> "$dir/server.err" &
  server_pid=$!
  for _ in $(seq 1200); do
    URL=$(sed -n 's/^listening on //p' "$dir/server.out")
    [ -n "$URL" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "emulator did not start: $(cat "$dir/server.err")" >&2
  exit 1
}

stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}

client_env() {
  echo TRACKER_WIDGET_URL="$URL" TRACKER_REST_URL="$URL" TRACKER_APIKEY=demo-key \
       TRACKER_USERNAME=demo@example.com TRACKER_API_TOKEN=demo-token TRACKER_RATE_LIMIT=false
}

stamped() {
  "$@" 2>&1 >/dev/null | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done \
    > "$dir/stamped"
  awk '{ for (i = 2; i < NF; i++) if ($i == "BENCH") {
           if ($(i + 1) == "start") t0 = $1
           if ($(i + 1) == "end") { printf "%s %s %.4f\n", $(i + 2), $(i + 3), $1 - t0; found = 1 } } }
       END { exit !found }' "$dir/stamped" ||
    { echo "client failed: $*" >&2; cat "$dir/stamped" >&2; exit 1; }
}

row() { printf 'ROW\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5"; }

# awk arithmetic: calc 'a / b' a=1 b=2 prints 0.5; verdict EXPR var=val... prints PASS or MISS.
calc() { local e=$1 args=(); shift; for a; do args+=(-v "$a"); done; awk "${args[@]}" "BEGIN { print $e }"; }
verdict() { local e=$1 args=(); shift; for a; do args+=(-v "$a"); done
            awk "${args[@]}" "BEGIN { print ($e) ? \"PASS\" : \"MISS\" }"; }

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
