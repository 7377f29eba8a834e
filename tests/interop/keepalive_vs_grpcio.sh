#!/bin/sh
# Keepalive (gRFC A8) against grpcio (grpc C-core), both ways, at default settings but a
# client keepalive_time of 1 s: no GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
#
# A grpc-core server counts a ping that comes less than 5 minutes after the previous one
# (2 hours without calls, unless permitted) as a strike, forgets them when it sends
# headers or data, and answers the third strike with GOAWAY too_many_pings; a grpc-core
# client therefore sends at most 2 pings until it sends headers or data again
# (GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA).  Each flow below runs through a proxy
# (keepalive_grpcio.py proxy) that logs the PING and GOAWAY frames both ways:
#   a0  grpcio client -> cgrpc faulty_server: 2 calls in a row the server keeps quiet
#       for 4.5 s (the answer to the first clears the strikes of its pings)
#   a1  grpcio client, permit_without_calls -> cgrpc: a quick call, then 3.5 s idle
#   b0  cgrpc faulty_client -> grpcio server: 2 calls quiet for 4.5 s (the second call's
#       headers let the client ping again)
#   b1  cgrpc faulty_client, permit_without_calls -> grpcio: a quick call, then 3.5 s idle
# Each must end OK on one connection with no too_many_pings, and the client must have
# sent at least 2 pings each quiet time (grpcio's BDP pings count too); cgrpc's client
# exactly 2, its limit.  Two controls show that the check can fail: with no limit on pings without data (grpc.http2.max_pings_without_data 0,
# cgrpc_channel_options_set_max_pings_without_data 0) the fourth ping of a quiet call
# gets GOAWAY too_many_pings --
#   ac  grpcio client without the limit -> cgrpc: cgrpc's server polices like grpc-core
#   bc  cgrpc client without the limit -> grpcio: what the limit saves cgrpc's client from
. "$(dirname "$0")/common.sh"
server=$abs_top_builddir/tests/interop/faulty_server
client=$abs_top_builddir/tests/interop/faulty_client
test -x "$server" || hard_error "$server is not built"
test -x "$client" || hard_error "$client is not built"
require_grpcio
gen=$interop_tmp/faulty-py
faulty_pygen "$gen"
helper=$interop_dir/keepalive_grpcio.py

pids=
# start_listening NAME COMMAND...: runs COMMAND in the background (output in
# $interop_tmp/NAME.out) and waits for its "LISTENING <port>" line; sets $listen_port.
start_listening() {
  name=$1
  shift
  "$@" >"$interop_tmp/$name.out" 2>&1 &
  pid=$!
  pids="$pids $pid"
  listen_port=
  for _ in $(seq $((ready_timeout * 10))); do
    listen_port=$(sed -n 's/^LISTENING //p' "$interop_tmp/$name.out")
    test -n "$listen_port" && return 0
    sleep 0.1
  done
  cat "$interop_tmp/$name.out" >&2
  hard_error "$name ($1) did not start"
}
stop_all() {
  for p in $pids; do kill -TERM "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  pids=
}
trap 'stop_all; interop_cleanup' EXIT

# shellcheck disable=SC2086 # $c_wrapper is a command line
start_listening cgrpc_server $c_wrapper "$server"
cgrpc_port=$listen_port
cgrpc_server_pid=$pid
start_listening grpcio_server "$PY" "$helper" "$gen" server
grpcio_port=$listen_port

# run FLOW UPSTREAM_PORT COMMAND...: the client command in the background, through a
# proxy of its own to UPSTREAM_PORT ("{port}" in its words: the proxy's port).
clients=
run() {
  flow=$1
  upstream=$2
  shift 2
  start_listening "$flow-proxy" "$PY" "$helper" - proxy --upstream "$upstream" \
    --log "$interop_tmp/$flow.frames"
  for w in "$@"; do
    shift
    set -- "$@" "$(printf '%s' "$w" | sed "s/{port}/$listen_port/g")"
  done
  ("$@" >"$interop_tmp/$flow.out" 2>&1; echo $? >"$interop_tmp/$flow.rc") &
  clients="$clients $!"
}

