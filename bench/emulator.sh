# Sourced by the benchmarks: a scratch directory and one `trk emulator` at a time, over HTTP.
#   start_server ARGS...   (re)starts `$trk emulator --port 0 ARGS...` and sets URL; the
#                          server's stdout and stderr go to $dir/server.out and server.err.
# The caller sets trk (the binary) first; the directory and the server go at exit.
dir=$(mktemp -d /tmp/trk-bench.XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

start_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; fi
  "$trk" emulator --port 0 "$@" > "$dir/server.out" 2> "$dir/server.err" &
  server_pid=$!
  for _ in $(seq 200); do
    URL=$(sed -n 's/^listening on //p' "$dir/server.out")
    [ -n "$URL" ] && return 0
    sleep 0.05
  done
  echo "emulator did not start: $(cat "$dir/server.err")" >&2
  exit 1
}
