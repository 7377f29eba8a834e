#!/bin/sh
# The grpcio (grpc C-core) client against cgrpc's interop_server: every case.
. "$(dirname "$0")/common.sh"
server=$(c_server) || exit $?
require_grpcio
run_matrix "$server" "$(py_client)"
