/* The arithmetic of retries: backoff, pushback, throttling; idempotency keys. */
#include <errno.h>
#include <sys/random.h>

#include <cgrpc/common.h>

#include "retry.h"

#define A6_MAX_ATTEMPTS 5
#define NS_PER_MS 1000000.0

int64_t cgrpc_retry_backoff_ns(const cgrpc_retry_policy *p, int n, double u)
{
  double d = (double)p->initial_backoff_ms;
  double max = (double)p->max_backoff_ms;
  for (int i = 1; i < n && d < max; i++)
    d *= p->backoff_multiplier;
  if (d > max)
    d = max;
  double jitter = p->jitter < 0 ? 0 : p->jitter > 1 ? 1 : p->jitter;
  d *= 1.0 - jitter * u;
  if (!(d < CGRPC_RETRY_MAX_DELAY_MS)) /* also NaN */
    d = CGRPC_RETRY_MAX_DELAY_MS;
  return (int64_t)(d * NS_PER_MS);
}

int64_t cgrpc_retry_parse_pushback(const char *value, size_t len)
{
  /* A6: a non-negative decimal integer of milliseconds; anything else, negative
   * numbers included, means "do not retry". */
  if (len == 0 || len > 10)
    return CGRPC_PUSHBACK_STOP;
  int64_t ms = 0;
  for (size_t i = 0; i < len; i++) {
    if (value[i] < '0' || value[i] > '9')
      return CGRPC_PUSHBACK_STOP;
    ms = ms * 10 + (value[i] - '0');
  }
  return ms;
}

void cgrpc_retry_policy_sanitize(cgrpc_retry_policy *p)
{
  p->retryable_codes &= ~1u; /* OK is never a failure */
  if (p->max_attempts > A6_MAX_ATTEMPTS)
    p->max_attempts = A6_MAX_ATTEMPTS;
  if (p->max_attempts < 2 || p->retryable_codes == 0 || p->initial_backoff_ms <= 0 ||
      p->max_backoff_ms <= 0 || !(p->backoff_multiplier > 0.0)) /* A6: > 0 */
    p->max_attempts = 0;
  if (p->max_backoff_ms < p->initial_backoff_ms)
    p->max_backoff_ms = p->initial_backoff_ms;
  if (!(p->jitter >= 0.0))
    p->jitter = 0.0;
  else if (p->jitter > 1.0)
    p->jitter = 1.0;
}

void cgrpc_retry_throttle_init(cgrpc_retry_throttle *t, int max_tokens, double token_ratio)
{
  t->max_milli = 0;
  t->ratio_milli = 0;
  t->tokens_milli = 0;
  if (max_tokens <= 0 || !(token_ratio > 0))
    return;
  if (max_tokens > 1000)
    max_tokens = 1000;
  t->max_milli = (int64_t)max_tokens * 1000;
  if (token_ratio > 1000.0)
    token_ratio = 1000.0;
  t->ratio_milli = (int64_t)(token_ratio * 1000.0 + 0.5);
  if (t->ratio_milli < 1)
    t->ratio_milli = 1;
  t->tokens_milli = t->max_milli;
}

void cgrpc_retry_throttle_success(cgrpc_retry_throttle *t)
{
  if (t->max_milli == 0)
    return;
  t->tokens_milli += t->ratio_milli;
  if (t->tokens_milli > t->max_milli)
    t->tokens_milli = t->max_milli;
}

int cgrpc_retry_throttle_failure(cgrpc_retry_throttle *t)
{
  if (t->max_milli == 0)
    return 1;
  t->tokens_milli -= 1000;
  if (t->tokens_milli < 0)
    t->tokens_milli = 0;
  return t->tokens_milli > t->max_milli / 2;
}

double cgrpc_retry_uniform(uint64_t *state)
{
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0; /* / 2^53 */
}

static int fill_random(void *buf, size_t len)
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

uint64_t cgrpc_retry_seed(void)
{
  uint64_t s = 0;
  if (fill_random(&s, sizeof s) != 0 || s == 0)
    s = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)&s;
  return s;
}

int cgrpc_idempotency_key_new(char out[CGRPC_IDEMPOTENCY_KEY_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  uint8_t bits[CGRPC_IDEMPOTENCY_KEY_LEN / 2];
  int rv = fill_random(bits, sizeof bits);
  if (rv != 0)
    return rv;
  for (size_t i = 0; i < sizeof bits; i++) {
    out[2 * i] = hex[bits[i] >> 4];
    out[2 * i + 1] = hex[bits[i] & 15];
  }
  out[CGRPC_IDEMPOTENCY_KEY_LEN] = '\0';
  return 0;
}
