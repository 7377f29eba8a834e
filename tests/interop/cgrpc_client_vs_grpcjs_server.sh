#!/bin/sh
# cgrpc's interop_client against the grpc-js (Node) server: every case.
# Needs Python only for the driver, not grpcio.
. "$(dirname "$0")/common.sh"
client=$(c_client) || exit $?
require_python
require_grpcjs
run_matrix "$(js_server)" "$client"
