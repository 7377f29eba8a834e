#!/bin/sh
# The grpcio client against the grpcio server: a check of the test programs
# themselves, and of our expectations against grpc C-core alone.
. "$(dirname "$0")/common.sh"
require_grpcio
run_matrix "$(py_server)" "$(py_client)"
