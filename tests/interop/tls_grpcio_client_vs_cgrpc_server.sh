#!/bin/sh
# TLS: the grpcio (grpc C-core) client (grpc.ssl_channel_credentials) against
# cgrpc's interop_server: every case, then the refusals -- a plaintext
# client, and one trusting another CA, must get UNAVAILABLE, and the server
# must still serve.
. "$(dirname "$0")/common.sh"
server=$(c_server) || exit $?
require_grpcio
require_certs
server="$server$(tls_server_flags)"
run_matrix "$server" "$(py_client)$(tls_client_flags)" || exit 1
tls_start_server "$server"
tls_client_must refused "plaintext client" "$(py_client)"
tls_client_must refused "client trusting other-ca.pem" "$(py_client)$(tls_client_flags '' other-ca.pem)"
tls_client_must pass "then a good client" "$(py_client)$(tls_client_flags)"
tls_stop_server
exit $tls_failed
