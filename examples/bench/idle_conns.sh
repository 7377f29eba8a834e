#!/bin/bash
# Idle connections: what one idle HTTP/2 connection costs a gRPC server, cgrpc's and grpc
# C++'s side by side, and what it costs a cgrpc client.  idle_conns opens N connections
# (SETTINGS exchanged both ways) to each server in turn, started with its defaults, and
# reads the server's VmRSS (/proc) and heap (SIGUSR1 -> "HEAP <bytes>", mallinfo2), and its
# own, before and after; then it makes calls, and (unless IDLE_CALL_ALL=0) one call on
# every connection, and measures again.  Two clients: "raw", a baseline (one epoll thread,
# a socket and an nghttp2 session per connection), against both servers; and "cgrpc", one
# cgrpc channel with a connection pool of N (cgrpc_channel_options_set_pool(N, N)),
# against the cgrpc server.  Builds nothing: run `make` first.
#
#   idle_conns.sh [--quick] [BUILDDIR]
#
# --quick: the `make check` smoke test (200 connections; numbers mean little at that size).
# Exits non-zero when a server fails to start, a connection or a call fails, or a server
# does not exit cleanly.
#
# Environment (defaults in brackets):
#   IDLE_CONNS [10000]        connections per server (needs ulimit -n above that)
#   IDLE_SAMPLE [10]          raw client: calls on random connections at the end
#   IDLE_CALL_ALL [1]         then one call on every connection (cgrpc client: N calls
#                             at once), and measure again
#   IDLE_INFLIGHT [128]       raw client: handshakes in progress at once
#   IDLE_SEQ_CALLS [200]      cgrpc client: calls in a row, through the pool of N and
#                             through a channel of one connection (the cost of the pick)
#   IDLE_RUNS ["cgrpc/raw cgrpc/cgrpc grpc++/raw"]  server/client pairs, in order
#   IDLE_SERVERS ["cgrpc grpc++"]  only the runs against these servers
#   IDLE_KEEP [0]             1 keeps the work directory (server and client output)

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
SEQ_CALLS=${IDLE_SEQ_CALLS:-200}
RUNS=${IDLE_RUNS:-cgrpc/raw cgrpc/cgrpc grpc++/raw}
SERVERS=${IDLE_SERVERS:-cgrpc grpc++}
SETTLE_MS=300
if [ "$QUICK" = 1 ]; then
  N=200
  SETTLE_MS=100
  SEQ_CALLS=50
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
# The same with " K", or "-".
kk() { awk -v b="$1" 'BEGIN { if (b == "" || b < 0) print "-"; else printf "%.1f K", b / 1024 }'; }

T0=$(date +%s.%N)
declare -A RESULT
DONE_RUNS=()
for run in $RUNS; do
  s=${run%/*}
  c=${run#*/}
  case " $SERVERS " in *" $s "*) ;; *) continue ;; esac
  case $s in
    cgrpc) cmd=("$BIN/bench_server") ;;
    grpc++) cmd=("$BIN/grpcxx_server") ;;
    *) fail "unknown server $s"; continue ;;
  esac
  case $c in
    raw) copts=(--sample "$SAMPLE" --inflight "$INFLIGHT") ;;
    cgrpc) copts=(--seq_calls "$SEQ_CALLS") ;;
    *) fail "unknown client $c"; continue ;;
  esac
  if [ ! -x "${cmd[0]}" ]; then
    echo "note: ${cmd[0]} not built; skipping $run"
    continue
  fi
  name="$s-$c"
  start_server "$name" "${cmd[@]}" || continue
  line=$("$CLIENT" --client "$c" --port "$SRV_PORT" --conns "$N" "${copts[@]}" \
    --call_all "$CALL_ALL" --settle_ms "$SETTLE_MS" --server_pid "$SRV_PID" \
    --server_out "$WORK/$name.out" --label "$s" 2>"$WORK/$name.client.err")
  rc=$?
  [ "$rc" = 0 ] || fail "$run: idle_conns exited $rc: $(cat "$WORK/$name.client.err")"
  RESULT[$run]=$(printf '%s\n' "$line" | grep '^RESULT ' || true)
  [ -n "${RESULT[$run]}" ] && DONE_RUNS+=("$run")
  stop_server "$name"
done
T1=$(date +%s.%N)

num() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "" || v < 0) print "-"; else printf f, v }'; }
get() { field "$2" <<<"${RESULT[$1]}"; }

