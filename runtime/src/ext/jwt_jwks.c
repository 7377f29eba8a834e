/* JWK Sets (RFC 7517/7518): oct, RSA and EC P-256 keys for the JWT verifier, from text or a file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/rsa.h>

#include "base/alloc.h"
#include "ext/jwt_internal.h"

#define JWKS_MAX_FILE (1024 * 1024)
#define JWKS_P256_COORD 32

static int jwks_is(const char *s, size_t n, const char *literal)
{
  return strlen(literal) == n && memcmp(s, literal, n) == 0;
}

/* A base64url member of jwk, decoded (caller frees). */
static int jwks_bytes(const cgrpc_allocator *a, json_object *jwk, const char *name, uint8_t **out,
                      size_t *len)
{
  size_t n;
  const char *s = cgrpc_jwt_json_string(jwk, name, &n);
  if (s == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  int rv = cgrpc_jwt_b64url_decode(a, s, n, out, len);
  return rv == CGRPC_ERR_PROTO || (rv == 0 && *len == 0) ? CGRPC_ERR_INVALID_ARGUMENT : rv;
}

static int jwks_oct(const cgrpc_allocator *a, json_object *jwk, jwt_key *key)
{
  int rv = jwks_bytes(a, jwk, "k", &key->secret, &key->secret_len);
  if (rv == 0)
    key->algs = cgrpc_jwt_secret_algs(key->secret_len);
  return rv;
}

static int jwks_rsa(const cgrpc_allocator *a, json_object *jwk, jwt_key *key)
{
  uint8_t *n = NULL, *e = NULL;
  size_t nlen = 0, elen = 0;
  int rv = jwks_bytes(a, jwk, "n", &n, &nlen);
  rv = rv != 0 ? rv : jwks_bytes(a, jwk, "e", &e, &elen);
  if (rv == 0) {
    mbedtls_rsa_context *rsa;
    if (mbedtls_pk_setup(&key->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0)
      rv = CGRPC_ERR_NOMEM;
    else if (rsa = mbedtls_pk_rsa(key->pk),
             mbedtls_rsa_import_raw(rsa, n, nlen, NULL, 0, NULL, 0, NULL, 0, e, elen) != 0 ||
                 mbedtls_rsa_complete(rsa) != 0 || mbedtls_rsa_check_pubkey(rsa) != 0)
      rv = CGRPC_ERR_INVALID_ARGUMENT;
    else
      key->algs = cgrpc_jwt_pk_algs(&key->pk);
  }
  cgrpc_free(a, n);
  cgrpc_free(a, e);
  return rv;
}

static int jwks_ec(const cgrpc_allocator *a, json_object *jwk, jwt_key *key)
{
  uint8_t *x = NULL, *y = NULL;
  size_t xlen = 0, ylen = 0;
  int rv = jwks_bytes(a, jwk, "x", &x, &xlen);
  rv = rv != 0 ? rv : jwks_bytes(a, jwk, "y", &y, &ylen);
  /* RFC 7518 wants full-size coordinates, but some writers (PyJWT 2.6) drop leading zero
   * bytes: put them back.  The point is checked to be on the curve below. */
  if (rv == 0 && (xlen > JWKS_P256_COORD || ylen > JWKS_P256_COORD))
    rv = CGRPC_ERR_INVALID_ARGUMENT;
  if (rv == 0) {
    uint8_t point[1 + 2 * JWKS_P256_COORD] = {0x04}; /* uncompressed: 04 || x || y */
    memcpy(point + 1 + JWKS_P256_COORD - xlen, x, xlen);
    memcpy(point + 1 + 2 * JWKS_P256_COORD - ylen, y, ylen);
    mbedtls_ecp_keypair *ec;
    if (mbedtls_pk_setup(&key->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
      rv = CGRPC_ERR_NOMEM;
    else if (ec = mbedtls_pk_ec(key->pk),
             mbedtls_ecp_group_load(&ec->grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
                 mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, point, sizeof point) != 0 ||
                 mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q) != 0)
      rv = CGRPC_ERR_INVALID_ARGUMENT;
    else
      key->algs = JWT_ES_ALGS;
  }
  cgrpc_free(a, x);
  cgrpc_free(a, y);
  return rv;
}

/* Nonzero when the JWK is meant for something other than verifying signatures. */
static int jwks_not_for_us(json_object *jwk)
{
  size_t n;
  const char *use = cgrpc_jwt_json_string(jwk, "use", &n);
  if (use != NULL && !jwks_is(use, n, "sig"))
    return 1;
  json_object *ops = NULL;
  if (!json_object_object_get_ex(jwk, "key_ops", &ops) || !json_object_is_type(ops, json_type_array))
    return 0;
  for (size_t i = 0; i < json_object_array_length(ops); i++) {
    json_object *op = json_object_array_get_idx(ops, i);
    if (json_object_is_type(op, json_type_string) &&
        jwks_is(json_object_get_string(op), (size_t)json_object_get_string_len(op), "verify"))
      return 0;
  }
  return 1;
}

/* One JWK: 0 and the key in *out, or NULL in *out when it is not one we can use. */
static int jwks_key(const cgrpc_allocator *a, json_object *jwk, jwt_key **out)
{
  *out = NULL;
  size_t kty_len, alg_len = 0, kid_len = 0, crv_len = 0;
  json_object *m = NULL;
  if (!json_object_is_type(jwk, json_type_object))
    return CGRPC_ERR_INVALID_ARGUMENT;
  const char *kty = cgrpc_jwt_json_string(jwk, "kty", &kty_len);
  const char *kid = cgrpc_jwt_json_string(jwk, "kid", &kid_len);
  const char *alg = cgrpc_jwt_json_string(jwk, "alg", &alg_len);
  const char *crv = cgrpc_jwt_json_string(jwk, "crv", &crv_len);
  if (kty == NULL || (kid == NULL && json_object_object_get_ex(jwk, "kid", &m)) ||
      (alg == NULL && json_object_object_get_ex(jwk, "alg", &m)) ||
      (kid != NULL && memchr(kid, '\0', kid_len) != NULL))
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_jwt_alg want = alg != NULL ? cgrpc_jwt_alg_parse(alg, alg_len) : (cgrpc_jwt_alg)0;
  int (*load)(const cgrpc_allocator *, json_object *, jwt_key *) = NULL;
  if (jwks_is(kty, kty_len, "oct"))
    load = jwks_oct;
  else if (jwks_is(kty, kty_len, "RSA"))
    load = jwks_rsa;
  else if (jwks_is(kty, kty_len, "EC") && crv != NULL && jwks_is(crv, crv_len, "P-256"))
    load = jwks_ec;
  if (load == NULL || (alg != NULL && want == 0) || jwks_not_for_us(jwk))
    return 0; /* another kind of key, curve, algorithm or use */
  jwt_key *key = cgrpc_jwt_key_new(a, kid, kid_len);
  if (key == NULL)
    return CGRPC_ERR_NOMEM;
  int rv = load(a, jwk, key);
  /* An alg of another family than the key's is a confused key set: refuse it. */
  rv = rv != 0 ? rv : cgrpc_jwt_key_limit(key, want);
  if (rv != 0) {
    cgrpc_jwt_key_free(a, key);
    return rv;
  }
  *out = key;
  return 0;
}

int cgrpc_jwt_verifier_add_jwks(cgrpc_jwt_verifier *v, const char *json, size_t len)
{
  if (v == NULL || json == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  json_object *root = cgrpc_jwt_json_object(json, len);
  json_object *keys = NULL;
  if (root == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  int single = !json_object_object_get_ex(root, "keys", &keys);
  if (!single && !json_object_is_type(keys, json_type_array)) {
    json_object_put(root);
    return CGRPC_ERR_INVALID_ARGUMENT;
  }
  size_t before = v->nkeys, n = single ? 1 : json_object_array_length(keys);
  int rv = 0;
  for (size_t i = 0; i < n && rv == 0; i++) {
    jwt_key *key;
    rv = jwks_key(&v->alloc, single ? root : json_object_array_get_idx(keys, i), &key);
    if (rv == 0 && key != NULL)
      rv = cgrpc_jwt_keys_push(v, key);
  }
  json_object_put(root);
  if (rv == 0 && v->nkeys == before)
    rv = CGRPC_ERR_INVALID_ARGUMENT; /* nothing usable */
  if (rv != 0) {
    while (v->nkeys > before)
      cgrpc_jwt_key_free(&v->alloc, v->keys[--v->nkeys]);
  }
  return rv;
}

int cgrpc_jwt_verifier_add_jwks_file(cgrpc_jwt_verifier *v, const char *path)
{
  if (v == NULL || path == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return CGRPC_ERR_SYSTEM;
  char *buf = cgrpc_malloc(&v->alloc, JWKS_MAX_FILE + 1);
  if (buf == NULL) {
    fclose(f);
    return CGRPC_ERR_NOMEM;
  }
  size_t n = fread(buf, 1, JWKS_MAX_FILE + 1, f);
  int err = ferror(f), saved = errno;
  fclose(f);
  int rv = err ? CGRPC_ERR_SYSTEM
               : n > JWKS_MAX_FILE ? CGRPC_ERR_TOO_LARGE : cgrpc_jwt_verifier_add_jwks(v, buf, n);
  cgrpc_free(&v->alloc, buf);
  if (err)
    errno = saved;
  return rv;
}
