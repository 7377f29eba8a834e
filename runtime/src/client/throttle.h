/* Internal: retry throttling (gRFC A6), per channel.  Pure: the channel's I/O thread drives it. */
#ifndef CGRPC_THROTTLE_H
#define CGRPC_THROTTLE_H

#include <stdint.h>

/* Retry throttling per channel (A6): tokens start at max_tokens; a failed call with a
 * retryable status takes one, an OK call gives token_ratio back; no retries while
 * tokens <= max_tokens / 2.  Kept in thousandths, as A6 suggests. */
typedef struct cgrpc_throttle {
  int64_t max_milli;   /* 0: no throttling */
  int64_t ratio_milli;
  int64_t tokens_milli;
} cgrpc_throttle;

/* max_tokens in 1..1000 and token_ratio > 0 (3 decimals kept), or 0 to switch off. */
void cgrpc_throttle_init(cgrpc_throttle *t, int max_tokens, double token_ratio);
void cgrpc_throttle_success(cgrpc_throttle *t);
/* Counts a failure; returns whether a retry is still allowed. */
int cgrpc_throttle_failure(cgrpc_throttle *t);

#endif