echo
echo "Idle HTTP/2 connections: $N per run (SETTINGS exchanged both ways), each server with its"
echo "defaults.  Bytes per connection = (after - before) / $N; RSS from /proc/PID/status VmRSS,"
echo "heap = malloc's bytes in use (mallinfo2).  Clients: raw = a baseline, one nghttp2 session"
echo "and socket per connection on one epoll thread ($INFLIGHT handshakes at a time); cgrpc = one"
echo "cgrpc channel with pool($N, $N), which opens its connections one at a time."
echo
echo "Server side, per connection:"
printf '%-7s %-6s %8s %10s %10s   %-12s %10s %10s   %s\n' server client "setup s" "RSS/conn" \
  "heap/conn" "after 1 call" "RSS/conn" "heap/conn" "calls OK"
for run in "${DONE_RUNS[@]}"; do
  if [ "${run#*/}" = raw ]; then
    ok="sample $(get "$run" sample_ok)"
  else
    ok="in a row $(get "$run" seq_ok)"
  fi
  used_ok=$(get "$run" used_ok)
  printf '%-7s %-6s %8s %10s %10s   %-12s %10s %10s   %s%s\n' "${run%/*}" "${run#*/}" \
    "$(get "$run" setup_s)" "$(kk "$(get "$run" server_rss_per_conn)")" \
    "$(kk "$(get "$run" server_heap_per_conn)")" "" \
    "$(kk "$(get "$run" used_server_rss_per_conn)")" \
    "$(kk "$(get "$run" used_server_heap_per_conn)")" "$ok" "${used_ok:+, all $used_ok}"
done
if [ -n "${RESULT[cgrpc/raw]:-}" ] && [ -n "${RESULT[grpc++/raw]:-}" ]; then
  ratio() {
    awk -v a="$(get cgrpc/raw "$1")" -v b="$(get grpc++/raw "$1")" \
      'BEGIN { if (a == "" || b == "" || b <= 0) print "-"; else printf "%.2f", a / b }'
  }
  echo "ratio cgrpc / grpc++ server (raw client; idle): RSS $(ratio server_rss_per_conn)," \
    "heap $(ratio server_heap_per_conn); after a call: RSS $(ratio used_server_rss_per_conn)," \
    "heap $(ratio used_server_heap_per_conn)"
fi
echo
echo "Client side, per connection (the client process; nghttp2 / cgrpc: bytes the channel's"
echo "allocator holds, by caller -- the raw client counts its nghttp2 sessions the same way):"
printf '%-6s %-7s %10s %10s %10s %10s   %-12s %10s %10s   %s\n' client server "RSS/conn" \
  "heap/conn" "nghttp2" "cgrpc" "after 1 call" "RSS/conn" "heap/conn" "kernel slab (both ends)"
for run in "${DONE_RUNS[@]}"; do
  printf '%-6s %-7s %10s %10s %10s %10s   %-12s %10s %10s   ~%s\n' "${run#*/}" \
    "${run%/*}" "$(kk "$(get "$run" client_rss_per_conn)")" \
    "$(kk "$(get "$run" client_heap_per_conn)")" "$(kk "$(get "$run" client_nghttp2_per_conn)")" \
    "$(kk "$(get "$run" client_cgrpc_per_conn)")" "" \
    "$(kk "$(get "$run" used_client_rss_per_conn)")" \
    "$(kk "$(get "$run" used_client_heap_per_conn)")" \
    "$(kk "$(get "$run" kernel_slab_per_conn_both_ends)")"
done
for run in "${DONE_RUNS[@]}"; do
  [ "${run#*/}" = cgrpc ] || continue
  burst=""
  [ -n "$(get "$run" burst_s)" ] &&
    burst="$N calls at once: $(get "$run" burst_s) s, on $(get "$run" used_conns) connections; "
  echo "cgrpc channel, pool($N, $N), against ${run%/*}: $N connections READY in" \
    "$(get "$run" setup_s) s ($(get "$run" conn_per_s)/s, one at a time);" \
    "${burst}calls in a row: p50 $(num "$(get "$run" pool_call_p50_us)" %.0f) us" \
    "(through a 1-connection channel: $(num "$(get "$run" one_call_p50_us)" %.0f) us);" \
    "cgrpc_channel_free: $(get "$run" close_s) s; the channel itself (IDLE):" \
    "$(kib "$(get "$run" channel_heap)") K heap, $(get "$run" channel_rss_kib) K RSS"
done
awk -v a="$T0" -v b="$T1" 'BEGIN { printf "run time %.1f s\n", b - a }'
if [ "$FAILS" -gt 0 ]; then
  echo "$FAILS failure(s)"
  exit 1
fi
exit 0
