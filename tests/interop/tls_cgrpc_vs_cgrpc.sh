#!/bin/sh
# TLS and mTLS: cgrpc's interop_client against cgrpc's interop_server: every
# case over TLS, every case over mTLS, then on the mTLS server the refusals
# (no client certificate, a plaintext client, a client trusting another CA).
# Needs Python only for the driver, not grpcio.
. "$(dirname "$0")/common.sh"
server=$(c_server) || exit $?
client=$(c_client) || exit $?
require_python
require_certs
run_matrix "$server$(tls_server_flags)" "$client$(tls_client_flags)" || exit 1
run_matrix "$server$(tls_server_flags mtls)" "$client$(tls_client_flags mtls)" || exit 1
tls_start_server "$server$(tls_server_flags mtls)"
tls_client_must refused "client without a certificate" "$client$(tls_client_flags)"
tls_client_must refused "plaintext client" "$client"
tls_client_must refused "client trusting other-ca.pem" "$client$(tls_client_flags mtls other-ca.pem)"
tls_client_must pass "then a good client" "$client$(tls_client_flags mtls)"
tls_stop_server
exit $tls_failed
