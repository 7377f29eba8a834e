/* Specification of the JWT verifier and signer: every algorithm verifies, every known attack is
 * refused with its reason, keys load from secrets, PEM and JWKS, claims read back.  RSA and EC
 * keys are made by the openssl command at the start (none is kept in the tree). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "base/alloc.h"
#include "ext/jwt_internal.h"
#include "unit_main.h"

Suite *jwt_suite(void);

/* ---- keys, made once before the tests ------------------------------------------------------ */

typedef struct pem {
  char *text;
  size_t len;
} pem;

static pem rsa_priv, rsa_pub, rsa2_priv, rsa2_pub, ec_priv, ec_pub, ec2_priv, rsa1024_pub,
    ec384_pub;
static uint8_t secret[64]; /* long enough for HS512 */
static const char *const secret2 = "another secret of thirty-two bytes or more, for kid s2";

static pem read_file(const char *dir, const char *name)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  pem p = {NULL, 0};
  if (f == NULL)
    return p;
  p.text = calloc(1, 16384);
  p.len = fread(p.text, 1, 16383, f);
  fclose(f);
  unlink(path);
  return p;
}

/* Makes the keys with openssl in a scratch directory; 0 when that is not possible. */
static int make_keys(void)
{
  char dir[] = "/tmp/cgrpc-jwt-unit.XXXXXX";
  if (mkdtemp(dir) == NULL)
    return 0;
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "(cd %s && "
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem && "
           "openssl pkey -in rsa.pem -pubout -out rsa.pub && "
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.pem && "
           "openssl pkey -in rsa2.pem -pubout -out rsa2.pub && "
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem && "
           "openssl pkey -in ec.pem -pubout -out ec.pub && "
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec2.pem && "
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.pem && "
           "openssl pkey -in rsa1024.pem -pubout -out rsa1024.pub && "
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384.pem && "
           "openssl pkey -in ec384.pem -pubout -out ec384.pub) >/dev/null 2>&1",
           dir);
  int ok = system(cmd) == 0;
  rsa_priv = read_file(dir, "rsa.pem");
  rsa_pub = read_file(dir, "rsa.pub");
  rsa2_priv = read_file(dir, "rsa2.pem");
  rsa2_pub = read_file(dir, "rsa2.pub");
  ec_priv = read_file(dir, "ec.pem");
  ec_pub = read_file(dir, "ec.pub");
  ec2_priv = read_file(dir, "ec2.pem");
  rsa1024_pub = read_file(dir, "rsa1024.pub");
  ec384_pub = read_file(dir, "ec384.pub");
  pem junk = read_file(dir, "rsa1024.pem");
  free(junk.text);
  junk = read_file(dir, "ec384.pem");
  free(junk.text);
  rmdir(dir);
  for (size_t i = 0; i < sizeof secret; i++)
    secret[i] = (uint8_t)(i * 37 + 11);
  return ok && rsa_priv.len > 0 && ec384_pub.len > 0;
}

static void free_keys(void)
{
  pem *all[] = {&rsa_priv, &rsa_pub, &rsa2_priv, &rsa2_pub, &ec_priv,
                &ec_pub,   &ec2_priv, &rsa1024_pub, &ec384_pub};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    free(all[i]->text);
}

/* ---- tokens -------------------------------------------------------------------------------- */

static char *fmt(const char *f, ...) CGRPC_PRINTF(1, 2);
static char *fmt(const char *f, ...)
{
  va_list ap;
  va_start(ap, f);
  char *s = NULL;
  ck_assert_int_ge(vasprintf(&s, f, ap), 0);
  va_end(ap);
  return s;
}

static long now_s(void)
{
  return (long)time(NULL);
}

/* Claims valid for an hour. */
static char *good_claims(void)
{
  return fmt("{\"sub\":\"alice\",\"iat\":%ld,\"exp\":%ld}", now_s(), now_s() + 3600);
}

/* A token signed by our signer (the caller frees). */
static char *mint(cgrpc_jwt_alg alg, const void *key, size_t key_len, const char *kid,
                  const char *claims)
{
  cgrpc_jwt_signer *s = NULL;
  ck_assert_int_eq(cgrpc_jwt_signer_new(&s, alg, key, key_len, NULL), 0);
  ck_assert_int_eq(cgrpc_jwt_signer_set_kid(s, kid), 0);
  size_t len = 0;
  ck_assert_int_eq(cgrpc_jwt_sign(s, claims, NULL, 0, &len), CGRPC_ERR_TOO_LARGE);
  char *tok = malloc(len);
  size_t got = 0;
  ck_assert_int_eq(cgrpc_jwt_sign(s, claims, tok, len, &got), 0);
  ck_assert_uint_eq(got + 1, len);
  ck_assert_uint_eq(strlen(tok), got);
  cgrpc_jwt_signer_free(s);
  return tok;
}

static char *mint_good(cgrpc_jwt_alg alg, const void *key, size_t key_len, const char *kid)
{
  char *claims = good_claims();
  char *tok = mint(alg, key, key_len, kid, claims);
  free(claims);
  return tok;
}

static char *b64url(const void *data, size_t n)
{
  char *s = malloc(cgrpc_jwt_b64url_size(n));
  cgrpc_jwt_b64url_encode(s, data, n);
  return s;
}

/* header.payload from raw texts, then "." and an HMAC of it (md) with key, or sig_b64 as
 * given when key is NULL. */
static char *raw_token(const char *header, const char *payload, size_t payload_len,
                       mbedtls_md_type_t md, const void *key, size_t key_len, const char *sig_b64)
{
  char *h = b64url(header, strlen(header)), *p = b64url(payload, payload_len);
  char *input = fmt("%s.%s", h, p);
  free(h);
  free(p);
  char *sig = NULL;
  if (key != NULL) {
    uint8_t mac[MBEDTLS_MD_MAX_SIZE];
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    ck_assert_int_eq(mbedtls_md_hmac(info, key, key_len, (const uint8_t *)input, strlen(input), mac), 0);
    sig = b64url(mac, mbedtls_md_get_size(info));
  }
  char *tok = fmt("%s.%s", input, key != NULL ? sig : sig_b64);
  free(input);
  free(sig);
  return tok;
}

/* An HS256 token over the raw payload text with the shared secret. */
static char *hs256(const char *payload)
{
  return raw_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, strlen(payload),
                   MBEDTLS_MD_SHA256, secret, sizeof secret, NULL);
}

static cgrpc_jwt_verifier *verifier(void)
{
  cgrpc_jwt_verifier *v = NULL;
  ck_assert_int_eq(cgrpc_jwt_verifier_new(&v, NULL), 0);
  return v;
}

static cgrpc_jwt_verifier *secret_verifier(void)
{
  cgrpc_jwt_verifier *v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, NULL, secret, sizeof secret, 0), 0);
  return v;
}

static int verify(const cgrpc_jwt_verifier *v, const char *tok)
{
  cgrpc_jwt_claims *c = NULL;
  int rv = cgrpc_jwt_verify(v, tok, strlen(tok), &c);
  ck_assert(rv == 0 ? c != NULL : c == NULL);
  cgrpc_jwt_claims_free(c);
  return rv;
}

#define ck_assert_rejects(v, tok, want)                                                            \
  do {                                                                                             \
    int rv_ = verify((v), (tok));                                                                  \
    ck_assert_msg(rv_ == (want), "%s: got %d (%s), want %d (%s)", (tok), rv_, cgrpc_jwt_reason(rv_), \
                  (int)(want), cgrpc_jwt_reason(want));                                            \
  } while (0)

