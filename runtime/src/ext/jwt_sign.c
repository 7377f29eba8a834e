/* Minting JWTs: HMAC from a secret, RSA PKCS#1 v1.5 and deterministic ECDSA P-256 from a
 * private key, with a CTR-DRBG for RSA blinding and ECDSA's. */
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/platform_util.h>

#include "base/alloc.h"
#include "ext/jwt_internal.h"

#define SIGN_ES256_HALF 32
#define SIGN_MAX_SIG 1024 /* RSA of up to 8192 bits */

struct cgrpc_jwt_signer {
  cgrpc_allocator alloc;
  cgrpc_jwt_alg alg;
  uint8_t *secret;
  size_t secret_len;
  char *kid;
  mbedtls_pk_context pk;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  pthread_mutex_t mu; /* the DRBG and the key's cached values */
};

void cgrpc_jwt_signer_free(cgrpc_jwt_signer *s)
{
  if (s == NULL)
    return;
  mbedtls_ctr_drbg_free(&s->drbg);
  mbedtls_entropy_free(&s->entropy);
  mbedtls_pk_free(&s->pk);
  pthread_mutex_destroy(&s->mu);
  if (s->secret != NULL) {
    mbedtls_platform_zeroize(s->secret, s->secret_len);
    cgrpc_free(&s->alloc, s->secret);
  }
  cgrpc_free(&s->alloc, s->kid);
  cgrpc_free(&s->alloc, s);
}

static int sign_load_private(cgrpc_jwt_signer *s, const void *key, size_t len)
{
  /* mbedTLS takes PEM only with its NUL counted in the length. */
  unsigned char *buf = cgrpc_malloc(&s->alloc, len + 1);
  if (buf == NULL)
    return CGRPC_ERR_NOMEM;
  memcpy(buf, key, len);
  buf[len] = '\0';
  int rv = mbedtls_pk_parse_key(&s->pk, buf, len + 1, NULL, 0);
  if (rv != 0) {
    mbedtls_pk_free(&s->pk);
    mbedtls_pk_init(&s->pk);
    rv = mbedtls_pk_parse_key(&s->pk, buf, len, NULL, 0);
  }
  mbedtls_platform_zeroize(buf, len + 1);
  cgrpc_free(&s->alloc, buf);
  if (rv != 0 || (cgrpc_jwt_pk_algs(&s->pk) & (unsigned)s->alg) == 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  static const unsigned char personal[] = "cgrpc-jwt-sign";
  if (mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy, personal,
                            sizeof personal - 1) != 0)
    return CGRPC_ERR_SYSTEM;
  return 0;
}

