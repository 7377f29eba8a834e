/* base64 for binary metadata: validation and padding here, the coding by mbedTLS. */
#include <string.h>

#include <mbedtls/base64.h>

#include "base/b64.h"

size_t cgrpc_b64_encode_size(size_t n)
{
  return (n + 2) / 3 * 4 + 1;
}

size_t cgrpc_b64_encode(char *dst, const uint8_t *src, size_t n)
{
  size_t olen = 0;
  if (mbedtls_base64_encode((unsigned char *)dst, cgrpc_b64_encode_size(n), &olen, src, n) != 0)
    return 0; /* cannot happen: the buffer is sized for it */
  while (olen > 0 && dst[olen - 1] == '=')
    olen--;
  dst[olen] = '\0';
  return olen;
}

size_t cgrpc_b64_decode_size(size_t n)
{
  return (n + 3) / 4 * 3;
}

static int b64_is_alphabet(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

int cgrpc_b64_decode(uint8_t *dst, size_t *out_len, const char *src, size_t n)
{
  /* Strip up to two '=' of padding, then require the alphabet only: mbedTLS
   * alone would also skip white space and accept misplaced padding. */
  size_t body = n;
  if (body > 0 && src[body - 1] == '=')
    body--;
  if (body > 0 && src[body - 1] == '=')
    body--;
  if (body % 4 == 1)
    return -1;
  if (body != n && n % 4 != 0)
    return -1; /* padding present but not to a multiple of 4 */
  for (size_t i = 0; i < body; i++)
    if (!b64_is_alphabet(src[i]))
      return -1;
  *out_len = 0;
  if (body == 0)
    return 0;

  /* mbedTLS wants whole quads: decode the full ones in place, then the tail
   * with its padding restored. */
  size_t full = body / 4 * 4, olen = 0, total = 0;
  if (full > 0) {
    if (mbedtls_base64_decode(dst, full / 4 * 3, &olen, (const unsigned char *)src, full) != 0)
      return -1;
    total = olen;
  }
  size_t rest = body - full;
  if (rest > 0) {
    unsigned char quad[4] = {'=', '=', '=', '='};
    memcpy(quad, src + full, rest);
    if (mbedtls_base64_decode(dst + total, 3, &olen, quad, 4) != 0)
      return -1;
    total += olen;
  }
  *out_len = total;
  return 0;
}
