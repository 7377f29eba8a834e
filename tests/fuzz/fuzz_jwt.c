/* Feeds tokens to the JWT verifier (HMAC, RSA, EC keys), claims to the signer and back, JWK Sets
 * and PEM keys to the key loaders, text to base64url; the first byte picks which. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ext/jwt_internal.h"

enum { MODE_VERIFY, MODE_SIGN, MODE_JWKS, MODE_PEM, MODE_B64URL, NMODES };

/* Made for this target only (openssl genpkey); the private halves signed the seeds. */
static const char rsa_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsRLvfp/VmSdpw2rFJeUO\n"
    "RB2Ss5SjpZQczdhSDP7jZf4OvQBoXe0FOzHV9801RHxImtWUKv7FR8ZpwNfisNgh\n"
    "+D8xmgpaBTVHbB9K2aEkdNvsq8ByIolamxNHGvxyp9x8rafjt6UgdT4AAPGr988M\n"
    "dT18W+3Qu/LcjjR1GWhR7OsWgy7DBRcEIB7Rx99slJFcZ7FynJ0lpdfILDXaEAZv\n"
    "8zUIjG8Jfg7ckO1qyhpy/ZL+TSuesVxJ2rlQM7Y7AhY3NyW9o4YjS8HuK05B+6cH\n"
    "8LOsOuij+xrxkYiEFRjww7L9BNHFJZkn13gAj1l4yZOpDzC6nn3AKMCfbbRJsfQp\n"
    "mwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
static const char ec_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEP1/CYjzB7D9dHEBYSUjmrnP40JRh\n"
    "At1L111hEI5zVrUkKem55EPC6ospOwj2dgbzcb2wPNz37HEZZuVhCx6aHw==\n"
    "-----END PUBLIC KEY-----\n";
static const char hs_secret[] = "fuzz-hs256-secret-of-32-bytes!!!";  /* no kid */
static const char hs_kid_secret[] =
    "fuzz-hs512-secret-with-a-kid-that-is-64-bytes-long-0123456789abc";

/* Tried against the keys of a JWK Set: {"alg":"HS256","kid":"k"}.{"exp":4102444800}.(bad) */
static const char jwks_token[] = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsifQ.eyJleHAiOjQxMDI0NDQ4MDB9.AAAA";

static cgrpc_jwt_verifier *verifier;
static cgrpc_jwt_signer *signer;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if (cgrpc_jwt_verifier_new(&verifier, NULL) != 0 ||
      cgrpc_jwt_verifier_add_secret(verifier, NULL, hs_secret, strlen(hs_secret), 0) != 0 ||
      cgrpc_jwt_verifier_add_secret(verifier, "hs", hs_kid_secret, strlen(hs_kid_secret),
                                    CGRPC_JWT_HS512) != 0 ||
      cgrpc_jwt_verifier_add_public_key(verifier, "rsa", rsa_pem, sizeof rsa_pem - 1, 0) != 0 ||
      cgrpc_jwt_verifier_add_public_key(verifier, NULL, ec_pem, sizeof ec_pem - 1, 0) != 0 ||
      cgrpc_jwt_verifier_set_issuer(verifier, "https://issuer.example") != 0 ||
      cgrpc_jwt_verifier_add_audience(verifier, "fuzz") != 0 ||
      cgrpc_jwt_verifier_add_audience(verifier, "other") != 0 ||
      cgrpc_jwt_signer_new(&signer, CGRPC_JWT_HS256, hs_secret, strlen(hs_secret), NULL) != 0) {
    fprintf(stderr, "fuzz_jwt: cannot set up the keys\n");
    abort();
  }
  return 0;
}

/* Reads a verified token's claims every way a handler can. */
static void read_claims(const cgrpc_jwt_claims *c)
{
  static const char *const names[] = {"sub", "iss", "aud", "exp", "scope", "roles", "nbf", ""};
  int64_t v;
  if (cgrpc_jwt_claims_json(c) == NULL)
    abort();
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    (void)cgrpc_jwt_claims_string(c, names[i]);
    (void)cgrpc_jwt_claims_int(c, names[i], &v);
    size_t n = cgrpc_jwt_claims_array_size(c, names[i]);
    for (size_t j = 0; j <= n && j < 8; j++)
      (void)cgrpc_jwt_claims_array_string(c, names[i], j);
    (void)cgrpc_jwt_claims_has(c, names[i], "admin");
    (void)cgrpc_jwt_claims_has(c, names[i], "fuzz");
  }
}

