/* JWT verification: the token's form, its algorithm against the keys allowed to check it, the
 * signature (HMAC compared in constant time, RSA PKCS#1 v1.5, ECDSA P-256), then the claims. */
#include <math.h>
#include <string.h>
#include <time.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/platform_util.h>

#include "base/alloc.h"
#include "ext/jwt_internal.h"

#define VERIFY_ES256_HALF 32

const char *cgrpc_jwt_reason(int rv)
{
  switch (rv) {
  case 0:
    return "valid token";
  case CGRPC_JWT_TOO_LARGE:
    return "token too large";
  case CGRPC_JWT_MALFORMED:
    return "malformed token (not three base64url parts)";
  case CGRPC_JWT_BAD_HEADER:
    return "malformed token header";
  case CGRPC_JWT_BAD_PAYLOAD:
    return "malformed token payload";
  case CGRPC_JWT_ALG_NOT_ALLOWED:
    return "token algorithm not accepted";
  case CGRPC_JWT_UNKNOWN_KID:
    return "no key for the token's kid";
  case CGRPC_JWT_NO_KEY:
    return "token has no kid and the keys require one";
  case CGRPC_JWT_BAD_SIGNATURE:
    return "bad token signature";
  case CGRPC_JWT_EXPIRED:
    return "token expired";
  case CGRPC_JWT_NOT_YET_VALID:
    return "token not valid yet";
  case CGRPC_JWT_MISSING_EXP:
    return "token has no expiry";
  case CGRPC_JWT_BAD_ISSUER:
    return "token issuer not accepted";
  case CGRPC_JWT_BAD_AUDIENCE:
    return "token audience not accepted";
  default:
    return cgrpc_strerror(rv);
  }
}

/* ---- signatures ----------------------------------------------------------------------------- */

/* JWS ECDSA signatures are r || s, each as long as the curve's order (RFC 7518 3.4). */
static int verify_es256(jwt_key *key, const uint8_t *hash, size_t hlen, const uint8_t *sig,
                        size_t sig_len)
{
  if (sig_len != 2 * VERIFY_ES256_HALF)
    return 0;
  mbedtls_ecp_keypair *ec = mbedtls_pk_ec(key->pk);
  mbedtls_mpi r, s;
  mbedtls_mpi_init(&r);
  mbedtls_mpi_init(&s);
  int ok = mbedtls_mpi_read_binary(&r, sig, VERIFY_ES256_HALF) == 0 &&
           mbedtls_mpi_read_binary(&s, sig + VERIFY_ES256_HALF, VERIFY_ES256_HALF) == 0 &&
           mbedtls_ecdsa_verify(&ec->grp, hash, hlen, &ec->Q, &r, &s) == 0;
  mbedtls_mpi_free(&r);
  mbedtls_mpi_free(&s);
  return ok;
}

int cgrpc_jwt_key_verify(jwt_key *key, cgrpc_jwt_alg alg, const uint8_t *input, size_t input_len,
                         const uint8_t *sig, size_t sig_len)
{
  mbedtls_md_type_t md_type = cgrpc_jwt_alg_md(alg);
  const mbedtls_md_info_t *md = mbedtls_md_info_from_type(md_type);
  if (md == NULL || (key->algs & (unsigned)alg) == 0)
    return 0; /* never another family's key, whatever the token says */
  uint8_t hash[MBEDTLS_MD_MAX_SIZE];
  size_t hlen = mbedtls_md_get_size(md);
  int ok = 0;
  if (alg & JWT_HS_ALGS) {
    ok = sig_len == hlen &&
         mbedtls_md_hmac(md, key->secret, key->secret_len, input, input_len, hash) == 0 &&
         cgrpc_jwt_ct_equal(hash, sig, hlen);
    mbedtls_platform_zeroize(hash, sizeof hash);
    return ok;
  }
  if (mbedtls_md(md, input, input_len, hash) != 0)
    return 0;
  pthread_mutex_lock(&key->mu);
  if (alg & JWT_RS_ALGS)
    ok = mbedtls_pk_get_type(&key->pk) == MBEDTLS_PK_RSA && sig_len == mbedtls_pk_get_len(&key->pk) &&
         mbedtls_pk_verify(&key->pk, md_type, hash, hlen, sig, sig_len) == 0;
  else
    ok = mbedtls_pk_can_do(&key->pk, MBEDTLS_PK_ECDSA) && verify_es256(key, hash, hlen, sig, sig_len);
  pthread_mutex_unlock(&key->mu);
  return ok;
}

