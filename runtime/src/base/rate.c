/* Token buckets. */
#include "base/rate.h"

int cgrpc_rate_take(cgrpc_rate *r, double burst, double per_second, cgrpc_time now)
{
  if (r->last == 0) {
    r->tokens = burst;
  } else if (now > r->last) {
    r->tokens += (double)(now - r->last) * per_second / 1e9;
    if (r->tokens > burst)
      r->tokens = burst;
  }
  r->last = now;
  if (r->tokens < 1)
    return 0;
  r->tokens -= 1;
  return 1;
}
