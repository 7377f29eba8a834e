#!/bin/sh
# mTLS: the grpcio client, presenting client.pem, against cgrpc's
# interop_server requiring client certificates (--tls_client_ca_file): every
# case, then a client without a certificate must get UNAVAILABLE, and the
# server must still serve.
. "$(dirname "$0")/common.sh"
server=$(c_server) || exit $?
require_grpcio
require_certs
server="$server$(tls_server_flags mtls)"
run_matrix "$server" "$(py_client)$(tls_client_flags mtls)" || exit 1
tls_start_server "$server"
tls_client_must refused "client without a certificate" "$(py_client)$(tls_client_flags)"
tls_client_must pass "then one with" "$(py_client)$(tls_client_flags mtls)"
tls_stop_server
exit $tls_failed
