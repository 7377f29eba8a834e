/* W3C traceparent: parse strictly, write version 00. */
#include <string.h>

#include "ext/traceparent.h"

static int hex_digit(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* n bytes from 2n lower-case hex digits; returns 1 when they all are. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return 0;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 1;
}

static int all_zero(const uint8_t *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0)
      return 0;
  return 1;
}

int cgrpc_traceparent_parse(const char *v, size_t len, cgrpc_traceparent *out)
{
  uint8_t version;
  if (len < CGRPC_TRACEPARENT_LEN || !unhex(v, &version, 1) || version == 0xff || v[2] != '-' ||
      v[35] != '-' || v[52] != '-')
    return 0;
  if (version == 0 ? len != CGRPC_TRACEPARENT_LEN
                   : len > CGRPC_TRACEPARENT_LEN && v[CGRPC_TRACEPARENT_LEN] != '-')
    return 0;
  cgrpc_traceparent tp;
  if (!unhex(v + 3, tp.trace_id, 16) || !unhex(v + 36, tp.parent_id, 8) ||
      !unhex(v + 53, &tp.flags, 1) || all_zero(tp.trace_id, 16) || all_zero(tp.parent_id, 8))
    return 0;
  *out = tp;
  return 1;
}

void cgrpc_hex(const uint8_t *bytes, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  out[2 * n] = '\0';
}

void cgrpc_traceparent_format(const cgrpc_traceparent *tp, char *buf)
{
  memcpy(buf, "00-", 3);
  cgrpc_hex(tp->trace_id, 16, buf + 3);
  buf[35] = '-';
  cgrpc_hex(tp->parent_id, 8, buf + 36);
  buf[52] = '-';
  cgrpc_hex(&tp->flags, 1, buf + 53);
}
