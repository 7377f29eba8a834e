/* Internal: TLS by mbedTLS -- the shared configuration of a channel or listener (a "context",
 * reference-counted so that a reloaded one can replace it while connections still use the
 * old), and the transport of one connection. */
#ifndef CGRPC_TLS_INTERNAL_H
#define CGRPC_TLS_INTERNAL_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <cgrpc/tls.h>

#include "transport/transport.h"

struct cgrpc_tls_options {
  char *ca_file;
  char *ca_pem;
  char *cert_file;
  char *key_file;
  char *cert_pem;
  char *key_pem;
  char *server_name;
  int require_client_cert;
};

typedef struct cgrpc_tls_ctx {
  int refs; /* atomic */
  int is_server;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca;
  mbedtls_x509_crt own;
  mbedtls_pk_context key;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  char *server_name; /* client: the override, or NULL */
} cgrpc_tls_ctx;

/* Copies opts (NULL: none) into *out; returns 0 or CGRPC_ERR_NOMEM. */
int cgrpc_tls_options_copy(cgrpc_tls_options **out, const cgrpc_tls_options *opts);

/* Builds a context from opts, reading the files now.  Returns 0, CGRPC_ERR_NOMEM, or
 * CGRPC_ERR_TLS with the reason in err (never key material). */
int cgrpc_tls_ctx_new(cgrpc_tls_ctx **out, const cgrpc_tls_options *opts, int is_server,
                      char *err, size_t errlen);
void cgrpc_tls_ctx_ref(cgrpc_tls_ctx *ctx);
void cgrpc_tls_ctx_unref(cgrpc_tls_ctx *ctx); /* NULL-safe */

/* A transport doing TLS over the connected (or connecting) socket fd, which it then owns;
 * it holds a reference on ctx.  A client verifies the server as hostname (or ctx's override).
 * The handshake runs inside the first reads and writes.  NULL on no memory (fd not closed). */
cgrpc_transport *cgrpc_tls_transport_new(int fd, cgrpc_tls_ctx *ctx, const char *hostname);

#endif
