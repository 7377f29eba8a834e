/* Internal: the arithmetic of retries (gRFC A6) -- backoff with jitter, server pushback,
 * retry throttling -- and idempotency keys.  No I/O, no locks: client_retry.c drives it
 * on the channel's I/O thread. */
#ifndef CGRPC_RETRY_H
#define CGRPC_RETRY_H

#include <stddef.h>
#include <stdint.h>

#include <cgrpc/method.h>

/* No delay between attempts is longer than this (30 days): larger settings and pushbacks
 * are cut to it, which keeps the arithmetic far from overflow. */
#define CGRPC_RETRY_MAX_DELAY_MS (30.0 * 24 * 3600 * 1000)

/* The delay before retry n (n >= 1: the first retry is the second attempt), in
 * nanoseconds: d = min(initial * multiplier^(n-1), max), drawn from [d * (1 - jitter), d]
 * with u in [0, 1) (0 gives d). */
int64_t cgrpc_retry_backoff_ns(const cgrpc_retry_policy *p, int n, double u);

/* grpc-retry-pushback-ms, as A6 reads it. */
#define CGRPC_PUSHBACK_NONE (-2)     /* no such trailer: back off as the policy says */
#define CGRPC_PUSHBACK_STOP (-1)     /* negative or not a number: do not retry */
/* Returns the delay in ms (>= 0) or CGRPC_PUSHBACK_STOP. */
int64_t cgrpc_retry_parse_pushback(const char *value, size_t len);

/* A retry policy as the runtime may use it: max_attempts capped at 5 (A6), and
 * policies that could never retry (no codes, max_attempts < 2, bad backoff) turned
 * off (max_attempts 0). */
void cgrpc_retry_policy_sanitize(cgrpc_retry_policy *p);

/* Retry throttling per channel (A6): tokens start at max_tokens; a failed call with a
 * retryable status takes one, an OK call gives token_ratio back; no retries while
 * tokens <= max_tokens / 2.  Kept in thousandths, as A6 suggests. */
typedef struct cgrpc_retry_throttle {
  int64_t max_milli;   /* 0: no throttling */
  int64_t ratio_milli;
  int64_t tokens_milli;
} cgrpc_retry_throttle;

/* max_tokens in 1..1000 and token_ratio > 0 (3 decimals kept), or 0 to switch off. */
void cgrpc_retry_throttle_init(cgrpc_retry_throttle *t, int max_tokens, double token_ratio);
void cgrpc_retry_throttle_success(cgrpc_retry_throttle *t);
/* Counts a failure; returns whether a retry is still allowed. */
int cgrpc_retry_throttle_failure(cgrpc_retry_throttle *t);

/* A small fast PRNG for jitter (xorshift64*): not for secrets. */
double cgrpc_retry_uniform(uint64_t *state);
/* A seed from the kernel's random source (never 0). */
uint64_t cgrpc_retry_seed(void);

/* Bytes of a client stream's messages kept for a retry until the call commits (grpc's
 * per-RPC retry buffer has the same default); a stream that sends more commits. */
#define CGRPC_RETRY_BUFFER_LIMIT (256 * 1024)

/* A fresh idempotency key: 128 bits from the kernel's random source (getrandom),
 * as 32 lowercase hex digits.  Returns 0 or CGRPC_ERR_SYSTEM. */
#define CGRPC_IDEMPOTENCY_KEY_LEN 32
int cgrpc_idempotency_key_new(char out[CGRPC_IDEMPOTENCY_KEY_LEN + 1]);

#endif
