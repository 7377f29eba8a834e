/* TLS options and contexts: what an endpoint trusts and presents, turned into one mbedTLS
 * configuration shared by its connections. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>

#include "base/alloc.h"
#include "transport/tls.h"

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* ---- options -------------------------------------------------------------------------------- */

int cgrpc_tls_options_new(cgrpc_tls_options **out)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  *out = calloc(1, sizeof **out);
  return *out != NULL ? 0 : CGRPC_ERR_NOMEM;
}

void cgrpc_tls_options_free(cgrpc_tls_options *o)
{
  if (o == NULL)
    return;
  free(o->ca_file);
  free(o->ca_pem);
  free(o->cert_file);
  free(o->key_file);
  free(o->cert_pem);
  free(o->key_pem);
  free(o->server_name);
  free(o);
}

int cgrpc_tls_options_set_ca_file(cgrpc_tls_options *o, const char *path)
{
  if (o == NULL || path == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return cgrpc_replace_string(&o->ca_pem, NULL) ? CGRPC_ERR_NOMEM : cgrpc_replace_string(&o->ca_file, path);
}

int cgrpc_tls_options_set_ca_pem(cgrpc_tls_options *o, const char *pem)
{
  if (o == NULL || pem == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return cgrpc_replace_string(&o->ca_file, NULL) ? CGRPC_ERR_NOMEM : cgrpc_replace_string(&o->ca_pem, pem);
}

int cgrpc_tls_options_set_cert_key_files(cgrpc_tls_options *o, const char *cert_path,
                                         const char *key_path)
{
  if (o == NULL || cert_path == NULL || key_path == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_replace_string(&o->cert_pem, NULL);
  cgrpc_replace_string(&o->key_pem, NULL);
  if (cgrpc_replace_string(&o->cert_file, cert_path) != 0 || cgrpc_replace_string(&o->key_file, key_path) != 0)
    return CGRPC_ERR_NOMEM;
  return 0;
}

int cgrpc_tls_options_set_cert_key_pem(cgrpc_tls_options *o, const char *cert_pem,
                                       const char *key_pem)
{
  if (o == NULL || cert_pem == NULL || key_pem == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_replace_string(&o->cert_file, NULL);
  cgrpc_replace_string(&o->key_file, NULL);
  if (cgrpc_replace_string(&o->cert_pem, cert_pem) != 0 || cgrpc_replace_string(&o->key_pem, key_pem) != 0)
    return CGRPC_ERR_NOMEM;
  return 0;
}

int cgrpc_tls_options_set_server_name_override(cgrpc_tls_options *o, const char *name)
{
  if (o == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return cgrpc_replace_string(&o->server_name, name);
}

void cgrpc_tls_options_require_client_cert(cgrpc_tls_options *o, int require)
{
  if (o != NULL)
    o->require_client_cert = require != 0;
}

int cgrpc_tls_options_copy(cgrpc_tls_options **out, const cgrpc_tls_options *o)
{
  *out = NULL;
  if (o == NULL)
    return 0;
  cgrpc_tls_options *c;
  if (cgrpc_tls_options_new(&c) != 0)
    return CGRPC_ERR_NOMEM;
  c->require_client_cert = o->require_client_cert;
  if (cgrpc_replace_string(&c->ca_file, o->ca_file) || cgrpc_replace_string(&c->ca_pem, o->ca_pem) ||
      cgrpc_replace_string(&c->cert_file, o->cert_file) || cgrpc_replace_string(&c->key_file, o->key_file) ||
      cgrpc_replace_string(&c->cert_pem, o->cert_pem) || cgrpc_replace_string(&c->key_pem, o->key_pem) ||
      cgrpc_replace_string(&c->server_name, o->server_name)) {
    cgrpc_tls_options_free(c);
    return CGRPC_ERR_NOMEM;
  }
  *out = c;
  return 0;
}

/* ---- contexts -------------------------------------------------------------------------------- */

/* TLS 1.2 AEAD suites with forward secrecy, strongest first (TLS 1.3 is not in Debian's
 * mbedTLS 2.28 build). */
static const int tls_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    0,
};

static const char *tls_alpn[] = {"h2", NULL};

/* Key exchange groups, fastest and strongest first (mbedTLS's default list leads with
 * secp521r1 and still offers 192- and 224-bit curves). */
static const mbedtls_ecp_group_id tls_curves[] = {
    MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_NONE,
};

/* Says why in err (what failed, then mbedTLS's words for mbed if not 0). */
static int tls_fail(char *err, size_t errlen, int mbed, const char *fmt, ...) CGRPC_PRINTF(4, 5);
static int tls_fail(char *err, size_t errlen, int mbed, const char *fmt, ...)
{
  if (errlen == 0)
    return CGRPC_ERR_TLS;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  size_t n = strlen(err);
  if (mbed != 0 && n + 2 < errlen) {
    snprintf(err + n, errlen - n, ": ");
    mbedtls_strerror(mbed, err + n + 2, errlen - n - 2);
  }
  return CGRPC_ERR_TLS;
}

/* Certificates from a file or PEM text (mbedTLS wants the text's NUL counted). */
static int tls_load_crt(mbedtls_x509_crt *crt, const char *file, const char *pem)
{
  if (file != NULL)
    return mbedtls_x509_crt_parse_file(crt, file);
  return mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, strlen(pem) + 1);
}

static int tls_load_key(cgrpc_tls_ctx *ctx, const char *file, const char *pem)
{
  if (file != NULL)
    return mbedtls_pk_parse_keyfile(&ctx->key, file, NULL);
  return mbedtls_pk_parse_key(&ctx->key, (const unsigned char *)pem, strlen(pem) + 1, NULL, 0);
}

int cgrpc_tls_ctx_new(cgrpc_tls_ctx **out, const cgrpc_tls_options *o, int is_server, char *err,
                      size_t errlen)
{
  if (errlen > 0)
    err[0] = 0;
  cgrpc_tls_ctx *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return CGRPC_ERR_NOMEM;
  ctx->refs = 1;
  ctx->is_server = is_server;
  mbedtls_ssl_config_init(&ctx->conf);
  mbedtls_x509_crt_init(&ctx->ca);
  mbedtls_x509_crt_init(&ctx->own);
  mbedtls_pk_init(&ctx->key);
  mbedtls_entropy_init(&ctx->entropy);
  mbedtls_ctr_drbg_init(&ctx->drbg);
  int rv = 0, m;
  const char *ca_file = o->ca_file, *ca_pem = o->ca_pem;
  int have_own = o->cert_file != NULL || o->cert_pem != NULL;
  if (!is_server && ca_file == NULL && ca_pem == NULL)
    ca_file = SYSTEM_CA_BUNDLE;
  if ((m = mbedtls_ctr_drbg_seed(&ctx->drbg, mbedtls_entropy_func, &ctx->entropy,
                                 (const unsigned char *)"cgrpc-tls", 9)) != 0)
    rv = tls_fail(err, errlen, m, "cannot seed the random generator");
  else if ((m = mbedtls_ssl_config_defaults(&ctx->conf,
                                            is_server ? MBEDTLS_SSL_IS_SERVER
                                                      : MBEDTLS_SSL_IS_CLIENT,
                                            MBEDTLS_SSL_TRANSPORT_STREAM,
                                            MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
    rv = tls_fail(err, errlen, m, "cannot set up TLS");
  else if (is_server && !have_own)
    rv = tls_fail(err, errlen, 0, "a TLS server needs a certificate and key");
  else if (is_server && o->require_client_cert && ca_file == NULL && ca_pem == NULL)
    rv = tls_fail(err, errlen, 0, "requiring client certificates needs a CA to check them");
  else if ((ca_file != NULL || ca_pem != NULL) &&
           (m = tls_load_crt(&ctx->ca, ca_file, ca_pem)) != 0)
    rv = tls_fail(err, errlen, m, "cannot load the CA certificates %s",
                  ca_file != NULL ? ca_file : "(PEM)");
  else if (have_own && (m = tls_load_crt(&ctx->own, o->cert_file, o->cert_pem)) != 0)
    rv = tls_fail(err, errlen, m, "cannot load the certificate %s",
                  o->cert_file != NULL ? o->cert_file : "(PEM)");
  else if (have_own && (m = tls_load_key(ctx, o->key_file, o->key_pem)) != 0)
    rv = tls_fail(err, errlen, m, "cannot load the private key %s",
                  o->key_file != NULL ? o->key_file : "(PEM)");
  else if (have_own && (m = mbedtls_pk_check_pair(&ctx->own.pk, &ctx->key)) != 0)
    rv = tls_fail(err, errlen, m, "the private key does not match the certificate %s",
                  o->cert_file != NULL ? o->cert_file : "(PEM)");
  else if (have_own && (m = mbedtls_ssl_conf_own_cert(&ctx->conf, &ctx->own, &ctx->key)) != 0)
    rv = tls_fail(err, errlen, m, "cannot use the certificate");
  else if ((m = mbedtls_ssl_conf_alpn_protocols(&ctx->conf, tls_alpn)) != 0)
    rv = tls_fail(err, errlen, m, "cannot set ALPN");
  if (rv == 0 && !is_server && o->server_name != NULL &&
      (ctx->server_name = strdup(o->server_name)) == NULL)
    rv = CGRPC_ERR_NOMEM;
  if (rv != 0) {
    cgrpc_tls_ctx_unref(ctx);
    return rv;
  }
  mbedtls_ssl_conf_rng(&ctx->conf, mbedtls_ctr_drbg_random, &ctx->drbg);
  mbedtls_ssl_conf_min_version(&ctx->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3); /* TLS 1.2 */
  mbedtls_ssl_conf_ciphersuites(&ctx->conf, tls_suites);
  mbedtls_ssl_conf_curves(&ctx->conf, tls_curves);
  if (ca_file != NULL || ca_pem != NULL)
    mbedtls_ssl_conf_ca_chain(&ctx->conf, &ctx->ca, NULL);
  /* A client always verifies the server; a server its clients only when asked to. */
  mbedtls_ssl_conf_authmode(&ctx->conf, !is_server || o->require_client_cert
                                            ? MBEDTLS_SSL_VERIFY_REQUIRED
                                            : MBEDTLS_SSL_VERIFY_NONE);
  *out = ctx;
  return 0;
}

void cgrpc_tls_ctx_ref(cgrpc_tls_ctx *ctx)
{
  __atomic_add_fetch(&ctx->refs, 1, __ATOMIC_RELAXED);
}

void cgrpc_tls_ctx_unref(cgrpc_tls_ctx *ctx)
{
  if (ctx == NULL || __atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  mbedtls_ssl_config_free(&ctx->conf);
  mbedtls_x509_crt_free(&ctx->ca);
  mbedtls_x509_crt_free(&ctx->own);
  mbedtls_pk_free(&ctx->key); /* also wipes the key */
  mbedtls_ctr_drbg_free(&ctx->drbg);
  mbedtls_entropy_free(&ctx->entropy);
  free(ctx->server_name);
  free(ctx);
}