/* The token with bit `bit` of its signature's byte `byte` flipped. */
static char *flip_sig_bit(const char *tok, size_t byte, int bit)
{
  const char *dot = strrchr(tok, '.');
  uint8_t *sig;
  size_t n;
  cgrpc_allocator a;
  cgrpc_alloc_init(&a, NULL);
  ck_assert_int_eq(cgrpc_jwt_b64url_decode(&a, dot + 1, strlen(dot + 1), &sig, &n), 0);
  ck_assert_uint_lt(byte, n);
  sig[byte] ^= (uint8_t)(1u << bit);
  char *s = b64url(sig, n);
  char *out = fmt("%.*s.%s", (int)(dot - tok), tok, s);
  free(s);
  free(sig);
  return out;
}

/* ---- every algorithm ------------------------------------------------------------------------ */

typedef struct alg_case {
  cgrpc_jwt_alg alg;
  pem *priv, *pub; /* NULL: the shared secret */
} alg_case;

static const alg_case alg_cases[] = {
    {CGRPC_JWT_HS256, NULL, NULL},          {CGRPC_JWT_HS384, NULL, NULL},
    {CGRPC_JWT_HS512, NULL, NULL},          {CGRPC_JWT_RS256, &rsa_priv, &rsa_pub},
    {CGRPC_JWT_RS384, &rsa_priv, &rsa_pub}, {CGRPC_JWT_RS512, &rsa_priv, &rsa_pub},
    {CGRPC_JWT_ES256, &ec_priv, &ec_pub},
};
#define N_ALG_CASES (sizeof alg_cases / sizeof alg_cases[0])

static char *mint_case(const alg_case *c, const char *claims)
{
  return c->priv != NULL ? mint(c->alg, c->priv->text, c->priv->len, NULL, claims)
                         : mint(c->alg, secret, sizeof secret, NULL, claims);
}

static cgrpc_jwt_verifier *verifier_case(const alg_case *c)
{
  if (c->pub == NULL)
    return secret_verifier();
  cgrpc_jwt_verifier *v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, c->pub->text, c->pub->len, 0), 0);
  return v;
}

START_TEST(every_algorithm_verifies_and_gives_back_the_claims)
{
  const alg_case *c = &alg_cases[_i];
  char *claims = fmt("{\"sub\":\"alice\",\"exp\":%ld,\"scope\":\"a b\",\"roles\":[\"x\",7]}",
                     now_s() + 60);
  char *tok = mint_case(c, claims);
  cgrpc_jwt_verifier *v = verifier_case(c);
  cgrpc_jwt_claims *cl = NULL;
  ck_assert_int_eq(cgrpc_jwt_verify(v, tok, strlen(tok), &cl), 0);
  ck_assert_str_eq(cgrpc_jwt_claims_json(cl), claims);
  ck_assert_str_eq(cgrpc_jwt_claims_string(cl, "sub"), "alice");
  ck_assert_int_eq(cgrpc_jwt_verify(v, tok, strlen(tok), NULL), 0);
  cgrpc_jwt_claims_free(cl);
  /* The same token with a kid still verifies against a key without one. */
  char *with_kid = c->priv != NULL ? mint(c->alg, c->priv->text, c->priv->len, "k9", claims)
                                   : mint(c->alg, secret, sizeof secret, "k9", claims);
  ck_assert_int_eq(verify(v, with_kid), 0);
  free(with_kid);
  free(tok);
  free(claims);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(a_flipped_bit_anywhere_in_the_signature_is_a_bad_signature)
{
  const alg_case *c = &alg_cases[_i];
  char *tok = mint_case(c, "{\"sub\":\"alice\",\"exp\":99999999999}");
  cgrpc_jwt_verifier *v = verifier_case(c);
  ck_assert_int_eq(verify(v, tok), 0);
  size_t sig_bytes = c->alg == CGRPC_JWT_ES256 ? 64
                     : c->priv != NULL         ? 256
                                               : mbedtls_md_get_size(mbedtls_md_info_from_type(
                                                     cgrpc_jwt_alg_md(c->alg)));
  size_t step = UNIT_UNDER_VALGRIND() ? 29 : 1;
  for (size_t byte = 0; byte < sig_bytes; byte += step) {
    char *bad = flip_sig_bit(tok, byte, (int)(byte % 8));
    ck_assert_rejects(v, bad, CGRPC_JWT_BAD_SIGNATURE);
    free(bad);
  }
  /* and in the payload (the signed text), one character changed */
  char *bad = strdup(tok);
  char *p = strchr(bad, '.') + 3;
  *p = *p == 'A' ? 'Q' : 'A';
  int rv = verify(v, bad);
  ck_assert_msg(rv == CGRPC_JWT_BAD_SIGNATURE || rv == CGRPC_JWT_MALFORMED, "%d", rv);
  free(bad);
  free(tok);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(a_signature_from_another_key_of_the_same_kind_is_a_bad_signature)
{
  cgrpc_jwt_verifier *v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, rsa_pub.text, rsa_pub.len, 0), 0);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, ec_pub.text, ec_pub.len, 0), 0);
  char *tok = mint_good(CGRPC_JWT_RS256, rsa2_priv.text, rsa2_priv.len, NULL);
  ck_assert_rejects(v, tok, CGRPC_JWT_BAD_SIGNATURE);
  free(tok);
  tok = mint_good(CGRPC_JWT_ES256, ec2_priv.text, ec2_priv.len, NULL);
  ck_assert_rejects(v, tok, CGRPC_JWT_BAD_SIGNATURE);
  free(tok);
  cgrpc_jwt_verifier_free(v);
  v = secret_verifier();
  tok = mint_good(CGRPC_JWT_HS256, secret2, strlen(secret2), NULL);
  ck_assert_rejects(v, tok, CGRPC_JWT_BAD_SIGNATURE);
  free(tok);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

/* ---- attacks on the algorithm ------------------------------------------------------------- */

