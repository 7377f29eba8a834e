/* The JWT verifier: its keys (HMAC secrets and PEM/DER public keys) and its claim settings. */
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>

#include "base/alloc.h"
#include "ext/jwt_internal.h"

#define KEYS_DEFAULT_MAX_TOKEN 8192
#define KEYS_DEFAULT_LEEWAY_S 30
#define KEYS_MAX_LEEWAY_S 86400

int cgrpc_jwt_verifier_new(cgrpc_jwt_verifier **out, const cgrpc_allocator *alloc)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_allocator a;
  cgrpc_alloc_init(&a, alloc);
  cgrpc_jwt_verifier *v = cgrpc_calloc(&a, 1, sizeof *v);
  if (v == NULL)
    return CGRPC_ERR_NOMEM;
  v->alloc = a;
  v->leeway_s = KEYS_DEFAULT_LEEWAY_S;
  v->max_token = KEYS_DEFAULT_MAX_TOKEN;
  v->require_exp = 1;
  *out = v;
  return 0;
}

void cgrpc_jwt_verifier_free(cgrpc_jwt_verifier *v)
{
  if (v == NULL)
    return;
  for (size_t i = 0; i < v->nkeys; i++)
    cgrpc_jwt_key_free(&v->alloc, v->keys[i]);
  cgrpc_free(&v->alloc, v->keys);
  for (size_t i = 0; i < v->naudiences; i++)
    cgrpc_free(&v->alloc, v->audiences[i]);
  cgrpc_free(&v->alloc, v->audiences);
  cgrpc_free(&v->alloc, v->issuer);
  cgrpc_free(&v->alloc, v);
}

/* ---- keys ----------------------------------------------------------------------------------- */

jwt_key *cgrpc_jwt_key_new(const cgrpc_allocator *alloc, const char *kid, size_t kid_len)
{
  jwt_key *key = cgrpc_calloc(alloc, 1, sizeof *key);
  if (key == NULL)
    return NULL;
  if (kid != NULL && (key->kid = cgrpc_strndup(alloc, kid, kid_len)) == NULL) {
    cgrpc_free(alloc, key);
    return NULL;
  }
  mbedtls_pk_init(&key->pk);
  pthread_mutex_init(&key->mu, NULL);
  return key;
}

void cgrpc_jwt_key_free(const cgrpc_allocator *alloc, jwt_key *key)
{
  if (key == NULL)
    return;
  mbedtls_pk_free(&key->pk);
  pthread_mutex_destroy(&key->mu);
  if (key->secret != NULL) {
    mbedtls_platform_zeroize(key->secret, key->secret_len);
    cgrpc_free(alloc, key->secret);
  }
  cgrpc_free(alloc, key->kid);
  cgrpc_free(alloc, key);
}

int cgrpc_jwt_keys_push(cgrpc_jwt_verifier *v, jwt_key *key)
{
  jwt_key **keys = cgrpc_realloc(&v->alloc, v->keys, (v->nkeys + 1) * sizeof *keys);
  if (keys == NULL) {
    cgrpc_jwt_key_free(&v->alloc, key);
    return CGRPC_ERR_NOMEM;
  }
  v->keys = keys;
  v->keys[v->nkeys++] = key;
  return 0;
}

unsigned cgrpc_jwt_secret_algs(size_t len)
{
  /* RFC 7518 3.2: a key at least as long as the hash output. */
  return (len >= 32 ? CGRPC_JWT_HS256 : 0u) | (len >= 48 ? CGRPC_JWT_HS384 : 0u) |
         (len >= 64 ? CGRPC_JWT_HS512 : 0u);
}

unsigned cgrpc_jwt_pk_algs(const mbedtls_pk_context *pk)
{
  mbedtls_pk_type_t type = mbedtls_pk_get_type(pk);
  if (type == MBEDTLS_PK_RSA)
    return mbedtls_pk_get_bitlen(pk) >= JWT_MIN_RSA_BITS ? JWT_RS_ALGS : 0;
  if (type == MBEDTLS_PK_ECKEY || type == MBEDTLS_PK_ECDSA)
    return mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1 ? JWT_ES_ALGS : 0;
  return 0;
}

