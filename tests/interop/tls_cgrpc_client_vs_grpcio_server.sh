#!/bin/sh
# TLS: cgrpc's interop_client against the grpcio (grpc C-core) server
# (grpc.ssl_server_credentials): every case, then the refusals -- a
# plaintext client, and one trusting another CA, must get UNAVAILABLE.
. "$(dirname "$0")/common.sh"
client=$(c_client) || exit $?
require_grpcio
require_certs
server="$(py_server)$(tls_server_flags)"
run_matrix "$server" "$client$(tls_client_flags)" || exit 1
tls_start_server "$server"
tls_client_must refused "plaintext client" "$client"
tls_client_must refused "client trusting other-ca.pem" "$client$(tls_client_flags '' other-ca.pem)"
tls_client_must pass "then a good client" "$client$(tls_client_flags)"
tls_stop_server
exit $tls_failed
