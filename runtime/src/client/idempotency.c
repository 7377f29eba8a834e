/* Idempotency keys: one per logical call, the same on every attempt. */
#include <cgrpc/common.h>

#include "base/rand.h"
#include "client/idempotency.h"

int cgrpc_idempotency_key_new(char out[CGRPC_IDEMPOTENCY_KEY_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  uint8_t bits[CGRPC_IDEMPOTENCY_KEY_LEN / 2];
  int rv = cgrpc_rand_bytes(bits, sizeof bits);
  if (rv != 0)
    return rv;
  for (size_t i = 0; i < sizeof bits; i++) {
    out[2 * i] = hex[bits[i] >> 4];
    out[2 * i + 1] = hex[bits[i] & 15];
  }
  out[CGRPC_IDEMPOTENCY_KEY_LEN] = '\0';
  return 0;
}
