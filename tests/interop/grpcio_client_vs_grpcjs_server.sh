#!/bin/sh
# The grpcio client against the grpc-js server: the reference peers agree
# with each other (a check of the test programs themselves).
. "$(dirname "$0")/common.sh"
require_grpcio
require_grpcjs
run_matrix "$(js_server)" "$(py_client)"
