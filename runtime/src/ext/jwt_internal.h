/* Internal: what the JWT modules share -- the verifier's keys, claims, and the token codec. */
#ifndef CGRPC_JWT_INTERNAL_H
#define CGRPC_JWT_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>

#include <cgrpc/jwt.h>

#define JWT_HS_ALGS (CGRPC_JWT_HS256 | CGRPC_JWT_HS384 | CGRPC_JWT_HS512)
#define JWT_RS_ALGS (CGRPC_JWT_RS256 | CGRPC_JWT_RS384 | CGRPC_JWT_RS512)
#define JWT_ES_ALGS CGRPC_JWT_ES256
#define JWT_ALL_ALGS (JWT_HS_ALGS | JWT_RS_ALGS | JWT_ES_ALGS)
#define JWT_MIN_RSA_BITS 2048

/* ---- jwt_codec.c: algorithms, base64url, JSON, comparison ------------------------------- */

/* The algorithm named exactly name (len bytes), or 0 ("none" and unknown names too). */
cgrpc_jwt_alg cgrpc_jwt_alg_parse(const char *name, size_t len);
/* Its hash. */
mbedtls_md_type_t cgrpc_jwt_alg_md(cgrpc_jwt_alg alg);
/* The algorithms of alg's family (JWT_HS_ALGS, ...). */
unsigned cgrpc_jwt_alg_family(cgrpc_jwt_alg alg);

/* Nonzero when s (n bytes) is unpadded base64url whose unused trailing bits are zero: the
 * one encoding of its bytes. */
int cgrpc_jwt_b64url_valid(const char *s, size_t n);
/* Decodes unpadded base64url into a new buffer (alloc; a NUL follows the bytes).  Returns
 * 0, CGRPC_ERR_PROTO (malformed) or CGRPC_ERR_NOMEM. */
int cgrpc_jwt_b64url_decode(const cgrpc_allocator *alloc, const char *s, size_t n,
                            uint8_t **out, size_t *out_len);
/* Unpadded base64url of n bytes: needs cgrpc_jwt_b64url_size(n) bytes of dst, NUL
 * included; returns the length written without the NUL. */
size_t cgrpc_jwt_b64url_size(size_t n);
size_t cgrpc_jwt_b64url_encode(char *dst, const uint8_t *src, size_t n);

/* Parses text (n bytes) as one strict JSON object, nothing before or after it.  NULL when
 * it is anything else (or holds a NUL byte, or is not UTF-8).  Release with json_object_put. */
json_object *cgrpc_jwt_json_object(const char *text, size_t n);

/* A string member of o, with its length; NULL when absent or not a string. */
const char *cgrpc_jwt_json_string(json_object *o, const char *name, size_t *len);

/* Equality of two byte strings in time that depends only on n. */
int cgrpc_jwt_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* ---- jwt_keys.c: the verifier and its keys ------------------------------------------------ */

typedef struct jwt_key {
  char *kid;     /* NULL: matches any kid */
  unsigned algs; /* cgrpc_jwt_alg bits it verifies, all of one family */
  uint8_t *secret;
  size_t secret_len;
  mbedtls_pk_context pk; /* RSA or EC, for RS* and ES256 */
  /* mbedTLS caches precomputations (RSA blinding values, EC comb tables) in the key on
   * first use: operations on a key take turns. */
  pthread_mutex_t mu;
} jwt_key;

struct cgrpc_jwt_verifier {
  cgrpc_allocator alloc;
  jwt_key **keys;
  size_t nkeys;
  char *issuer;
  char **audiences;
  size_t naudiences;
  int64_t leeway_s;
  size_t max_token;
  int require_exp;
};

struct cgrpc_jwt_claims {
  cgrpc_allocator alloc;
  json_object *payload;
  char *json; /* the payload's text */
};

/* Adds a key the caller made (taking it over, freed on failure).  Returns 0 or
 * CGRPC_ERR_NOMEM. */
int cgrpc_jwt_keys_push(cgrpc_jwt_verifier *v, jwt_key *key);
/* A new key with kid copied; NULL when out of memory. */
jwt_key *cgrpc_jwt_key_new(const cgrpc_allocator *alloc, const char *kid, size_t kid_len);
void cgrpc_jwt_key_free(const cgrpc_allocator *alloc, jwt_key *key);
/* The algorithms of its family a secret of len bytes is long enough for. */
unsigned cgrpc_jwt_secret_algs(size_t len);
/* Checks a parsed public or private key: RSA of 2048 bits or more (RS*), or EC P-256
 * (ES256).  Returns the algorithms it may serve, or 0. */
unsigned cgrpc_jwt_pk_algs(const mbedtls_pk_context *pk);
/* Restricts a key's algorithms to want (0: keep all it can).  Returns 0, or
 * CGRPC_ERR_INVALID_ARGUMENT when want names one it cannot serve. */
int cgrpc_jwt_key_limit(jwt_key *key, unsigned want);

/* ---- jwt_jwks.c --------------------------------------------------------------------------- */
/* (cgrpc_jwt_verifier_add_jwks, public) */

/* ---- jwt_verify.c ------------------------------------------------------------------------- */

/* Checks sig over input with key for alg (a key of alg's family).  Returns 1 when valid. */
int cgrpc_jwt_key_verify(jwt_key *key, cgrpc_jwt_alg alg, const uint8_t *input, size_t input_len,
                         const uint8_t *sig, size_t sig_len);

#endif
