/* Internal: a token bucket, for limits on what a peer may do per second. */
#ifndef CGRPC_RATE_H
#define CGRPC_RATE_H

#include <cgrpc/common.h>

/* At most burst tokens, refilled at per_second; a zeroed bucket starts full.  Not locked: one
 * thread owns it. */
typedef struct cgrpc_rate {
  double tokens;
  cgrpc_time last; /* 0: never used */
} cgrpc_rate;

/* Takes one token at now.  Returns 1, or 0 when the bucket is empty (the rate is exceeded). */
int cgrpc_rate_take(cgrpc_rate *r, double burst, double per_second, cgrpc_time now);

#endif