static void verify(const cgrpc_jwt_verifier *v, const char *token, size_t len)
{
  cgrpc_jwt_claims *c = NULL;
  int rv = cgrpc_jwt_verify(v, token, len, &c);
  if ((rv == 0) != (c != NULL) || cgrpc_jwt_reason(rv) == NULL)
    abort();
  if (c != NULL)
    read_claims(c);
  cgrpc_jwt_claims_free(c);
}

/* A token we sign passes every check up to the claims, and its payload is the text given. */
static void sign_and_verify(const char *claims)
{
  char token[16384];
  size_t len;
  if (cgrpc_jwt_sign(signer, claims, token, sizeof token, &len) != 0)
    return; /* not a JSON object, or too long */
  cgrpc_jwt_claims *c = NULL;
  int rv = cgrpc_jwt_verify(verifier, token, len, &c);
  if (rv == CGRPC_JWT_TOO_LARGE)
    return;
  if (rv < 0 || rv == CGRPC_JWT_MALFORMED || rv == CGRPC_JWT_BAD_HEADER ||
      rv == CGRPC_JWT_ALG_NOT_ALLOWED || rv == CGRPC_JWT_UNKNOWN_KID || rv == CGRPC_JWT_NO_KEY ||
      rv == CGRPC_JWT_BAD_SIGNATURE) {
    fprintf(stderr, "jwt: a token we signed was refused: %s\n%s\n", cgrpc_jwt_reason(rv), claims);
    abort();
  }
  if (c != NULL) {
    if (strcmp(cgrpc_jwt_claims_json(c), claims) != 0) {
      fprintf(stderr, "jwt: the verified payload differs from what was signed\n");
      abort();
    }
    read_claims(c);
  }
  cgrpc_jwt_claims_free(c);
}

/* A valid base64url text decodes, and encodes back to itself; an invalid one does not decode. */
static void b64url(const char *s, size_t n)
{
  cgrpc_allocator alloc;
  cgrpc_alloc_init(&alloc, NULL);
  uint8_t *bytes;
  size_t len;
  int valid = cgrpc_jwt_b64url_valid(s, n);
  int rv = cgrpc_jwt_b64url_decode(&alloc, s, n, &bytes, &len);
  if (valid != (rv == 0) || (rv != 0 && rv != CGRPC_ERR_PROTO))
    abort();
  if (rv != 0)
    return;
  char *back = malloc(cgrpc_jwt_b64url_size(len));
  if (back == NULL)
    abort();
  if (cgrpc_jwt_b64url_encode(back, bytes, len) != n || memcmp(back, s, n) != 0) {
    fprintf(stderr, "jwt: base64url \"%.*s\" does not encode back to itself\n", (int)n, s);
    abort();
  }
  free(back);
  cgrpc_free(&alloc, bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  int mode = data[0] % NMODES;
  /* The rest, NUL-terminated for the functions that take C strings. */
  char *text = malloc(size);
  if (text == NULL)
    abort();
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  size_t len = size - 1;
  cgrpc_jwt_verifier *v = NULL;
  switch (mode) {
  case MODE_VERIFY:
    verify(verifier, text, len);
    break;
  case MODE_SIGN:
    sign_and_verify(text);
    break;
  case MODE_JWKS:
    if (cgrpc_jwt_verifier_new(&v, NULL) != 0)
      abort();
    if (cgrpc_jwt_verifier_add_jwks(v, text, len) == 0) /* then pick keys for a token */
      verify(v, jwks_token, sizeof jwks_token - 1);
    break;
  case MODE_PEM:
    if (cgrpc_jwt_verifier_new(&v, NULL) != 0)
      abort();
    (void)cgrpc_jwt_verifier_add_public_key(v, len > 0 && text[0] == 'k' ? "k" : NULL, text, len,
                                            0);
    break;
  case MODE_B64URL:
    b64url(text, len);
    break;
  }
  cgrpc_jwt_verifier_free(v);
  free(text);
  return 0;
}