START_TEST(alg_none_is_refused_with_or_without_a_signature)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  char *claims = good_claims();
  char *valid = mint(CGRPC_JWT_HS256, secret, sizeof secret, NULL, claims);
  const char *valid_sig = strrchr(valid, '.') + 1;
  static const char *const nones[] = {"none", "None", "NONE", "nOnE", ""};
  for (size_t i = 0; i < sizeof nones / sizeof nones[0]; i++) {
    char *header = fmt("{\"alg\":\"%s\",\"typ\":\"JWT\"}", nones[i]);
    char *unsigned_tok = raw_token(header, claims, strlen(claims), MBEDTLS_MD_NONE, NULL, 0, "");
    ck_assert_rejects(v, unsigned_tok, CGRPC_JWT_ALG_NOT_ALLOWED);
    char *signed_tok = raw_token(header, claims, strlen(claims), MBEDTLS_MD_NONE, NULL, 0, valid_sig);
    ck_assert_rejects(v, signed_tok, CGRPC_JWT_ALG_NOT_ALLOWED);
    free(unsigned_tok);
    free(signed_tok);
    free(header);
  }
  /* No alg at all, or not a string. */
  char *tok = raw_token("{\"typ\":\"JWT\"}", claims, strlen(claims), MBEDTLS_MD_NONE, NULL, 0, valid_sig);
  ck_assert_rejects(v, tok, CGRPC_JWT_BAD_HEADER);
  free(tok);
  tok = raw_token("{\"alg\":null}", claims, strlen(claims), MBEDTLS_MD_NONE, NULL, 0, valid_sig);
  ck_assert_rejects(v, tok, CGRPC_JWT_BAD_HEADER);
  free(tok);
  free(valid);
  free(claims);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(hs256_signed_with_the_rsa_public_key_is_refused_by_an_rsa_verifier)
{
  /* The classic confusion: the attacker HMACs with the public key's PEM text, hoping the
   * verifier feeds "the key" to HMAC because the token says HS256. */
  char *claims = good_claims();
  cgrpc_jwt_verifier *v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, rsa_pub.text, rsa_pub.len, 0), 0);
  static const mbedtls_md_type_t mds[] = {MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA512};
  static const char *const names[] = {"HS256", "HS384", "HS512"};
  for (int i = 0; i < 3; i++) {
    char *header = fmt("{\"alg\":\"%s\",\"typ\":\"JWT\"}", names[i]);
    char *tok = raw_token(header, claims, strlen(claims), mds[i], rsa_pub.text, rsa_pub.len, NULL);
    ck_assert_rejects(v, tok, CGRPC_JWT_ALG_NOT_ALLOWED);
    free(tok);
    free(header);
  }
  /* The same with the key in a JWKS under a kid the token names. */
  cgrpc_jwt_verifier *vk = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(vk, "r1", rsa_pub.text, rsa_pub.len, 0), 0);
  char *tok = raw_token("{\"alg\":\"HS256\",\"kid\":\"r1\"}", claims, strlen(claims),
                        MBEDTLS_MD_SHA256, rsa_pub.text, rsa_pub.len, NULL);
  ck_assert_rejects(vk, tok, CGRPC_JWT_ALG_NOT_ALLOWED);
  /* With an HMAC secret configured too, the PEM bytes are still never the secret. */
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, NULL, secret, sizeof secret, 0), 0);
  char *tok2 = raw_token("{\"alg\":\"HS256\"}", claims, strlen(claims), MBEDTLS_MD_SHA256,
                         rsa_pub.text, rsa_pub.len, NULL);
  ck_assert_rejects(v, tok2, CGRPC_JWT_BAD_SIGNATURE);
  free(tok2);
  free(tok);
  free(claims);
  cgrpc_jwt_verifier_free(v);
  cgrpc_jwt_verifier_free(vk);
}
END_TEST

START_TEST(a_key_verifies_only_its_own_family_and_its_allowed_algorithms)
{
  cgrpc_jwt_verifier *v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, rsa_pub.text, rsa_pub.len,
                                                     CGRPC_JWT_RS256),
                   0);
  char *rs384 = mint_good(CGRPC_JWT_RS384, rsa_priv.text, rsa_priv.len, NULL);
  ck_assert_rejects(v, rs384, CGRPC_JWT_ALG_NOT_ALLOWED);
  char *es = mint_good(CGRPC_JWT_ES256, ec_priv.text, ec_priv.len, NULL);
  ck_assert_rejects(v, es, CGRPC_JWT_ALG_NOT_ALLOWED);
  cgrpc_jwt_verifier_free(v);
  v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, ec_pub.text, ec_pub.len, 0), 0);
  char *rs256 = mint_good(CGRPC_JWT_RS256, rsa_priv.text, rsa_priv.len, NULL);
  ck_assert_rejects(v, rs256, CGRPC_JWT_ALG_NOT_ALLOWED);
  ck_assert_int_eq(verify(v, es), 0);
  cgrpc_jwt_verifier_free(v);
  v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, NULL, secret, sizeof secret, CGRPC_JWT_HS512), 0);
  char *hs256_tok = mint_good(CGRPC_JWT_HS256, secret, sizeof secret, NULL);
  ck_assert_rejects(v, hs256_tok, CGRPC_JWT_ALG_NOT_ALLOWED);
  free(hs256_tok);
  free(rs256);
  free(rs384);
  free(es);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(unknown_algorithms_and_crit_headers_are_refused)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  char *claims = good_claims();
  static const char *const algs[] = {"PS256", "EdDSA", "HS1", "hs256", "HS256 ", "RS256\\u0000"};
  for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
    char *header = fmt("{\"alg\":\"%s\"}", algs[i]);
    char *tok = raw_token(header, claims, strlen(claims), MBEDTLS_MD_SHA256, secret, 32, NULL);
    ck_assert_rejects(v, tok, CGRPC_JWT_ALG_NOT_ALLOWED);
    free(tok);
    free(header);
  }
  char *tok = raw_token("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", claims, strlen(claims),
                        MBEDTLS_MD_SHA256, secret, 32, NULL);
  ck_assert_rejects(v, tok, CGRPC_JWT_BAD_HEADER);
  free(tok);
  free(claims);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

/* ---- malformed tokens ------------------------------------------------------------------------- */

