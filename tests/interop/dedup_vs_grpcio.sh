#!/bin/sh
# De-duplication against the grpcio (grpc C-core) client: faulty_grpcio.py sends one
# idempotency key twice (and another once) to cgrpc's faulty_server, which has the dedup
# helper on: the handler must run once for the repeated key and both calls get its answer.
. "$(dirname "$0")/common.sh"
server=$abs_top_builddir/tests/interop/faulty_server
test -x "$server" || hard_error "$server is not built"
require_grpcio
faulty_pygen "$interop_tmp/faulty-py"
start_listening_server $c_wrapper "$server"
status=0
"$PY" "$interop_dir/faulty_grpcio.py" "$interop_tmp/faulty-py" dedup --target "127.0.0.1:$port" || status=1
kill -TERM "$server_pid"
wait "$server_pid" || { echo "FAIL: faulty_server exited with status $?"; cat "$interop_tmp/server.out"; status=1; }
exit $status
