/* Feeds grpc-timeout values to the parser, the same bytes as nanoseconds to the encoder and back
 * (aborts past the unit's precision), and grpc-retry-pushback-ms values to theirs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/retry_policy.h"
#include "wire/timeout.h"

static const struct {
  char unit;
  int64_t ns;
} units[] = {
    {'n', 1},
    {'u', 1000},
    {'m', 1000000},
    {'S', 1000000000},
    {'M', 60 * (int64_t)1000000000},
    {'H', 3600 * (int64_t)1000000000},
};
#define NUNITS (sizeof units / sizeof units[0])
#define MAX_VALUE 99999999

static void fail(const char *what, int64_t ns, const char *text, size_t len)
{
  fprintf(stderr, "grpc-timeout: %s (%lld ns, \"%.*s\")\n", what, (long long)ns, (int)len, text);
  abort();
}

/* Encodes ns and parses it again: never shorter, shorter than one more of the unit used, in
 * the finest unit whose value fits 8 digits. */
static void round_trip(int64_t ns)
{
  char text[CGRPC_TIMEOUT_MAX_LEN];
  size_t len = cgrpc_timeout_encode(text, ns);
  int64_t want = ns < 1 ? 1 : ns, back;
  if (len < 2 || len > CGRPC_TIMEOUT_MAX_LEN - 1 || strlen(text) != len)
    fail("bad length", ns, text, len);
  if (cgrpc_timeout_parse(text, len, &back) != 0)
    fail("the encoder's output does not parse", ns, text, len);
  size_t u = 0;
  while (u < NUNITS && units[u].unit != text[len - 1])
    u++;
  if (u == NUNITS)
    fail("unknown unit", ns, text, len);
  if (back < want || back - want >= units[u].ns)
    fail("round trip off by more than the unit", ns, text, len);
  if (u > 0 && want / units[u - 1].ns + (want % units[u - 1].ns != 0) <= MAX_VALUE)
    fail("a finer unit would have fit", ns, text, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  int64_t ns;
  if (cgrpc_timeout_parse(text, size, &ns) == 0) {
    if (ns < 0 || size < 2 || size > 9)
      fail("parsed to a negative value or from a bad length", ns, text, size);
    /* Whatever parses re-encodes to the same span or just above it. */
    round_trip(ns);
  }

  uint64_t raw = 0;
  for (size_t i = 0; i < size && i < 8; i++)
    raw = raw << 8 | data[i];
  round_trip((int64_t)raw);
  round_trip((int64_t)(raw >> 1)); /* the non-negative half, where deadlines live */

  int64_t ms = cgrpc_retry_policy_parse_pushback(text, size);
  if (ms != CGRPC_PUSHBACK_STOP && (ms < 0 || size == 0 || size > 10))
    fail("pushback parsed to a negative value or from a bad length", ms, text, size);
  return 0;
}
