/* grpc-timeout: relative deadlines on the wire ("100m" is 100 milliseconds). */
#include <stdio.h>

#include "wire/timeout.h"

#define TIMEOUT_MAX_VALUE 99999999

static const struct {
  char unit;
  int64_t ns;
} timeout_units[] = {
    {'n', 1},
    {'u', 1000},
    {'m', 1000000},
    {'S', 1000000000},
    {'M', 60 * (int64_t)1000000000},
    {'H', 3600 * (int64_t)1000000000},
};

#define TIMEOUT_NUNITS (sizeof timeout_units / sizeof timeout_units[0])

int cgrpc_timeout_parse(const char *s, size_t n, int64_t *ns_out)
{
  if (n < 2 || n > 9)
    return -1;
  int64_t v = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  for (size_t u = 0; u < TIMEOUT_NUNITS; u++) {
    if (timeout_units[u].unit == s[n - 1]) {
      /* 99999999H is 3.6e20 ns: saturate rather than wrap. */
      int64_t unit = timeout_units[u].ns;
      *ns_out = v > INT64_MAX / unit ? INT64_MAX : v * unit;
      return 0;
    }
  }
  return -1;
}

size_t cgrpc_timeout_encode(char out[CGRPC_TIMEOUT_MAX_LEN], int64_t ns)
{
  if (ns < 1)
    ns = 1;
  for (size_t u = 0; u < TIMEOUT_NUNITS; u++) {
    int64_t unit = timeout_units[u].ns;
    int64_t v = ns / unit + (ns % unit != 0);
    if (v <= TIMEOUT_MAX_VALUE || u == TIMEOUT_NUNITS - 1) {
      if (v > TIMEOUT_MAX_VALUE)
        v = TIMEOUT_MAX_VALUE;
      return (size_t)snprintf(out, CGRPC_TIMEOUT_MAX_LEN, "%lld%c", (long long)v,
                              timeout_units[u].unit);
    }
  }
  return 0; /* not reached */
}
