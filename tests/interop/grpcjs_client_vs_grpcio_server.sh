#!/bin/sh
# The grpc-js client against the grpcio server: the reference peers agree
# with each other (a check of the test programs themselves).
. "$(dirname "$0")/common.sh"
require_grpcio
require_grpcjs
run_matrix "$(py_server)" "$(js_client)"
