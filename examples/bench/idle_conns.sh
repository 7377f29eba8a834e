#!/bin/bash
# Idle connections: what one idle HTTP/2 connection costs a gRPC server, cgrpc's and grpc
# C++'s side by side.  idle_conns opens N connections (SETTINGS exchanged both ways) to each
# server in turn, started with its defaults, and reads the server's VmRSS (/proc) and heap
# (SIGUSR1 -> "HEAP <bytes>", mallinfo2) before and after; then it makes calls on a random
# sample, and (unless IDLE_CALL_ALL=0) one call on every connection, and measures again.
# The client side is a baseline: a raw nghttp2 client (one epoll thread, a socket and a
# session per connection), not cgrpc channels.  Builds nothing: run `make` first.
#
#   idle_conns.sh [--quick] [BUILDDIR]
#
# --quick: the `make check` smoke test (200 connections; numbers mean little at that size).
# Exits non-zero when a server fails to start, a connection or a call fails, or a server
# does not exit cleanly.
#
# Environment (defaults in brackets):
#   IDLE_CONNS [10000]        connections per server (needs ulimit -n above that)
#   IDLE_SAMPLE [10]          calls on random connections at the end
#   IDLE_CALL_ALL [1]         then one call on every connection, and measure again
#   IDLE_INFLIGHT [128]       handshakes in progress at once
#   IDLE_SERVERS ["cgrpc grpc++"]  which servers
#   IDLE_KEEP [0]             1 keeps the work directory (server output)

set -u -o pipefail

QUICK=0
BUILDDIR=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "idle_conns.sh: unknown option $1" >&2; exit 2 ;;
    *) BUILDDIR=$1 ;;
  esac
  shift
done

N=${IDLE_CONNS:-10000}
SAMPLE=${IDLE_SAMPLE:-10}
CALL_ALL=${IDLE_CALL_ALL:-1}
INFLIGHT=${IDLE_INFLIGHT:-128}
SERVERS=${IDLE_SERVERS:-cgrpc grpc++}
SETTLE_MS=300
if [ "$QUICK" = 1 ]; then
  N=200
  SETTLE_MS=100
fi

script_dir=$(cd "$(dirname "$0")" && pwd)
if [ -z "$BUILDDIR" ]; then
  if [ -x examples/bench/idle_conns ]; then BUILDDIR=.; else BUILDDIR=$script_dir/../..; fi
fi
BIN=$(cd "$BUILDDIR" 2>/dev/null && pwd)/examples/bench
CLIENT=$BIN/idle_conns
if [ ! -x "$CLIENT" ] || [ ! -x "$BIN/bench_server" ]; then
  echo "idle_conns.sh: no idle_conns or bench_server in $BIN (run make first)" >&2
  [ "$QUICK" = 1 ] && exit 77 # automake: SKIP
  exit 1
fi

# Every connection is an fd in the server and one in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((N + 200)) ]; then
  echo "idle_conns.sh: $N connections need ulimit -n above $((N + 200)); it is $(ulimit -n)" >&2
  exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cgrpc-idle.XXXXXX") || exit 1
SRV_PID=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [ -n "$SRV_PID" ]; then
    kill -KILL "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
  fi
  if [ "${IDLE_KEEP:-0}" = 1 ]; then echo "idle_conns.sh: work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILS=0
fail() {
  echo "FAIL: $*"
  FAILS=$((FAILS + 1))
}

# Starts a server (its stdout to $WORK/NAME.out); sets SRV_PID and SRV_PORT.
start_server() {
  local name=$1
  shift
  : >"$WORK/$name.out"
  "$@" --port 0 >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SRV_PID=$!
  SRV_PORT=""
  for _ in $(seq 1 200); do
    SRV_PORT=$(sed -n 's/^LISTENING \([0-9]*\)$/\1/p' "$WORK/$name.out")
    [ -n "$SRV_PORT" ] && return 0
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  fail "$name server did not start: $(cat "$WORK/$name.err")"
  kill -KILL "$SRV_PID" 2>/dev/null
  wait "$SRV_PID" 2>/dev/null
  SRV_PID=""
  return 1
}

stop_server() {
  local name=$1 status
  kill -TERM "$SRV_PID"
  for _ in $(seq 1 200); do
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$SRV_PID" 2>/dev/null; then
    fail "$name server did not exit within 10 s of SIGTERM"
    kill -KILL "$SRV_PID"
  fi
  wait "$SRV_PID"
  status=$?
  SRV_PID=""
  [ "$status" = 0 ] || fail "$name server exited with status $status: $(tail -3 "$WORK/$name.err")"
}