/* ---- the token ------------------------------------------------------------------------------ */

typedef struct verify_work {
  const cgrpc_jwt_verifier *v;
  const char *seg[3]; /* header, payload, signature: base64url */
  size_t seg_len[3];
  uint8_t *header_text, *payload_text, *sig;
  size_t header_len, payload_len, sig_len;
  json_object *header, *payload;
} verify_work;

static int verify_split(verify_work *w, const char *token, size_t len)
{
  const char *end = token + len, *p = token;
  for (int i = 0; i < 3; i++) {
    const char *dot = i < 2 ? memchr(p, '.', (size_t)(end - p)) : end;
    if (dot == NULL)
      return CGRPC_JWT_MALFORMED;
    w->seg[i] = p;
    w->seg_len[i] = (size_t)(dot - p);
    if (!cgrpc_jwt_b64url_valid(p, w->seg_len[i]))
      return CGRPC_JWT_MALFORMED; /* a fourth part's dot included */
    p = dot + 1;
  }
  return w->seg_len[0] == 0 || w->seg_len[1] == 0 ? CGRPC_JWT_MALFORMED : 0;
}

/* Decodes part i and parses it as a JSON object; reject when it is not one. */
static int verify_json_part(verify_work *w, int i, uint8_t **text, size_t *len, json_object **o,
                            int reject)
{
  int rv = cgrpc_jwt_b64url_decode(&w->v->alloc, w->seg[i], w->seg_len[i], text, len);
  if (rv != 0)
    return rv == CGRPC_ERR_PROTO ? reject : rv;
  *o = cgrpc_jwt_json_object((const char *)*text, *len);
  return *o != NULL ? 0 : reject;
}

/* The header's alg and kid (kid NULL when it has none). */
static int verify_header(verify_work *w, cgrpc_jwt_alg *alg, const char **kid, size_t *kid_len)
{
  int rv = verify_json_part(w, 0, &w->header_text, &w->header_len, &w->header,
                            CGRPC_JWT_BAD_HEADER);
  if (rv != 0)
    return rv;
  json_object *m = NULL;
  size_t alg_len;
  const char *name = cgrpc_jwt_json_string(w->header, "alg", &alg_len);
  *kid = cgrpc_jwt_json_string(w->header, "kid", kid_len);
  /* crit names extensions the recipient must understand (RFC 7515 4.1.11): we know none. */
  if (name == NULL || json_object_object_get_ex(w->header, "crit", &m) ||
      (*kid == NULL && json_object_object_get_ex(w->header, "kid", &m)) ||
      (*kid != NULL && memchr(*kid, '\0', *kid_len) != NULL))
    return CGRPC_JWT_BAD_HEADER;
  *alg = cgrpc_jwt_alg_parse(name, alg_len);
  return *alg != 0 ? 0 : CGRPC_JWT_ALG_NOT_ALLOWED;
}

static int verify_signature(verify_work *w, cgrpc_jwt_alg alg, const char *kid, size_t kid_len)
{
  int rv = cgrpc_jwt_b64url_decode(&w->v->alloc, w->seg[2], w->seg_len[2], &w->sig, &w->sig_len);
  if (rv != 0)
    return rv == CGRPC_ERR_PROTO ? CGRPC_JWT_MALFORMED : rv;
  const uint8_t *input = (const uint8_t *)w->seg[0];
  size_t input_len = w->seg_len[0] + 1 + w->seg_len[1]; /* header.payload, as sent */
  int kid_matched = 0, kidless = 0, tried = 0;
  for (size_t i = 0; i < w->v->nkeys; i++) {
    jwt_key *key = w->v->keys[i];
    if (key->kid != NULL) {
      if (kid == NULL || strlen(key->kid) != kid_len || memcmp(key->kid, kid, kid_len) != 0)
        continue;
      kid_matched = 1;
    } else {
      kidless = 1;
    }
    if ((key->algs & (unsigned)alg) == 0)
      continue;
    tried++;
    if (cgrpc_jwt_key_verify(key, alg, input, input_len, w->sig, w->sig_len))
      return 0;
  }
  if (tried > 0)
    return CGRPC_JWT_BAD_SIGNATURE;
  if (kid != NULL)
    return kid_matched || kidless ? CGRPC_JWT_ALG_NOT_ALLOWED : CGRPC_JWT_UNKNOWN_KID;
  return kidless ? CGRPC_JWT_ALG_NOT_ALLOWED : CGRPC_JWT_NO_KEY;
}