START_TEST(every_truncation_of_a_valid_token_is_refused)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  char *tok = mint_good(CGRPC_JWT_HS256, secret, sizeof secret, NULL);
  size_t n = strlen(tok);
  for (size_t len = 0; len < n; len++) {
    int rv = cgrpc_jwt_verify(v, tok, len, NULL);
    ck_assert_msg(rv == CGRPC_JWT_MALFORMED || rv == CGRPC_JWT_BAD_SIGNATURE ||
                      rv == CGRPC_JWT_BAD_HEADER,
                  "length %zu: %d", len, rv);
  }
  /* without its signature part, or with the signature cut short */
  char *cut = strdup(tok);
  *strrchr(cut, '.') = '\0';
  ck_assert_rejects(v, cut, CGRPC_JWT_MALFORMED);
  free(cut);
  cut = strndup(tok, n - 3); /* 43 characters of signature to 40: 30 bytes */
  ck_assert_rejects(v, cut, CGRPC_JWT_BAD_SIGNATURE);
  free(cut);
  ck_assert_rejects(v, "", CGRPC_JWT_MALFORMED);
  ck_assert_rejects(v, "..", CGRPC_JWT_MALFORMED);
  free(tok);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(malformed_base64url_is_refused)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  char *tok = mint_good(CGRPC_JWT_HS256, secret, sizeof secret, NULL);
  const char *p1 = strchr(tok, '.'), *p2 = strrchr(tok, '.');
  int h = (int)(p1 - tok), p = (int)(p2 - p1 - 1);
  const char *sig = p2 + 1;
  char *bad[] = {
      fmt("%.*s=.%.*s.%s", h, tok, p, p1 + 1, sig),      /* padding */
      fmt("%.*s.%.*s.%s==", h, tok, p, p1 + 1, sig),     /* padding */
      fmt("+%.*s.%.*s.%s", h, tok, p, p1 + 1, sig),      /* standard alphabet */
      fmt("%.*s.%.*s/.%s", h, tok, p, p1 + 1, sig),      /* standard alphabet */
      fmt("%.*s.%.*s.%s ", h, tok, p, p1 + 1, sig),      /* white space */
      fmt("%.*s.%.*s.%s.x", h, tok, p, p1 + 1, sig),     /* a fourth part */
      fmt("%.*s..%.*s.%s", h, tok, p, p1 + 1, sig),      /* an empty part */
      fmt("A.%.*s.%s", p, p1 + 1, sig),                  /* a length no encoding has */
      fmt("%.*s.%.*s.%.*s%c", h, tok, p, p1 + 1, (int)strlen(sig) - 1, sig, '_'), /* bits past the end */
      fmt("%.*s\n.%.*s.%s", h, tok, p, p1 + 1, sig),
      fmt("%.*s.%.*s.%s%%", h, tok, p, p1 + 1, sig),
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_rejects(v, bad[i], CGRPC_JWT_MALFORMED);
    free(bad[i]);
  }
  /* A NUL inside: the length says where the token ends, not a NUL. */
  char *nul = strdup(tok);
  nul[3] = '\0';
  ck_assert_int_eq(cgrpc_jwt_verify(v, nul, strlen(tok), NULL), CGRPC_JWT_MALFORMED);
  free(nul);
  free(tok);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(malformed_json_in_the_header_is_refused)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  char *claims = good_claims();
  static const char *const headers[] = {
      "not json",
      "[\"alg\",\"HS256\"]",
      "\"HS256\"",
      "{\"alg\":\"HS256\"",
      "{\"alg\":\"HS256\"}{}",
      "{\"alg\":\"HS256\"} x",
      "{'alg':'HS256'}",
      "{\"alg\":\"HS256\",}",
      "{\"alg\":\"HS256\",\"kid\":5}",
      "{\"alg\":\"HS256\",\"kid\":\"a\\u0000b\"}",
      "",
  };
  for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
    char *tok = raw_token(headers[i], claims, strlen(claims), MBEDTLS_MD_SHA256, secret, 32, NULL);
    int want = headers[i][0] == '\0' ? CGRPC_JWT_MALFORMED : CGRPC_JWT_BAD_HEADER;
    ck_assert_rejects(v, tok, want);
    free(tok);
  }
  /* bytes that are not UTF-8, and a NUL byte */
  char *tok = raw_token("{\"alg\":\"HS256\",\"x\":\"\xff\xfe\"}", claims, strlen(claims),
                        MBEDTLS_MD_SHA256, secret, 32, NULL);
  ck_assert_rejects(v, tok, CGRPC_JWT_BAD_HEADER);
  free(tok);
  free(claims);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(malformed_json_in_a_correctly_signed_payload_is_refused)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  cgrpc_jwt_verifier_set_require_exp(v, 0);
  static const char *const payloads[] = {
      "{\"sub\":",      "[1,2]",       "null",
      "{\"sub\":1}x",   "{\"exp\":\"tomorrow\"}", "{\"nbf\":[1]}",
      "{\"exp\":true}", "{\"exp\":NaN}", "{\"nbf\":-Infinity}",  "{\"a\":\"\xc3\x28\"}",
  };
  for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
    char *tok = hs256(payloads[i]);
    ck_assert_rejects(v, tok, CGRPC_JWT_BAD_PAYLOAD);
    free(tok);
  }
  char *tok = raw_token("{\"alg\":\"HS256\"}", "{\"a\":\"\0\"}", 9, MBEDTLS_MD_SHA256, secret,
                        sizeof secret, NULL);
  ck_assert_rejects(v, tok, CGRPC_JWT_BAD_PAYLOAD);
  free(tok);
  tok = hs256("{}");
  ck_assert_int_eq(verify(v, tok), 0);
  free(tok);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(a_token_over_the_size_limit_is_refused_before_anything_else)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  char big[9000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char *claims = fmt("{\"pad\":\"%s\",\"exp\":%ld}", big, now_s() + 60);
  char *tok = mint(CGRPC_JWT_HS256, secret, sizeof secret, NULL, claims);
  ck_assert_uint_gt(strlen(tok), 8192);
  ck_assert_rejects(v, tok, CGRPC_JWT_TOO_LARGE);
  ck_assert_int_eq(cgrpc_jwt_verifier_set_max_token_size(v, 16384), 0);
  ck_assert_int_eq(verify(v, tok), 0);
  /* the limit comes first: garbage of that size is "too large", not "malformed" */
  ck_assert_int_eq(cgrpc_jwt_verifier_set_max_token_size(v, 100), 0);
  ck_assert_int_eq(cgrpc_jwt_verify(v, big, 101, NULL), CGRPC_JWT_TOO_LARGE);
  ck_assert_int_eq(cgrpc_jwt_verifier_set_max_token_size(v, 0), CGRPC_ERR_INVALID_ARGUMENT);
  free(tok);
  free(claims);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

/* ---- claims ----------------------------------------------------------------------------------- */

static int verify_claims(const cgrpc_jwt_verifier *v, const char *claims)
{
  char *tok = mint(CGRPC_JWT_HS256, secret, sizeof secret, NULL, claims);
  int rv = verify(v, tok);
  free(tok);
  return rv;
}

#define ck_assert_claims(v, want, ...)                                                             \
  do {                                                                                             \
    char *c_ = fmt(__VA_ARGS__);                                                                   \
    int rv_ = verify_claims((v), c_);                                                              \
    ck_assert_msg(rv_ == (want), "%s: got %d (%s), want %d", c_, rv_, cgrpc_jwt_reason(rv_),       \
                  (int)(want));                                                                    \
    free(c_);                                                                                      \
  } while (0)

START_TEST(exp_in_the_past_beyond_the_leeway_is_expired)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  long t = now_s();
  ck_assert_claims(v, CGRPC_JWT_EXPIRED, "{\"exp\":%ld}", t - 40);
  ck_assert_claims(v, CGRPC_JWT_EXPIRED, "{\"exp\":%ld.5}", t - 3600);
  ck_assert_claims(v, CGRPC_JWT_EXPIRED, "{\"exp\":0}");
  ck_assert_claims(v, CGRPC_JWT_EXPIRED, "{\"exp\":-9223372036854775808}");
  ck_assert_claims(v, 0, "{\"exp\":%ld}", t - 10); /* within the default 30 s */
  ck_assert_claims(v, 0, "{\"exp\":1e300}");
  ck_assert_int_eq(cgrpc_jwt_verifier_set_leeway(v, 0), 0);
  ck_assert_claims(v, CGRPC_JWT_EXPIRED, "{\"exp\":%ld}", t - 10);
  ck_assert_int_eq(cgrpc_jwt_verifier_set_leeway(v, 300), 0);
  ck_assert_claims(v, 0, "{\"exp\":%ld}", t - 200);
  ck_assert_int_eq(cgrpc_jwt_verifier_set_leeway(v, -1), CGRPC_ERR_INVALID_ARGUMENT);
  /* exp is required unless told otherwise */
  ck_assert_claims(v, CGRPC_JWT_MISSING_EXP, "{\"sub\":\"x\"}");
  cgrpc_jwt_verifier_set_require_exp(v, 0);
  ck_assert_claims(v, 0, "{\"sub\":\"x\"}");
  ck_assert_claims(v, CGRPC_JWT_BAD_PAYLOAD, "{\"exp\":null}");
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(nbf_in_the_future_beyond_the_leeway_is_not_valid_yet)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  long t = now_s();
  ck_assert_claims(v, CGRPC_JWT_NOT_YET_VALID, "{\"exp\":%ld,\"nbf\":%ld}", t + 600, t + 120);
  ck_assert_claims(v, 0, "{\"exp\":%ld,\"nbf\":%ld}", t + 600, t + 10);
  ck_assert_claims(v, 0, "{\"exp\":%ld,\"nbf\":%ld}", t + 600, t - 10);
  ck_assert_claims(v, CGRPC_JWT_BAD_PAYLOAD, "{\"exp\":%ld,\"nbf\":\"%ld\"}", t + 600, t);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(the_issuer_must_be_exactly_the_configured_one)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  long e = now_s() + 600;
  ck_assert_claims(v, 0, "{\"exp\":%ld,\"iss\":\"https://evil\"}", e); /* none configured */
  ck_assert_int_eq(cgrpc_jwt_verifier_set_issuer(v, "https://good"), 0);
  ck_assert_claims(v, 0, "{\"exp\":%ld,\"iss\":\"https://good\"}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_ISSUER, "{\"exp\":%ld,\"iss\":\"https://evil\"}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_ISSUER, "{\"exp\":%ld}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_ISSUER, "{\"exp\":%ld,\"iss\":\"https://good/\"}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_ISSUER, "{\"exp\":%ld,\"iss\":\"https://goo\"}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_ISSUER, "{\"exp\":%ld,\"iss\":\"https://good\\u0000x\"}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_ISSUER, "{\"exp\":%ld,\"iss\":[\"https://good\"]}", e);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(the_audience_may_be_a_string_or_an_array_and_must_match)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  long e = now_s() + 600;
  /* none configured: a token meant for someone is not for us (RFC 7519 4.1.3) */
  ck_assert_claims(v, CGRPC_JWT_BAD_AUDIENCE, "{\"exp\":%ld,\"aud\":\"api\"}", e);
  ck_assert_claims(v, 0, "{\"exp\":%ld}", e);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_audience(v, "api"), 0);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_audience(v, "api2"), 0);
  ck_assert_claims(v, 0, "{\"exp\":%ld,\"aud\":\"api\"}", e);
  ck_assert_claims(v, 0, "{\"exp\":%ld,\"aud\":\"api2\"}", e);
  ck_assert_claims(v, 0, "{\"exp\":%ld,\"aud\":[\"web\",\"api\"]}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_AUDIENCE, "{\"exp\":%ld,\"aud\":\"web\"}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_AUDIENCE, "{\"exp\":%ld,\"aud\":[\"web\",\"ap\"]}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_AUDIENCE, "{\"exp\":%ld,\"aud\":[]}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_AUDIENCE, "{\"exp\":%ld,\"aud\":[[\"api\"]]}", e);
  ck_assert_claims(v, CGRPC_JWT_BAD_AUDIENCE, "{\"exp\":%ld}", e);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(claims_read_back_as_strings_numbers_arrays_and_scopes)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  char *tok = mint(CGRPC_JWT_HS256, secret, sizeof secret, NULL,
                   "{\"sub\":\"bob\",\"exp\":99999999999,\"n\":12.9,\"scope\":\" read  write \","
                   "\"roles\":[\"admin\",3,\"ops\"],\"nul\":\"a\\u0000b\",\"obj\":{\"k\":1}}");
  cgrpc_jwt_claims *c = NULL;
  ck_assert_int_eq(cgrpc_jwt_verify(v, tok, strlen(tok), &c), 0);
  ck_assert_str_eq(cgrpc_jwt_claims_string(c, "sub"), "bob");
  ck_assert_ptr_null(cgrpc_jwt_claims_string(c, "nul")); /* C would see "a" */
  ck_assert_ptr_null(cgrpc_jwt_claims_string(c, "n"));
  ck_assert_ptr_null(cgrpc_jwt_claims_string(c, "missing"));
  int64_t n = 0;
  ck_assert_int_eq(cgrpc_jwt_claims_int(c, "exp", &n), 0);
  ck_assert_int_eq(n, 99999999999LL);
  ck_assert_int_eq(cgrpc_jwt_claims_int(c, "n", &n), 0);
  ck_assert_int_eq(n, 12);
  ck_assert_int_eq(cgrpc_jwt_claims_int(c, "sub", &n), CGRPC_ERR_NOT_FOUND);
  ck_assert_uint_eq(cgrpc_jwt_claims_array_size(c, "roles"), 3);
  ck_assert_str_eq(cgrpc_jwt_claims_array_string(c, "roles", 0), "admin");
  ck_assert_ptr_null(cgrpc_jwt_claims_array_string(c, "roles", 1));
  ck_assert_str_eq(cgrpc_jwt_claims_array_string(c, "roles", 2), "ops");
  ck_assert_ptr_null(cgrpc_jwt_claims_array_string(c, "roles", 3));
  ck_assert_uint_eq(cgrpc_jwt_claims_array_size(c, "sub"), 0);
  ck_assert(cgrpc_jwt_claims_has(c, "scope", "read"));
  ck_assert(cgrpc_jwt_claims_has(c, "scope", "write"));
  ck_assert(!cgrpc_jwt_claims_has(c, "scope", "rea"));
  ck_assert(!cgrpc_jwt_claims_has(c, "scope", "read write"));
  ck_assert(!cgrpc_jwt_claims_has(c, "scope", ""));
  ck_assert(cgrpc_jwt_claims_has(c, "roles", "ops"));
  ck_assert(!cgrpc_jwt_claims_has(c, "roles", "3"));
  ck_assert(cgrpc_jwt_claims_has(c, "sub", "bob"));
  ck_assert(!cgrpc_jwt_claims_has(c, "obj", "k"));
  ck_assert(!cgrpc_jwt_claims_has(c, "missing", "x"));
  cgrpc_jwt_claims_free(c);
  cgrpc_jwt_claims_free(NULL);
  free(tok);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

/* ---- keys: JWKS, kids ------------------------------------------------------------------------- */

static char *bn_b64(const mbedtls_mpi *x)
{
  uint8_t buf[1024];
  size_t n = mbedtls_mpi_size(x);
  ck_assert_int_eq(mbedtls_mpi_write_binary(x, buf, n), 0);
  return b64url(buf, n);
}

/* A JWK for a public key PEM, with kid and alg (NULL: left out). */
static char *jwk_of(const pem *pub, const char *kid, const char *alg)
{
  mbedtls_pk_context pk;
  mbedtls_pk_init(&pk);
  ck_assert_int_eq(mbedtls_pk_parse_public_key(&pk, (const uint8_t *)pub->text, pub->len + 1), 0);
  char *extra = fmt("%s%s%s%s%s%s", kid ? ",\"kid\":\"" : "", kid ? kid : "", kid ? "\"" : "",
                    alg ? ",\"alg\":\"" : "", alg ? alg : "", alg ? "\"" : "");
  char *jwk;
  if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) {
    mbedtls_mpi n, e;
    mbedtls_mpi_init(&n);
    mbedtls_mpi_init(&e);
    ck_assert_int_eq(mbedtls_rsa_export(mbedtls_pk_rsa(pk), &n, NULL, NULL, NULL, &e), 0);
    char *nb = bn_b64(&n), *eb = bn_b64(&e);
    jwk = fmt("{\"kty\":\"RSA\",\"use\":\"sig\",\"n\":\"%s\",\"e\":\"%s\"%s}", nb, eb, extra);
    free(nb);
    free(eb);
    mbedtls_mpi_free(&n);
    mbedtls_mpi_free(&e);
  } else {
    mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
    char *xb = bn_b64(&ec->Q.X), *yb = bn_b64(&ec->Q.Y);
    jwk = fmt("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"%s}", xb, yb, extra);
    free(xb);
    free(yb);
  }
  free(extra);
  mbedtls_pk_free(&pk);
  return jwk;
}

/* A JWKS of rsa (r1), rsa2 (r2), ec (e1) and the secret (s1) -- every key with a kid. */
static char *jwks_all(void)
{
  char *r1 = jwk_of(&rsa_pub, "r1", "RS256"), *r2 = jwk_of(&rsa2_pub, "r2", NULL);
  char *e1 = jwk_of(&ec_pub, "e1", NULL), *k = b64url(secret, sizeof secret);
  char *jwks = fmt("{\"keys\":[%s,%s,%s,{\"kty\":\"oct\",\"kid\":\"s1\",\"k\":\"%s\"},"
                   "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\",\"kid\":\"o1\"}]}",
                   r1, r2, e1, k);
  free(r1);
  free(r2);
  free(e1);
  free(k);
  return jwks;
}

START_TEST(jwks_keys_are_picked_by_kid)
{
  cgrpc_jwt_verifier *v = verifier();
  char *jwks = jwks_all();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_jwks(v, jwks, strlen(jwks)), 0);
  ck_assert_uint_eq(v->nkeys, 4); /* the OKP key is skipped */
  char *t;
  t = mint_good(CGRPC_JWT_RS256, rsa_priv.text, rsa_priv.len, "r1");
  ck_assert_int_eq(verify(v, t), 0);
  free(t);
  t = mint_good(CGRPC_JWT_RS512, rsa2_priv.text, rsa2_priv.len, "r2");
  ck_assert_int_eq(verify(v, t), 0);
  free(t);
  t = mint_good(CGRPC_JWT_ES256, ec_priv.text, ec_priv.len, "e1");
  ck_assert_int_eq(verify(v, t), 0);
  free(t);
  t = mint_good(CGRPC_JWT_HS512, secret, sizeof secret, "s1");
  ck_assert_int_eq(verify(v, t), 0);
  free(t);
  /* r1 is limited to RS256 by its alg */
  t = mint_good(CGRPC_JWT_RS384, rsa_priv.text, rsa_priv.len, "r1");
  ck_assert_rejects(v, t, CGRPC_JWT_ALG_NOT_ALLOWED);
  free(t);
  /* the right key under the wrong kid */
  t = mint_good(CGRPC_JWT_RS256, rsa_priv.text, rsa_priv.len, "r2");
  ck_assert_rejects(v, t, CGRPC_JWT_BAD_SIGNATURE);
  free(t);
  /* an unknown kid */
  t = mint_good(CGRPC_JWT_RS256, rsa_priv.text, rsa_priv.len, "r3");
  ck_assert_rejects(v, t, CGRPC_JWT_UNKNOWN_KID);
  free(t);
  t = mint_good(CGRPC_JWT_RS256, rsa_priv.text, rsa_priv.len, "");
  ck_assert_rejects(v, t, CGRPC_JWT_UNKNOWN_KID);
  free(t);
  /* no kid, with several keys that all have one */
  static const alg_case *const cases[] = {&alg_cases[0], &alg_cases[3], &alg_cases[6]};
  for (size_t i = 0; i < 3; i++) {
    t = mint_case(cases[i], "{\"exp\":99999999999}");
    ck_assert_rejects(v, t, CGRPC_JWT_NO_KEY);
    free(t);
  }
  free(jwks);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(jwks_files_single_jwks_and_bad_ones)
{
  cgrpc_jwt_verifier *v = verifier();
  char *jwk = jwk_of(&ec_pub, NULL, "ES256"); /* one JWK, not a set, without kid */
  ck_assert_int_eq(cgrpc_jwt_verifier_add_jwks(v, jwk, strlen(jwk)), 0);
  char *t = mint_good(CGRPC_JWT_ES256, ec_priv.text, ec_priv.len, NULL);
  ck_assert_int_eq(verify(v, t), 0);
  free(t);
  free(jwk);

  char path[] = "/tmp/cgrpc-jwks.XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  char *jwks = jwks_all();
  ck_assert_int_eq(write(fd, jwks, strlen(jwks)), (ssize_t)strlen(jwks));
  ck_assert_int_eq(write(fd, "\n", 1), 1);
  close(fd);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_jwks_file(v, path), 0);
  unlink(path);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_jwks_file(v, path), CGRPC_ERR_SYSTEM);
  ck_assert_uint_eq(v->nkeys, 5);

  char *r1 = jwk_of(&rsa_pub, "r9", NULL);
  char *r_hs = jwk_of(&rsa_pub, "rx", "HS256"); /* an RSA key said to be an HMAC one */
  char *k = b64url(secret, 16), *k64 = b64url(secret, 64);
  char *bad[] = {
      fmt("not json"),
      fmt("{\"keys\":{}}"),
      fmt("{\"keys\":[]}"),
      fmt("{\"keys\":[{\"kty\":\"OKP\"}]}"),                          /* nothing usable */
      fmt("{\"keys\":[%s,{\"kty\":\"oct\",\"k\":\"%s\"}]}", r1, k),   /* a secret too short */
      fmt("{\"keys\":[%s,{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", r1), /* weak */
      fmt("{\"keys\":[%s,{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}", r1),
      fmt("{\"keys\":[%s,%s]}", r1, r_hs),
      fmt("{\"keys\":[%s,{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":\"RS256\"}]}", r1, k64),
      fmt("{\"keys\":[%s,{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":\"HS512\"}]}", r1, k),
      fmt("{\"keys\":[%s,{\"kty\":\"oct\",\"k\":\"a+b/\"}]}", r1),
      fmt("{\"keys\":[%s,{\"kid\":\"nokty\"}]}", r1),
      fmt("{\"keys\":[%s,{\"kty\":\"oct\",\"kid\":7,\"k\":\"%s\"}]}", r1, k),
      fmt("{\"keys\":[%s,3]}", r1),
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_msg(cgrpc_jwt_verifier_add_jwks(v, bad[i], strlen(bad[i])) == CGRPC_ERR_INVALID_ARGUMENT,
                  "%s", bad[i]);
    ck_assert_uint_eq(v->nkeys, 5); /* all or nothing */
    free(bad[i]);
  }
  /* A P-256 point whose x starts with a zero byte, written without it (as PyJWT 2.6 does)
   * and in full: both load (the point is checked to lie on the curve). */
  static const char *const xs[] = {"_SwqwCmBxHd0929kKg7dPBwpFMwrlg2_dhOg6DddFA",
                                   "AP0sKsApgcR3dPdvZCoO3TwcKRTMK5YNv3YToOg3XRQ"};
  for (int i = 0; i < 2; i++) {
    char *short_x = fmt("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\","
                        "\"y\":\"td46dwakJOtFWfmvepbmtjIOjQ_plOf0z8N9htl_3Z8\"}", xs[i]);
    ck_assert_int_eq(cgrpc_jwt_verifier_add_jwks(v, short_x, strlen(short_x)), 0);
    free(short_x);
  }
  ck_assert_uint_eq(v->nkeys, 7);
  /* keys for encryption, of another curve, or an algorithm we lack are skipped */
  char *skipped = fmt("{\"keys\":[%s,{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"x\",\"e\":\"x\"},"
                      "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"x\",\"y\":\"x\"},"
                      "{\"kty\":\"RSA\",\"alg\":\"PS256\",\"n\":\"x\",\"e\":\"x\"},"
                      "{\"kty\":\"oct\",\"key_ops\":[\"encrypt\"],\"k\":\"x\"}]}",
                      r1);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_jwks(v, skipped, strlen(skipped)), 0);
  ck_assert_uint_eq(v->nkeys, 8);
  free(skipped);
  free(r1);
  free(r_hs);
  free(k);
  free(k64);
  free(jwks);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(weak_or_unsupported_keys_are_refused)
{
  cgrpc_jwt_verifier *v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, NULL, secret, 31, 0), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, NULL, secret, 32, CGRPC_JWT_HS384),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, NULL, secret, 64, CGRPC_JWT_RS256),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, rsa1024_pub.text, rsa1024_pub.len, 0),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, ec384_pub.text, ec384_pub.len, 0),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, rsa_pub.text, rsa_pub.len,
                                                     CGRPC_JWT_HS256),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, ec_pub.text, ec_pub.len,
                                                     CGRPC_JWT_RS256),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, "garbage", 7, 0),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_uint_eq(v->nkeys, 0);
  /* The signer is as strict. */
  cgrpc_jwt_signer *s = NULL;
  ck_assert_int_eq(cgrpc_jwt_signer_new(&s, CGRPC_JWT_HS256, secret, 31, NULL),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_signer_new(&s, CGRPC_JWT_HS512, secret, 48, NULL),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_signer_new(&s, CGRPC_JWT_ES256, rsa_priv.text, rsa_priv.len, NULL),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_signer_new(&s, CGRPC_JWT_RS256, ec_priv.text, ec_priv.len, NULL),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_signer_new(&s, CGRPC_JWT_RS256, rsa_pub.text, rsa_pub.len, NULL),
                   CGRPC_ERR_INVALID_ARGUMENT); /* a public key cannot sign */
  ck_assert_int_eq(cgrpc_jwt_signer_new(&s, (cgrpc_jwt_alg)0x80, secret, 64, NULL),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(s);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

START_TEST(the_signer_refuses_claims_that_are_not_an_object_and_reports_the_size_it_needs)
{
  cgrpc_jwt_signer *s = NULL;
  ck_assert_int_eq(cgrpc_jwt_signer_new(&s, CGRPC_JWT_HS256, secret, 32, NULL), 0);
  char buf[512];
  size_t len = 0;
  ck_assert_int_eq(cgrpc_jwt_sign(s, "[1]", buf, sizeof buf, &len), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_sign(s, "{\"a\":1", buf, sizeof buf, &len), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_sign(s, "{}", buf, 10, &len), CGRPC_ERR_TOO_LARGE);
  size_t need = len;
  ck_assert_int_eq(cgrpc_jwt_sign(s, "{}", buf, need - 1, &len), CGRPC_ERR_TOO_LARGE);
  ck_assert_int_eq(cgrpc_jwt_sign(s, "{}", buf, need, &len), 0);
  ck_assert_uint_eq(len + 1, need);
  /* the header is {"alg":"HS256","typ":"JWT","kid":...} with the kid escaped */
  ck_assert_int_eq(cgrpc_jwt_signer_set_kid(s, "k\"1/"), 0);
  ck_assert_int_eq(cgrpc_jwt_sign(s, "{}", buf, sizeof buf, &len), 0);
  cgrpc_allocator a;
  cgrpc_alloc_init(&a, NULL);
  uint8_t *header;
  size_t hlen;
  ck_assert_int_eq(cgrpc_jwt_b64url_decode(&a, buf, (size_t)(strchr(buf, '.') - buf), &header, &hlen), 0);
  ck_assert_str_eq((char *)header, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k\\\"1/\"}");
  free(header);
  cgrpc_jwt_verifier *v = verifier();
  cgrpc_jwt_verifier_set_require_exp(v, 0);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, "k\"1/", secret, 32, 0), 0);
  ck_assert_int_eq(verify(v, buf), 0);
  cgrpc_jwt_verifier_free(v);
  cgrpc_jwt_signer_free(s);
  cgrpc_jwt_signer_free(NULL);
}
END_TEST

