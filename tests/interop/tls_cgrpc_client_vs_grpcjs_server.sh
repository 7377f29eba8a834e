#!/bin/sh
# TLS and mTLS: cgrpc's interop_client against the grpc-js (Node) server
# (grpc.ServerCredentials.createSsl).  TLS: every case, then the refusals --
# a plaintext client, and one trusting another CA, must get UNAVAILABLE.
# mTLS (the server requiring client certificates from ca.pem): every case,
# with client.pem, then a client without a certificate must get UNAVAILABLE.
# Needs Python only for the driver, not grpcio.
. "$(dirname "$0")/common.sh"
client=$(c_client) || exit $?
require_python
require_grpcjs
require_certs
server="$(js_server)$(tls_server_flags)"
run_matrix "$server" "$client$(tls_client_flags)" || exit 1
tls_start_server "$server"
tls_client_must refused "plaintext client" "$client"
tls_client_must refused "client trusting other-ca.pem" "$client$(tls_client_flags '' other-ca.pem)"
tls_client_must pass "then a good client" "$client$(tls_client_flags)"
tls_stop_server
server="$(js_server)$(tls_server_flags mtls)"
run_matrix "$server" "$client$(tls_client_flags mtls)" || exit 1
tls_start_server "$server"
tls_client_must refused "mTLS: client without a certificate" "$client$(tls_client_flags)"
tls_client_must pass "mTLS: then one with" "$client$(tls_client_flags mtls)"
tls_stop_server
exit $tls_failed
