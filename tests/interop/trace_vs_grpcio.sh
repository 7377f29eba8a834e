#!/bin/sh
# W3C trace context across implementations: the grpcio (grpc C-core) client calls Relay on
# cgrpc's faulty_server (tracing on), whose handler calls Try on a grpcio server as a child
# call.  The grpcio server prints the traceparent it got: a valid incoming one's trace with a
# new parent id (the cgrpc client span) and its flags; a new trace for an invalid one (upper
# case) and for none.  So cgrpc reads grpcio's header and sends one grpcio reads.
. "$(dirname "$0")/common.sh"
server=$abs_top_builddir/tests/interop/faulty_server
test -x "$server" || hard_error "$server is not built"
require_grpcio
faulty_pygen "$interop_tmp/faulty-py"
start_listening_server "$PY" "$interop_dir/faulty_grpcio.py" "$interop_tmp/faulty-py" server
py_pid=$server_pid
py_port=$port
# start_listening_server reuses server.out: keep the grpcio server's output where it goes
mv "$interop_tmp/server.out" "$interop_tmp/py-server.out"
start_listening_server $c_wrapper "$server" --relay-to "127.0.0.1:$py_port" --trace 1
status=0
"$PY" "$interop_dir/faulty_grpcio.py" "$interop_tmp/faulty-py" trace --target "127.0.0.1:$port" \
  --server-log "$interop_tmp/py-server.out" || status=1
kill -TERM "$server_pid" "$py_pid"
wait "$server_pid" || { echo "FAIL: faulty_server exited with status $?"; cat "$interop_tmp/server.out"; status=1; }
wait "$py_pid" || true
exit $status
