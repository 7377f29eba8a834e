#!/bin/sh
# The grpc-js client against the grpc-js server: a check of the test programs
# themselves, and of our expectations against grpc-js alone.
# Needs Python only for the driver, not grpcio.
. "$(dirname "$0")/common.sh"
require_python
require_grpcjs
run_matrix "$(js_server)" "$(js_client)"
