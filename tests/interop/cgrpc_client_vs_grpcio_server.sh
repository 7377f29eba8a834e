#!/bin/sh
# cgrpc's interop_client against the grpcio (grpc C-core) server: every case.
. "$(dirname "$0")/common.sh"
client=$(c_client) || exit $?
require_grpcio
run_matrix "$(py_server)" "$client"
