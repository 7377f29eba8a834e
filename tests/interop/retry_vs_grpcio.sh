#!/bin/sh
# Retries against the grpcio (grpc C-core) server: cgrpc's faulty_client, whose generated
# Baked stub carries the retry policy from tests/e2e/faulty.proto, against
# faulty_grpcio.py, which fails the first attempts and checks every attempt keeps the
# call's idempotency-key.
. "$(dirname "$0")/common.sh"
client=$abs_top_builddir/tests/interop/faulty_client
test -x "$client" || hard_error "$client is not built"
require_grpcio
faulty_pygen "$interop_tmp/faulty-py"
start_listening_server "$PY" "$interop_dir/faulty_grpcio.py" "$interop_tmp/faulty-py" server
status=0
$c_wrapper "$client" --port "$port" || status=1
kill -TERM "$server_pid"
wait "$server_pid" || true
exit $status