int cgrpc_jwt_signer_new(cgrpc_jwt_signer **out, cgrpc_jwt_alg alg, const void *key,
                         size_t key_len, const cgrpc_allocator *alloc)
{
  if (out == NULL || key == NULL || key_len == 0 || cgrpc_jwt_alg_name(alg) == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  *out = NULL;
  cgrpc_allocator a;
  cgrpc_alloc_init(&a, alloc);
  cgrpc_jwt_signer *s = cgrpc_calloc(&a, 1, sizeof *s);
  if (s == NULL)
    return CGRPC_ERR_NOMEM;
  s->alloc = a;
  s->alg = alg;
  mbedtls_pk_init(&s->pk);
  mbedtls_entropy_init(&s->entropy);
  mbedtls_ctr_drbg_init(&s->drbg);
  pthread_mutex_init(&s->mu, NULL);
  int rv;
  if (alg & JWT_HS_ALGS) {
    rv = (cgrpc_jwt_secret_algs(key_len) & (unsigned)alg) == 0 ? CGRPC_ERR_INVALID_ARGUMENT
         : (s->secret = cgrpc_malloc(&a, key_len)) == NULL    ? CGRPC_ERR_NOMEM
                                                               : 0;
    if (rv == 0) {
      memcpy(s->secret, key, key_len);
      s->secret_len = key_len;
    }
  } else {
    rv = sign_load_private(s, key, key_len);
  }
  if (rv != 0) {
    cgrpc_jwt_signer_free(s);
    return rv;
  }
  *out = s;
  return 0;
}

int cgrpc_jwt_signer_set_kid(cgrpc_jwt_signer *s, const char *kid)
{
  if (s == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  char *copy = NULL;
  if (kid != NULL && (copy = cgrpc_strdup(&s->alloc, kid)) == NULL)
    return CGRPC_ERR_NOMEM;
  pthread_mutex_lock(&s->mu);
  cgrpc_free(&s->alloc, s->kid);
  s->kid = copy;
  pthread_mutex_unlock(&s->mu);
  return 0;
}

/* ---- signing -------------------------------------------------------------------------------- */

/* Signs input into sig (SIGN_MAX_SIG bytes); under s->mu. */
static int sign_raw(cgrpc_jwt_signer *s, const uint8_t *input, size_t input_len, uint8_t *sig,
                    size_t *sig_len)
{
  mbedtls_md_type_t md_type = cgrpc_jwt_alg_md(s->alg);
  const mbedtls_md_info_t *md = mbedtls_md_info_from_type(md_type);
  size_t hlen = mbedtls_md_get_size(md);
  if (s->alg & JWT_HS_ALGS) {
    *sig_len = hlen;
    return mbedtls_md_hmac(md, s->secret, s->secret_len, input, input_len, sig) == 0
               ? 0
               : CGRPC_ERR_SYSTEM;
  }
  uint8_t hash[MBEDTLS_MD_MAX_SIZE];
  if (mbedtls_md(md, input, input_len, hash) != 0)
    return CGRPC_ERR_SYSTEM;
  if (s->alg & JWT_RS_ALGS) {
    if (mbedtls_pk_get_len(&s->pk) > SIGN_MAX_SIG)
      return CGRPC_ERR_INVALID_ARGUMENT;
    return mbedtls_pk_sign(&s->pk, md_type, hash, hlen, sig, sig_len, mbedtls_ctr_drbg_random,
                           &s->drbg) == 0
               ? 0
               : CGRPC_ERR_SYSTEM;
  }
  /* ES256: RFC 6979 nonces, blinded with the DRBG; r || s on the wire (RFC 7518 3.4). */
  mbedtls_ecp_keypair *ec = mbedtls_pk_ec(s->pk);
  mbedtls_mpi r, sv;
  mbedtls_mpi_init(&r);
  mbedtls_mpi_init(&sv);
  int ok = mbedtls_ecdsa_sign_det_ext(&ec->grp, &r, &sv, &ec->d, hash, hlen, md_type,
                                      mbedtls_ctr_drbg_random, &s->drbg) == 0 &&
           mbedtls_mpi_write_binary(&r, sig, SIGN_ES256_HALF) == 0 &&
           mbedtls_mpi_write_binary(&sv, sig + SIGN_ES256_HALF, SIGN_ES256_HALF) == 0;
  mbedtls_mpi_free(&r);
  mbedtls_mpi_free(&sv);
  *sig_len = 2 * SIGN_ES256_HALF;
  return ok ? 0 : CGRPC_ERR_SYSTEM;
}

/* The header's JSON text, owned by *obj. */
static const char *sign_header(cgrpc_jwt_signer *s, json_object **obj)
{
  json_object *h = json_object_new_object();
  *obj = h;
  if (h == NULL ||
      json_object_object_add(h, "alg", json_object_new_string(cgrpc_jwt_alg_name(s->alg))) != 0 ||
      json_object_object_add(h, "typ", json_object_new_string("JWT")) != 0 ||
      (s->kid != NULL && json_object_object_add(h, "kid", json_object_new_string(s->kid)) != 0))
    return NULL;
  return json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int cgrpc_jwt_sign(cgrpc_jwt_signer *s, const char *claims_json, char *buf, size_t size,
                   size_t *len)
{
  if (s == NULL || claims_json == NULL || len == NULL || (buf == NULL && size > 0))
    return CGRPC_ERR_INVALID_ARGUMENT;
  size_t plen = strlen(claims_json);
  json_object *check = cgrpc_jwt_json_object(claims_json, plen);
  if (check == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  json_object_put(check);

  pthread_mutex_lock(&s->mu);
  json_object *hobj;
  const char *header = sign_header(s, &hobj);
  size_t hlen = header != NULL ? strlen(header) : 0;
  size_t cap = cgrpc_jwt_b64url_size(hlen) + cgrpc_jwt_b64url_size(plen) +
               cgrpc_jwt_b64url_size(SIGN_MAX_SIG);
  char *tok = header != NULL ? cgrpc_malloc(&s->alloc, cap) : NULL;
  uint8_t *sig = tok != NULL ? cgrpc_malloc(&s->alloc, SIGN_MAX_SIG) : NULL;
  int rv = sig == NULL ? CGRPC_ERR_NOMEM : 0;
  size_t n = 0, sig_len = 0;
  if (rv == 0) {
    n = cgrpc_jwt_b64url_encode(tok, (const uint8_t *)header, hlen);
    tok[n++] = '.';
    n += cgrpc_jwt_b64url_encode(tok + n, (const uint8_t *)claims_json, plen);
    rv = sign_raw(s, (const uint8_t *)tok, n, sig, &sig_len);
  }
  pthread_mutex_unlock(&s->mu);
  json_object_put(hobj);
  if (rv == 0) {
    tok[n++] = '.';
    n += cgrpc_jwt_b64url_encode(tok + n, sig, sig_len);
    *len = n;
    if (size < n + 1) {
      *len = n + 1;
      rv = CGRPC_ERR_TOO_LARGE;
    } else {
      memcpy(buf, tok, n + 1);
    }
  }
  cgrpc_free(&s->alloc, sig);
  cgrpc_free(&s->alloc, tok);
  return rv;
}
