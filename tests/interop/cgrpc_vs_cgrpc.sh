#!/bin/sh
# cgrpc's interop_client against cgrpc's interop_server: every case.
# Needs Python only for the driver, not grpcio.
. "$(dirname "$0")/common.sh"
server=$(c_server) || exit $?
client=$(c_client) || exit $?
require_python
run_matrix "$server" "$client"
