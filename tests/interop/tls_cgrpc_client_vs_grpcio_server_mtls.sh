#!/bin/sh
# mTLS: cgrpc's interop_client, presenting client.pem, against the grpcio
# server requiring client certificates (require_client_auth): every case,
# then a client without a certificate must get UNAVAILABLE.
. "$(dirname "$0")/common.sh"
client=$(c_client) || exit $?
require_grpcio
require_certs
server="$(py_server)$(tls_server_flags mtls)"
run_matrix "$server" "$client$(tls_client_flags mtls)" || exit 1
tls_start_server "$server"
tls_client_must refused "client without a certificate" "$client$(tls_client_flags)"
tls_client_must pass "then one with" "$client$(tls_client_flags mtls)"
tls_stop_server
exit $tls_failed
