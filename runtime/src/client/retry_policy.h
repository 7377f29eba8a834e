/* Internal: the arithmetic of retry policies (gRFC A6) -- backoff with jitter, server
 * pushback, what a usable policy is.  Pure: client/retry.c drives it. */
#ifndef CGRPC_RETRY_POLICY_H
#define CGRPC_RETRY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <cgrpc/method.h>

/* No delay between attempts is longer than this (30 days): larger settings and pushbacks
 * are cut to it, which keeps the arithmetic far from overflow. */
#define CGRPC_RETRY_MAX_DELAY_MS (30.0 * 24 * 3600 * 1000)

/* The delay before retry n (n >= 1: the first retry is the second attempt), in
 * nanoseconds: d = min(initial * multiplier^(n-1), max), drawn from [d * (1 - jitter), d]
 * with u in [0, 1) (0 gives d). */
int64_t cgrpc_retry_policy_backoff_ns(const cgrpc_retry_policy *p, int n, double u);

/* grpc-retry-pushback-ms, as A6 reads it. */
#define CGRPC_PUSHBACK_NONE (-2)     /* no such trailer: back off as the policy says */
#define CGRPC_PUSHBACK_STOP (-1)     /* negative or not a number: do not retry */
/* Returns the delay in ms (>= 0) or CGRPC_PUSHBACK_STOP. */
int64_t cgrpc_retry_policy_parse_pushback(const char *value, size_t len);

/* A retry policy as the runtime may use it: max_attempts capped at 5 (A6), and
 * policies that could never retry (no codes, max_attempts < 2, bad backoff) turned
 * off (max_attempts 0). */
void cgrpc_retry_policy_sanitize(cgrpc_retry_policy *p);

/* Bytes of a client stream's messages kept for a retry until the call commits (grpc's
 * per-RPC retry buffer has the same default); a stream that sends more commits. */
#define CGRPC_RETRY_BUFFER_LIMIT (256 * 1024)

#endif
