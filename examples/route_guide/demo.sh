#!/bin/sh
# Runs the route_guide demo: a server and a client in separate processes; fails if the
# client finds anything unexpected or the server does not stop cleanly.
# Usage: examples/route_guide/demo.sh [BUILD_DIR]   (default: the source tree)
# CGRPC_TEST_WRAPPER, if set, runs both programs under it (e.g. valgrind).
set -e
build=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
bin="$build/examples/route_guide"
run=${CGRPC_TEST_WRAPPER:-}
out=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT

$run "$bin/route_guide_server" --address 127.0.0.1:0 >"$out" &
pid=$!
for _ in $(seq 200); do
  grep -q LISTENING "$out" && break
  sleep 0.05
done
port=$(awk '/LISTENING/ { print $2 }' "$out")
[ -n "$port" ] || { echo "demo: the server did not start" >&2; exit 1; }
echo "demo: route_guide_server listening on 127.0.0.1:$port (pid $pid)"

$run "$bin/route_guide_client" --target "127.0.0.1:$port"

kill -TERM "$pid"
wait "$pid"
echo "demo: route_guide_server stopped"
