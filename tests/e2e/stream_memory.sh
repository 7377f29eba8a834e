#!/bin/sh
# Streams MIB MiB (default 1024) to a slow reader each way and prints the
# sender's peak RSS growth.  After `make check` (which builds the programs):
#   tests/e2e/stream_memory.sh BUILD_DIR [MIB]
set -e
bin=${1:?usage: stream_memory.sh BUILD_DIR [MIB]}/tests/e2e
out=$(mktemp)
"$bin/e2e_server" >"$out" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q LISTENING "$out" && break; sleep 0.05; done
port=$(awk '/LISTENING/ { print $2 }' "$out")
"$bin/stream_memory" "$port" "$pid" "${2:-1024}"
