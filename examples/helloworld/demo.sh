#!/bin/sh
# Runs the helloworld demo: a server and a client in separate processes.
# Usage: examples/helloworld/demo.sh [BUILD_DIR]   (default: the source tree)
set -e
build=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
bin="$build/examples/helloworld"
out=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT

"$bin/greeter_server" --address 127.0.0.1:0 >"$out" &
pid=$!
for _ in $(seq 100); do
  grep -q LISTENING "$out" && break
  sleep 0.05
done
port=$(awk '/LISTENING/ { print $2 }' "$out")
[ -n "$port" ] || { echo "demo: the server did not start" >&2; exit 1; }
echo "demo: greeter_server listening on 127.0.0.1:$port (pid $pid)"

"$bin/greeter_client" --target "127.0.0.1:$port" --name "cgrpc"

kill -TERM "$pid"
wait "$pid"
echo "demo: greeter_server stopped"
