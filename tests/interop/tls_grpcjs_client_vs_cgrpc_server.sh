#!/bin/sh
# TLS and mTLS: the grpc-js (Node) client (grpc.credentials.createSsl)
# against cgrpc's interop_server.  TLS: every case, then the refusals -- a
# plaintext client, and one trusting another CA, must get UNAVAILABLE, and
# the server must still serve.  mTLS (the server requiring client
# certificates from ca.pem, --tls_client_ca_file): every case, with
# client.pem, then a client without a certificate must get UNAVAILABLE.
# Needs Python only for the driver, not grpcio.
. "$(dirname "$0")/common.sh"
server=$(c_server) || exit $?
require_python
require_grpcjs
require_certs
tls_server="$server$(tls_server_flags)"
run_matrix "$tls_server" "$(js_client)$(tls_client_flags)" || exit 1
tls_start_server "$tls_server"
tls_client_must refused "plaintext client" "$(js_client)"
tls_client_must refused "client trusting other-ca.pem" "$(js_client)$(tls_client_flags '' other-ca.pem)"
tls_client_must pass "then a good client" "$(js_client)$(tls_client_flags)"
tls_stop_server
mtls_server="$server$(tls_server_flags mtls)"
run_matrix "$mtls_server" "$(js_client)$(tls_client_flags mtls)" || exit 1
tls_start_server "$mtls_server"
tls_client_must refused "mTLS: client without a certificate" "$(js_client)$(tls_client_flags)"
tls_client_must pass "mTLS: then one with" "$(js_client)$(tls_client_flags mtls)"
tls_stop_server
exit $tls_failed
