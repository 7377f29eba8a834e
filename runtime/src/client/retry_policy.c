/* The arithmetic of retry policies (gRFC A6): backoff with jitter, pushback, sanitising. */
#include <cgrpc/common.h>

#include "client/retry_policy.h"

#define A6_MAX_ATTEMPTS 5
#define NS_PER_MS 1000000.0

int64_t cgrpc_retry_policy_backoff_ns(const cgrpc_retry_policy *p, int n, double u)
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

int64_t cgrpc_retry_policy_parse_pushback(const char *value, size_t len)
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
