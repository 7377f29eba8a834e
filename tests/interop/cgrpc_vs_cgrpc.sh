#!/bin/sh
# cgrpc's interop_client against cgrpc's interop_server: the unary cases.
# Needs Python only for the driver, not grpcio.
. "$(dirname "$0")/common.sh"
server=$(c_server) || exit $?
client=$(c_client) || exit $?
require_python
run_matrix "$server" "$client" all
