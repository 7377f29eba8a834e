#!/bin/sh
# The grpc-js (Node) client against cgrpc's interop_server: every case.
# Needs Python only for the driver, not grpcio.
. "$(dirname "$0")/common.sh"
server=$(c_server) || exit $?
require_python
require_grpcjs
run_matrix "$server" "$(js_client)"
