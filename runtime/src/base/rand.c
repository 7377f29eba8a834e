/* Randomness: xorshift64* for jitter, getrandom for seeds and keys. */
#include <errno.h>
#include <sys/random.h>

#include <cgrpc/common.h>

#include "base/rand.h"

double cgrpc_rand_uniform(uint64_t *state)
{
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0; /* / 2^53 */
}

int cgrpc_rand_bytes(void *buf, size_t len)
{
  uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return CGRPC_ERR_SYSTEM;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

uint64_t cgrpc_rand_seed(void)
{
  uint64_t s = 0;
  if (cgrpc_rand_bytes(&s, sizeof s) != 0 || s == 0)
    s = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)&s;
  return s;
}
