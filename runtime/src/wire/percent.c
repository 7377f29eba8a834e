/* grpc-message travels percent-encoded: UTF-8 in, printable ASCII on the wire. */
#include "wire/percent.h"

static int percent_is_plain(unsigned char c)
{
  return c >= 0x20 && c <= 0x7e && c != '%';
}

size_t cgrpc_percent_encoded_len(const char *s, size_t n)
{
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += percent_is_plain((unsigned char)s[i]) ? 1 : 3;
  return len;
}

size_t cgrpc_percent_encode(char *dst, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (percent_is_plain(c)) {
      dst[j++] = (char)c;
    } else {
      dst[j++] = '%';
      dst[j++] = hex[c >> 4];
      dst[j++] = hex[c & 15];
    }
  }
  dst[j] = '\0';
  return j;
}

static int percent_hex(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

size_t cgrpc_percent_decode(char *dst, const char *s, size_t n)
{
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n) {
      int hi = percent_hex(s[i + 1]), lo = percent_hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        dst[j++] = (char)(hi << 4 | lo);
        i += 2;
        continue;
      }
    }
    dst[j++] = s[i];
  }
  dst[j] = '\0';
  return j;
}
