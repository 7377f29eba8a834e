/* The JWS compact form's building blocks: algorithm names, base64url, strict JSON objects. */
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "ext/jwt_internal.h"

static const struct {
  cgrpc_jwt_alg alg;
  const char *name;
  mbedtls_md_type_t md;
} codec_algs[] = {
    {CGRPC_JWT_HS256, "HS256", MBEDTLS_MD_SHA256}, {CGRPC_JWT_HS384, "HS384", MBEDTLS_MD_SHA384},
    {CGRPC_JWT_HS512, "HS512", MBEDTLS_MD_SHA512}, {CGRPC_JWT_RS256, "RS256", MBEDTLS_MD_SHA256},
    {CGRPC_JWT_RS384, "RS384", MBEDTLS_MD_SHA384}, {CGRPC_JWT_RS512, "RS512", MBEDTLS_MD_SHA512},
    {CGRPC_JWT_ES256, "ES256", MBEDTLS_MD_SHA256},
};
#define CODEC_NALGS (sizeof codec_algs / sizeof codec_algs[0])

const char *cgrpc_jwt_alg_name(cgrpc_jwt_alg alg)
{
  for (size_t i = 0; i < CODEC_NALGS; i++)
    if (codec_algs[i].alg == alg)
      return codec_algs[i].name;
  return NULL;
}

cgrpc_jwt_alg cgrpc_jwt_alg_parse(const char *name, size_t len)
{
  /* Exact and case-sensitive (RFC 7515 4.1.1): "none", "None", "hs256"... are unknown. */
  for (size_t i = 0; i < CODEC_NALGS; i++)
    if (strlen(codec_algs[i].name) == len && memcmp(codec_algs[i].name, name, len) == 0)
      return codec_algs[i].alg;
  return (cgrpc_jwt_alg)0;
}

mbedtls_md_type_t cgrpc_jwt_alg_md(cgrpc_jwt_alg alg)
{
  for (size_t i = 0; i < CODEC_NALGS; i++)
    if (codec_algs[i].alg == alg)
      return codec_algs[i].md;
  return MBEDTLS_MD_NONE;
}

unsigned cgrpc_jwt_alg_family(cgrpc_jwt_alg alg)
{
  if (alg & JWT_HS_ALGS)
    return JWT_HS_ALGS;
  if (alg & JWT_RS_ALGS)
    return JWT_RS_ALGS;
  if (alg & JWT_ES_ALGS)
    return JWT_ES_ALGS;
  return 0;
}

/* ---- base64url ------------------------------------------------------------------------------ */

static int codec_b64url_value(char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

int cgrpc_jwt_b64url_valid(const char *s, size_t n)
{
  if (n % 4 == 1)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (codec_b64url_value(s[i]) < 0)
      return 0; /* padding and the standard alphabet's + / included */
  /* The last character of a partial quad carries bits past the data: they must be zero,
   * or one token would have several spellings. */
  if (n % 4 == 2)
    return (codec_b64url_value(s[n - 1]) & 0x0f) == 0;
  if (n % 4 == 3)
    return (codec_b64url_value(s[n - 1]) & 0x03) == 0;
  return 1;
}

int cgrpc_jwt_b64url_decode(const cgrpc_allocator *alloc, const char *s, size_t n, uint8_t **out,
                            size_t *out_len)
{
  *out = NULL;
  *out_len = 0;
  if (!cgrpc_jwt_b64url_valid(s, n))
    return CGRPC_ERR_PROTO;
  char *std = cgrpc_malloc(alloc, n + 1);
  uint8_t *bytes = cgrpc_malloc(alloc, cgrpc_b64_decode_size(n) + 1);
  if (std == NULL || bytes == NULL) {
    cgrpc_free(alloc, std);
    cgrpc_free(alloc, bytes);
    return CGRPC_ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++)
    std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
  size_t len = 0;
  int rv = cgrpc_b64_decode(bytes, &len, std, n);
  cgrpc_free(alloc, std);
  if (rv != 0) {
    cgrpc_free(alloc, bytes);
    return CGRPC_ERR_PROTO;
  }
  bytes[len] = '\0';
  *out = bytes;
  *out_len = len;
  return 0;
}

size_t cgrpc_jwt_b64url_size(size_t n)
{
  return cgrpc_b64_encode_size(n);
}

size_t cgrpc_jwt_b64url_encode(char *dst, const uint8_t *src, size_t n)
{
  size_t len = cgrpc_b64_encode(dst, src, n);
  for (size_t i = 0; i < len; i++)
    dst[i] = dst[i] == '+' ? '-' : dst[i] == '/' ? '_' : dst[i];
  return len;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

json_object *cgrpc_jwt_json_object(const char *text, size_t n)
{
  if (memchr(text, '\0', n) != NULL || n > INT32_MAX)
    return NULL;
  json_tokener *tok = json_tokener_new();
  if (tok == NULL)
    return NULL;
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object *o = json_tokener_parse_ex(tok, text, (int)n);
  size_t end = json_tokener_get_parse_end(tok);
  int ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
           json_object_is_type(o, json_type_object);
  json_tokener_free(tok);
  while (ok && end < n && strchr(" \t\r\n", text[end]) != NULL)
    end++;
  if (!ok || end != n) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

const char *cgrpc_jwt_json_string(json_object *o, const char *name, size_t *len)
{
  json_object *m = NULL;
  if (!json_object_object_get_ex(o, name, &m) || !json_object_is_type(m, json_type_string))
    return NULL;
  *len = (size_t)json_object_get_string_len(m);
  return json_object_get_string(m);
}

int cgrpc_jwt_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < n; i++)
    diff |= a[i] ^ b[i];
  return diff == 0;
}