START_TEST(random_mutations_of_valid_tokens_never_verify)
{
  cgrpc_jwt_verifier *v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, NULL, secret, sizeof secret, 0), 0);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, ec_pub.text, ec_pub.len, 0), 0);
  char *toks[] = {mint_good(CGRPC_JWT_HS256, secret, sizeof secret, NULL),
                  mint_good(CGRPC_JWT_ES256, ec_priv.text, ec_priv.len, NULL)};
  static const char alphabet[] = "AQgw_-.=+/ {}\"\\\x80\xff" "0";
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  int rounds = UNIT_UNDER_VALGRIND() ? 200 : 5000;
  for (int t = 0; t < 2; t++) {
    size_t n = strlen(toks[t]);
    char *m = malloc(n + 2);
    for (int i = 0; i < rounds; i++) {
      memcpy(m, toks[t], n + 1);
      size_t len = n;
      int edits = 1 + (int)(unit_rand(&rng) % 3);
      for (int e = 0; e < edits; e++) {
        size_t at = unit_rand(&rng) % len;
        switch (unit_rand(&rng) % 3) {
        case 0: /* replace */
          m[at] = alphabet[unit_rand(&rng) % (sizeof alphabet - 1)];
          break;
        case 1: /* delete */
          memmove(m + at, m + at + 1, len - at);
          len--;
          break;
        default: /* duplicate */
          if (len < n + 1) {
            memmove(m + at + 1, m + at, len - at + 1);
            len++;
          }
        }
      }
      if (len == n && memcmp(m, toks[t], n) == 0)
        continue;
      int rv = cgrpc_jwt_verify(v, m, len, NULL);
      ck_assert_msg(rv > 0, "%.*s verified (%d)", (int)len, m, rv);
    }
    free(m);
    free(toks[t]);
  }
  cgrpc_jwt_verifier_free(v);
}
END_TEST