# field KEY < RESULT line
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
kib() { awk -v b="$1" 'BEGIN { if (b == "" || b < 0) print "-"; else printf "%.1f", b / 1024 }'; }

T0=$(date +%s.%N)
declare -A RESULT
for s in $SERVERS; do
  case $s in
    cgrpc) cmd=("$BIN/bench_server") ;;
    grpc++) cmd=("$BIN/grpcxx_server") ;;
    *) fail "unknown server $s"; continue ;;
  esac
  if [ ! -x "${cmd[0]}" ]; then
    echo "note: ${cmd[0]} not built; skipping $s"
    continue
  fi
  start_server "$s" "${cmd[@]}" || continue
  line=$("$CLIENT" --port "$SRV_PORT" --conns "$N" --sample "$SAMPLE" --call_all "$CALL_ALL" \
    --inflight "$INFLIGHT" --settle_ms "$SETTLE_MS" --server_pid "$SRV_PID" \
    --server_out "$WORK/$s.out" --label "$s" 2>"$WORK/$s.client.err")
  rc=$?
  [ "$rc" = 0 ] || fail "$s: idle_conns exited $rc: $(cat "$WORK/$s.client.err")"
  RESULT[$s]=$(printf '%s\n' "$line" | grep '^RESULT ' || true)
  stop_server "$s"
done
T1=$(date +%s.%N)

echo
echo "Idle HTTP/2 connections: $N per server (SETTINGS exchanged both ways), $INFLIGHT handshakes"
echo "at a time, servers with their defaults.  Bytes per connection = (after - before) / $N;"
echo "RSS from /proc/PID/status VmRSS, heap = malloc's bytes in use (mallinfo2)."
echo
printf '%-8s %8s %10s %10s   %-12s %12s %12s   %s\n' server "setup s" "RSS/conn" "heap/conn" \
  "after 1 call" "RSS/conn" "heap/conn" "calls OK"
for s in $SERVERS; do
  r=${RESULT[$s]:-}
  [ -n "$r" ] || continue
  used_ok=$(field used_ok <<<"$r")
  printf '%-8s %8s %8s K %8s K   %-12s %10s K %10s K   sample %s%s\n' "$s" \
    "$(field setup_s <<<"$r")" \
    "$(kib "$(field server_rss_per_conn <<<"$r")")" "$(kib "$(field server_heap_per_conn <<<"$r")")" \
    "" "$(kib "$(field used_server_rss_per_conn <<<"$r")")" \
    "$(kib "$(field used_server_heap_per_conn <<<"$r")")" \
    "$(field sample_ok <<<"$r")" "${used_ok:+, all $used_ok}"
done
if [ -n "${RESULT[cgrpc]:-}" ] && [ -n "${RESULT[grpc++]:-}" ]; then
  ratio() {
    awk -v a="$(field "$1" <<<"${RESULT[cgrpc]}")" -v b="$(field "$1" <<<"${RESULT[grpc++]}")" \
      'BEGIN { if (a == "" || b == "" || b <= 0) print "-"; else printf "%.2f", a / b }'
  }
  echo "ratio cgrpc / grpc++ (idle): RSS $(ratio server_rss_per_conn), heap $(ratio server_heap_per_conn);" \
    "after a call: RSS $(ratio used_server_rss_per_conn), heap $(ratio used_server_heap_per_conn)"
fi
for s in $SERVERS; do
  r=${RESULT[$s]:-}
  [ -n "$r" ] || continue
  echo "client side, against $s -- a BASELINE (raw nghttp2 session + socket per connection," \
    "one epoll thread; not a cgrpc channel): RSS $(kib "$(field client_rss_per_conn <<<"$r")") K," \
    "heap $(kib "$(field client_heap_per_conn <<<"$r")") K (nghttp2 session" \
    "$(kib "$(field client_nghttp2_per_conn <<<"$r")") K) per connection;" \
    "kernel slab, both ends, system-wide: ~$(kib "$(field kernel_slab_per_conn_both_ends <<<"$r")") K"
done
awk -v a="$T0" -v b="$T1" 'BEGIN { printf "run time %.1f s\n", b - a }'
if [ "$FAILS" -gt 0 ]; then
  echo "$FAILS failure(s)"
  exit 1
fi
exit 0