/* A NumericDate claim: 1 and its value when present, 0 when absent, -1 when not a number
 * (json-c reads NaN and Infinity, against which every comparison would pass). */
static int verify_date(json_object *payload, const char *name, double *value)
{
  json_object *m = NULL;
  if (!json_object_object_get_ex(payload, name, &m))
    return 0;
  if (!json_object_is_type(m, json_type_int) && !json_object_is_type(m, json_type_double))
    return -1;
  *value = json_object_get_double(m);
  return isfinite(*value) ? 1 : -1;
}

static int verify_str_eq(json_object *s, const char *want)
{
  return json_object_is_type(s, json_type_string) &&
         (size_t)json_object_get_string_len(s) == strlen(want) &&
         memcmp(json_object_get_string(s), want, strlen(want)) == 0;
}

static int verify_audience(const cgrpc_jwt_verifier *v, json_object *payload)
{
  json_object *aud = NULL;
  if (!json_object_object_get_ex(payload, "aud", &aud))
    return v->naudiences == 0 ? 0 : CGRPC_JWT_BAD_AUDIENCE;
  int array = json_object_is_type(aud, json_type_array);
  size_t n = array ? json_object_array_length(aud) : 1;
  for (size_t i = 0; i < n; i++) {
    json_object *one = array ? json_object_array_get_idx(aud, i) : aud;
    for (size_t j = 0; j < v->naudiences; j++)
      if (verify_str_eq(one, v->audiences[j]))
        return 0;
  }
  return CGRPC_JWT_BAD_AUDIENCE; /* includes any aud when we expect none */
}

static int verify_claims(const cgrpc_jwt_verifier *v, json_object *payload)
{
  double exp = 0, nbf = 0, now = (double)time(NULL);
  int has_exp = verify_date(payload, "exp", &exp);
  int has_nbf = verify_date(payload, "nbf", &nbf);
  if (has_exp < 0 || has_nbf < 0)
    return CGRPC_JWT_BAD_PAYLOAD;
  if (!has_exp && v->require_exp)
    return CGRPC_JWT_MISSING_EXP;
  if (has_exp && now >= exp + (double)v->leeway_s)
    return CGRPC_JWT_EXPIRED;
  if (has_nbf && nbf > now + (double)v->leeway_s)
    return CGRPC_JWT_NOT_YET_VALID;
  json_object *iss = NULL;
  if (v->issuer != NULL &&
      !(json_object_object_get_ex(payload, "iss", &iss) && verify_str_eq(iss, v->issuer)))
    return CGRPC_JWT_BAD_ISSUER;
  return verify_audience(v, payload);
}

static int verify_run(verify_work *w, const char *token, size_t len)
{
  if (len > w->v->max_token)
    return CGRPC_JWT_TOO_LARGE;
  int rv = verify_split(w, token, len);
  cgrpc_jwt_alg alg = 0;
  const char *kid = NULL;
  size_t kid_len = 0;
  rv = rv != 0 ? rv : verify_header(w, &alg, &kid, &kid_len);
  /* The payload is only parsed once its signature holds. */
  rv = rv != 0 ? rv : verify_signature(w, alg, kid, kid_len);
  rv = rv != 0 ? rv
               : verify_json_part(w, 1, &w->payload_text, &w->payload_len, &w->payload,
                                  CGRPC_JWT_BAD_PAYLOAD);
  return rv != 0 ? rv : verify_claims(w->v, w->payload);
}

int cgrpc_jwt_verify(const cgrpc_jwt_verifier *v, const char *token, size_t len,
                     cgrpc_jwt_claims **claims)
{
  if (claims != NULL)
    *claims = NULL;
  if (v == NULL || token == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  verify_work w;
  memset(&w, 0, sizeof w);
  w.v = v;
  int rv = verify_run(&w, token, len);
  if (rv == 0 && claims != NULL) {
    cgrpc_jwt_claims *c = cgrpc_malloc(&v->alloc, sizeof *c);
    if (c == NULL) {
      rv = CGRPC_ERR_NOMEM;
    } else {
      c->alloc = v->alloc;
      c->payload = w.payload;
      c->json = (char *)w.payload_text; /* NUL-terminated by the decoder */
      w.payload = NULL;
      w.payload_text = NULL;
      *claims = c;
    }
  }
  json_object_put(w.header);
  json_object_put(w.payload);
  cgrpc_free(&v->alloc, w.header_text);
  cgrpc_free(&v->alloc, w.payload_text);
  cgrpc_free(&v->alloc, w.sig);
  return rv;
}