int cgrpc_jwt_key_limit(jwt_key *key, unsigned want)
{
  if (want == 0)
    return key->algs != 0 ? 0 : CGRPC_ERR_INVALID_ARGUMENT;
  if ((want & ~key->algs) != 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  key->algs = want;
  return 0;
}

int cgrpc_jwt_verifier_add_secret(cgrpc_jwt_verifier *v, const char *kid, const void *secret,
                                  size_t len, unsigned algs)
{
  if (v == NULL || secret == NULL || len == 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  jwt_key *key = cgrpc_jwt_key_new(&v->alloc, kid, kid != NULL ? strlen(kid) : 0);
  if (key == NULL || (key->secret = cgrpc_malloc(&v->alloc, len)) == NULL) {
    cgrpc_jwt_key_free(&v->alloc, key);
    return CGRPC_ERR_NOMEM;
  }
  memcpy(key->secret, secret, len);
  key->secret_len = len;
  key->algs = cgrpc_jwt_secret_algs(len);
  int rv = cgrpc_jwt_key_limit(key, algs);
  if (rv != 0) {
    cgrpc_jwt_key_free(&v->alloc, key);
    return rv;
  }
  return cgrpc_jwt_keys_push(v, key);
}

int cgrpc_jwt_verifier_add_public_key(cgrpc_jwt_verifier *v, const char *kid, const void *der_or_pem,
                                      size_t len, unsigned algs)
{
  if (v == NULL || der_or_pem == NULL || len == 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  /* mbedTLS takes PEM only with its NUL counted in the length. */
  unsigned char *buf = cgrpc_malloc(&v->alloc, len + 1);
  jwt_key *key = cgrpc_jwt_key_new(&v->alloc, kid, kid != NULL ? strlen(kid) : 0);
  if (buf == NULL || key == NULL) {
    cgrpc_free(&v->alloc, buf);
    cgrpc_jwt_key_free(&v->alloc, key);
    return CGRPC_ERR_NOMEM;
  }
  memcpy(buf, der_or_pem, len);
  buf[len] = '\0';
  int rv = mbedtls_pk_parse_public_key(&key->pk, buf, len + 1);
  if (rv != 0) {
    mbedtls_pk_free(&key->pk);
    mbedtls_pk_init(&key->pk);
    rv = mbedtls_pk_parse_public_key(&key->pk, buf, len);
  }
  cgrpc_free(&v->alloc, buf);
  key->algs = rv == 0 ? cgrpc_jwt_pk_algs(&key->pk) : 0;
  rv = cgrpc_jwt_key_limit(key, algs);
  if (rv != 0) {
    cgrpc_jwt_key_free(&v->alloc, key);
    return rv;
  }
  return cgrpc_jwt_keys_push(v, key);
}

/* ---- claim settings ------------------------------------------------------------------------- */

int cgrpc_jwt_verifier_set_issuer(cgrpc_jwt_verifier *v, const char *issuer)
{
  if (v == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  char *copy = NULL;
  if (issuer != NULL && (copy = cgrpc_strdup(&v->alloc, issuer)) == NULL)
    return CGRPC_ERR_NOMEM;
  cgrpc_free(&v->alloc, v->issuer);
  v->issuer = copy;
  return 0;
}

int cgrpc_jwt_verifier_add_audience(cgrpc_jwt_verifier *v, const char *audience)
{
  if (v == NULL || audience == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  char **auds = cgrpc_realloc(&v->alloc, v->audiences, (v->naudiences + 1) * sizeof *auds);
  if (auds == NULL)
    return CGRPC_ERR_NOMEM;
  v->audiences = auds;
  if ((auds[v->naudiences] = cgrpc_strdup(&v->alloc, audience)) == NULL)
    return CGRPC_ERR_NOMEM;
  v->naudiences++;
  return 0;
}

int cgrpc_jwt_verifier_set_leeway(cgrpc_jwt_verifier *v, int64_t seconds)
{
  if (v == NULL || seconds < 0 || seconds > KEYS_MAX_LEEWAY_S)
    return CGRPC_ERR_INVALID_ARGUMENT;
  v->leeway_s = seconds;
  return 0;
}

int cgrpc_jwt_verifier_set_max_token_size(cgrpc_jwt_verifier *v, size_t bytes)
{
  if (v == NULL || bytes == 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  v->max_token = bytes;
  return 0;
}

void cgrpc_jwt_verifier_set_require_exp(cgrpc_jwt_verifier *v, int require)
{
  if (v != NULL)
    v->require_exp = require != 0;
}