t=$((30 * slowdown))
py_client="$PY $helper $gen client --target 127.0.0.1:{port} --timeout $t"
c_client="$c_wrapper $client --port {port} --keepalive-ms 1000"
# Word splitting wanted: the commands are lines of blank-free words.
# shellcheck disable=SC2086
{
  run a0 "$cgrpc_port" $py_client --permit 0 --sleep-ms 4500 --calls 2
  run a1 "$cgrpc_port" $py_client --permit 1 --idle-ms 3500
  run ac "$cgrpc_port" $py_client --permit 0 --max-pings 0 --sleep-ms 6000
  run b0 "$grpcio_port" $c_client --permit 0 --sleep-ms 4500 --calls 2
  run b1 "$grpcio_port" $c_client --permit 1 --idle-ms 3500
  run bc "$grpcio_port" $c_client --permit 0 --max-pings 0 --sleep-ms 6000
}
for c in $clients; do wait "$c"; done

status=0
fail() {
  echo "FAIL $flow: $*"
  sed 's/^/  | /' "$interop_tmp/$flow.out" "$interop_tmp/$flow.frames"
  status=1
}
for flow in a0 a1 ac b0 b1 bc; do
  frames=$interop_tmp/$flow.frames
  rc=$(cat "$interop_tmp/$flow.rc")
  pings=$(grep -c ' c2s PING$' "$frames")
  acks=$(grep -c ' s2c PING-ACK$' "$frames")
  calm=$(grep -c ' s2c GOAWAY 11 ' "$frames")
  conns=$(grep -c ' ACCEPT$' "$frames")
  echo "$flow: client exit $rc, $conns connection(s), $pings ping(s), $acks ack(s), $calm GOAWAY ENHANCE_YOUR_CALM"
  case $flow in
    ?c)
      # The controls: without the limit, the fourth ping since the server last sent
      # headers, data or a connection WINDOW_UPDATE (the first ping is free, the next
      # three strikes) gets GOAWAY too_many_pings, from grpc-core and cgrpc alike.
      before=$(awk '/ s2c (HEADERS|DATA|WINDOW_UPDATE-0)$/ { n = 0 }
                    / c2s PING$/ { n++ }
                    / s2c GOAWAY 11 / { print n; exit }' "$frames")
      grep -q ' s2c GOAWAY 11 too_many_pings$' "$frames" ||
        fail "no GOAWAY too_many_pings although the client pinged without limit"
      test "$before" = 4 ||
        fail "GOAWAY too_many_pings after $before pings since the server last sent, not 4"
      case $rc in
        0 | 1) ;; # the call may fail (grpc-core closes the connection at once)
        *) fail "the client exited $rc" ;;
      esac
      continue ;;
  esac
  test "$rc" = 0 || fail "the client failed (exit $rc)"
  test "$calm" = 0 || fail "the server sent GOAWAY ENHANCE_YOUR_CALM (too_many_pings)"
  grep -q 'too_many_pings' "$interop_tmp/$flow.out" && fail "the client logged too_many_pings"
  test "$conns" = 1 || fail "$conns connections, not 1"
  case $flow in
    ?0) want=4 ;; # 2 quiet calls
    *) want=2 ;;
  esac
  case $flow in
    a?) test "$pings" -ge $want || fail "the client sent $pings pings, not at least $want" ;;
    b?) test "$pings" = $want || fail "cgrpc's client sent $pings pings, not $want (2 each quiet time)" ;;
  esac
done
# faulty_server exits 0 on SIGTERM (under valgrind: also without errors or leaks).
kill -TERM "$cgrpc_server_pid"
wait "$cgrpc_server_pid" || {
  echo "FAIL: faulty_server exited with status $?"
  cat "$interop_tmp/cgrpc_server.out"
  status=1
}
stop_all
exit $status
