#!/bin/sh
# Sanity check of our reference peers: grpcio_client.py against grpcio_server.py,
# unary and streaming cases.  If this fails, the other interop results mean nothing.
. "$(dirname "$0")/common.sh"
require_grpcio
run_matrix "$(py_server)" "$(py_client)" everything