typedef struct verify_thread {
  const cgrpc_jwt_verifier *v;
  const char *toks[3];
  int failures;
} verify_thread;

static void *verify_loop(void *ud)
{
  verify_thread *t = ud;
  for (int i = 0; i < (UNIT_UNDER_VALGRIND() ? 5 : 100); i++)
    for (int k = 0; k < 3; k++)
      t->failures += cgrpc_jwt_verify(t->v, t->toks[k], strlen(t->toks[k]), NULL) != 0;
  return NULL;
}

START_TEST(one_verifier_serves_many_threads_at_once)
{
  /* mbedTLS caches values in RSA and EC keys on first use; the verifier serialises that. */
  cgrpc_jwt_verifier *v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, rsa_pub.text, rsa_pub.len, 0), 0);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_public_key(v, NULL, ec_pub.text, ec_pub.len, 0), 0);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, NULL, secret, sizeof secret, 0), 0);
  char *toks[3] = {mint_good(CGRPC_JWT_RS256, rsa_priv.text, rsa_priv.len, NULL),
                   mint_good(CGRPC_JWT_ES256, ec_priv.text, ec_priv.len, NULL),
                   mint_good(CGRPC_JWT_HS256, secret, sizeof secret, NULL)};
  pthread_t th[4];
  verify_thread t[4];
  for (int i = 0; i < 4; i++) {
    t[i].v = v;
    t[i].failures = 0;
    for (int k = 0; k < 3; k++)
      t[i].toks[k] = toks[(k + i) % 3];
    ck_assert_int_eq(pthread_create(&th[i], NULL, verify_loop, &t[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    ck_assert_int_eq(t[i].failures, 0);
  }
  for (int k = 0; k < 3; k++)
    free(toks[k]);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

/* ---- memory ---------------------------------------------------------------------------------- */

START_TEST(out_of_memory_anywhere_is_reported_and_leaks_nothing)
{
  char *jwks = jwks_all();
  char *tok = mint_good(CGRPC_JWT_ES256, ec_priv.text, ec_priv.len, "e1");
  int done = 0;
  for (long fail = 0; !done; fail++) {
    unit_alloc u;
    unit_alloc_init(&u, fail);
    cgrpc_jwt_verifier *v = NULL;
    cgrpc_jwt_claims *c = NULL;
    int rv = cgrpc_jwt_verifier_new(&v, &u.a);
    if (rv == 0)
      rv = cgrpc_jwt_verifier_add_jwks(v, jwks, strlen(jwks));
    if (rv == 0)
      rv = cgrpc_jwt_verifier_add_audience(v, "x");
    if (rv == 0)
      rv = cgrpc_jwt_verifier_set_issuer(v, "y");
    if (rv == 0) {
      cgrpc_jwt_verifier_set_require_exp(v, 1);
      rv = cgrpc_jwt_verify(v, tok, strlen(tok), &c);
      ck_assert(rv == CGRPC_ERR_NOMEM || rv == CGRPC_JWT_BAD_ISSUER);
      done = rv == CGRPC_JWT_BAD_ISSUER;
    } else {
      ck_assert_int_eq(rv, CGRPC_ERR_NOMEM);
    }
    cgrpc_jwt_claims_free(c);
    cgrpc_jwt_verifier_free(v);
    ck_assert_int_eq(u.allocs, u.frees);
  }
  free(tok);
  free(jwks);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
  cgrpc_jwt_verifier *v = verifier();
  ck_assert_int_eq(cgrpc_jwt_verify(NULL, "a.b.c", 5, NULL), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verify(v, NULL, 0, NULL), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_new(NULL, NULL), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_secret(v, NULL, NULL, 32, 0), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_verifier_add_jwks(v, NULL, 0), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(cgrpc_jwt_alg_name(CGRPC_JWT_ES256), "ES256");
  ck_assert_ptr_null(cgrpc_jwt_alg_name((cgrpc_jwt_alg)3));
  ck_assert_str_eq(cgrpc_jwt_reason(CGRPC_JWT_EXPIRED), "token expired");
  ck_assert_str_eq(cgrpc_jwt_reason(CGRPC_ERR_NOMEM), "out of memory");
  cgrpc_jwt_verifier_free(v);
  cgrpc_jwt_verifier_free(NULL);
  /* A verifier without keys refuses everything. */
  v = verifier();
  char *t = mint_good(CGRPC_JWT_HS256, secret, sizeof secret, NULL);
  ck_assert_rejects(v, t, CGRPC_JWT_NO_KEY);
  free(t);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

/* ---- policy rules --------------------------------------------------------------------------- */

START_TEST(auth_rules_are_checked_when_added)
{
  cgrpc_jwt_verifier *v = secret_verifier();
  cgrpc_jwt_auth *a = NULL;
  ck_assert_int_eq(cgrpc_jwt_auth_new(&a, NULL, NULL), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_auth_new(&a, v, NULL), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_open(a, "grpc.health.v1.Health"), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_open(a, "grpc.health.v1.Health"), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_open(a, "/a.B/C"), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_required(a, "/a.B/D", "scope", "x  y"), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_required(a, "/a.B/D", "roles", "admin"), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_required(a, "*", NULL, NULL), 0);
  ck_assert_int_eq(cgrpc_jwt_auth_add_required(a, "/a.B/C", NULL, NULL), CGRPC_ERR_EXISTS);
  ck_assert_int_eq(cgrpc_jwt_auth_add_open(a, "/a.B/D"), CGRPC_ERR_EXISTS);
  static const char *const bad[] = {"", "/", "//", "/a.B", "/a.B/", "/a.B/C/D", "a.B/C", "a B",
                                    "a.*", "/a.B/C "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_msg(cgrpc_jwt_auth_add_open(a, bad[i]) == CGRPC_ERR_INVALID_ARGUMENT, "%s", bad[i]);
    ck_assert_msg(cgrpc_jwt_auth_add_required(a, bad[i], NULL, NULL) == CGRPC_ERR_INVALID_ARGUMENT,
                  "%s", bad[i]);
  }
  ck_assert_int_eq(cgrpc_jwt_auth_add_required(a, "/a.B/E", "scope", "  "), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_auth_add_required(a, "/a.B/E", "scope", NULL), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_jwt_auth_add_required(a, "/a.B/E", "", "x"), CGRPC_ERR_INVALID_ARGUMENT);
  cgrpc_jwt_auth_free(a);
  cgrpc_jwt_auth_free(NULL);
  cgrpc_jwt_verifier_free(v);
}
END_TEST

Suite *jwt_suite(void)
{
  Suite *s = suite_create("jwt");
  TCase *tc = tcase_create("algorithms");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, every_algorithm_verifies_and_gives_back_the_claims, 0, N_ALG_CASES);
  tcase_add_loop_test(tc, a_flipped_bit_anywhere_in_the_signature_is_a_bad_signature, 0,
                      N_ALG_CASES);
  tcase_add_test(tc, a_signature_from_another_key_of_the_same_kind_is_a_bad_signature);
  suite_add_tcase(s, tc);

  tc = tcase_create("attacks");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, alg_none_is_refused_with_or_without_a_signature);
  tcase_add_test(tc, hs256_signed_with_the_rsa_public_key_is_refused_by_an_rsa_verifier);
  tcase_add_test(tc, a_key_verifies_only_its_own_family_and_its_allowed_algorithms);
  tcase_add_test(tc, unknown_algorithms_and_crit_headers_are_refused);
  tcase_add_test(tc, every_truncation_of_a_valid_token_is_refused);
  tcase_add_test(tc, malformed_base64url_is_refused);
  tcase_add_test(tc, malformed_json_in_the_header_is_refused);
  tcase_add_test(tc, malformed_json_in_a_correctly_signed_payload_is_refused);
  tcase_add_test(tc, a_token_over_the_size_limit_is_refused_before_anything_else);
  tcase_add_test(tc, random_mutations_of_valid_tokens_never_verify);
  tcase_add_test(tc, one_verifier_serves_many_threads_at_once);
  suite_add_tcase(s, tc);

  tc = tcase_create("claims");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, exp_in_the_past_beyond_the_leeway_is_expired);
  tcase_add_test(tc, nbf_in_the_future_beyond_the_leeway_is_not_valid_yet);
  tcase_add_test(tc, the_issuer_must_be_exactly_the_configured_one);
  tcase_add_test(tc, the_audience_may_be_a_string_or_an_array_and_must_match);
  tcase_add_test(tc, claims_read_back_as_strings_numbers_arrays_and_scopes);
  suite_add_tcase(s, tc);

  tc = tcase_create("keys");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, jwks_keys_are_picked_by_kid);
  tcase_add_test(tc, jwks_files_single_jwks_and_bad_ones);
  tcase_add_test(tc, weak_or_unsupported_keys_are_refused);
  tcase_add_test(tc, the_signer_refuses_claims_that_are_not_an_object_and_reports_the_size_it_needs);
  tcase_add_test(tc, out_of_memory_anywhere_is_reported_and_leaks_nothing);
  tcase_add_test(tc, bad_arguments_are_refused);
  tcase_add_test(tc, auth_rules_are_checked_when_added);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  if (!make_keys()) {
    fprintf(stderr, "check_jwt: SKIP: cannot make keys with the openssl command\n");
    free_keys();
    return 77;
  }
  int rv = unit_run(jwt_suite());
  free_keys();
  return rv;
}
