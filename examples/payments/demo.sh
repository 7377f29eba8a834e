#!/bin/sh
# Runs the payments demo: a server that fails attempts of Charge on purpose, and a client
# that still completes every charge exactly once.  Fails if the client does (a charge
# failed, or ran other than once) or the server does not stop cleanly.
# Usage: examples/payments/demo.sh [BUILD_DIR]   (default: the source tree)
# PAYMENTS_SEED=N replays the failures of an earlier run (the server prints its seed).
# CGRPC_TEST_WRAPPER, if set, runs both programs under it (e.g. valgrind).
set -e
build=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
bin="$build/examples/payments"
run=${CGRPC_TEST_WRAPPER:-}
out=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT

$run "$bin/payments_server" --address 127.0.0.1:0 ${PAYMENTS_SEED:+--seed "$PAYMENTS_SEED"} >"$out" &
pid=$!
for _ in $(seq 200); do
  grep -q LISTENING "$out" && break
  sleep 0.05
done
port=$(awk '/^LISTENING/ { print $2 }' "$out")
seed=$(awk '/^SEED/ { print $2 }' "$out")
[ -n "$port" ] || { echo "demo: the server did not start" >&2; exit 1; }
echo "demo: payments_server listening on 127.0.0.1:$port (pid $pid), failing attempts at random (seed $seed)"

$run "$bin/payments_client" --target "127.0.0.1:$port"

kill -TERM "$pid"
wait "$pid"
echo "demo: payments_server stopped; $(awk '/^dedup:/' "$out")"
