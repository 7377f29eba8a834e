/* cgrpc — TLS credentials (mbedTLS) for channels and server listeners. */
#ifndef CGRPC_TLS_H
#define CGRPC_TLS_H

#include <cgrpc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What a TLS endpoint trusts and presents.  Safe by default: TLS 1.2 or
 * newer, AEAD cipher suites only (AES-GCM, ChaCha20-Poly1305, with ECDHE),
 * ALPN "h2" required on both sides, and a client verifies the server's
 * certificate chain and its name (the target's host, or the override).
 * The options are read (files too) when a channel or listener is made with
 * them; the object may be freed at once after.
 */
typedef struct cgrpc_tls_options cgrpc_tls_options;

/* Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_tls_options_new(cgrpc_tls_options **out);
/* NULL-safe. */
CGRPC_EXTERN void cgrpc_tls_options_free(cgrpc_tls_options *opts);

/* Trusted root certificates (PEM): a client checks the server's chain
 * against them (default: the system bundle,
 * /etc/ssl/certs/ca-certificates.crt); a server that requires client
 * certificates checks those.  The last one set wins.  Copied.  Returns 0,
 * CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_tls_options_set_ca_file(cgrpc_tls_options *opts, const char *path);
CGRPC_EXTERN int cgrpc_tls_options_set_ca_pem(cgrpc_tls_options *opts, const char *pem);

/* The certificate chain (leaf first) and its private key, in PEM: a server
 * needs them; a client presents them for mTLS.  Files are read again by
 * cgrpc_server_reload_tls.  Copied.  Returns 0, CGRPC_ERR_INVALID_ARGUMENT
 * or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_tls_options_set_cert_key_files(cgrpc_tls_options *opts,
                                                      const char *cert_path,
                                                      const char *key_path);
CGRPC_EXTERN int cgrpc_tls_options_set_cert_key_pem(cgrpc_tls_options *opts, const char *cert_pem,
                                                    const char *key_pem);

/* Client: the name the server's certificate must carry, and the SNI sent,
 * instead of the target's host -- for tests and for servers reached by IP
 * address (gRPC's ssl_target_name_override).  The :authority stays as it
 * is unless the channel options set one.  Copied. */
CGRPC_EXTERN int cgrpc_tls_options_set_server_name_override(cgrpc_tls_options *opts,
                                                            const char *name);

/* Server: require a client certificate chaining to the CA set above (mTLS);
 * handlers and interceptors see who the client is with
 * cgrpc_server_call_peer_subject and cgrpc_server_call_peer_san. */
CGRPC_EXTERN void cgrpc_tls_options_require_client_cert(cgrpc_tls_options *opts, int require);

#ifdef __cplusplus
}
#endif
#endif
