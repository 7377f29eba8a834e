/* Internal: the retry state of one client call (gRFC A6) -- how many attempts it made, whether
 * it has committed, the client stream's messages kept for another attempt -- and the decision
 * after each attempt: another one after a delay, or the outcome is final.  Loop thread only. */
#ifndef CGRPC_RETRY_H
#define CGRPC_RETRY_H

#include <cgrpc/method.h>

#include "base/bufq.h"
#include "base/queue.h"
#include "client/throttle.h"

typedef struct cgrpc_retry {
  cgrpc_retry_policy policy; /* sanitised; max_attempts 0: no retries */
  int attempts;    /* attempts started that count against max_attempts */
  int transparent; /* attempts sent again because the server never saw them */
  int backoff_n;   /* retries since the start or the last pushback */
  int committed;   /* response headers or a message arrived: no more attempts (A6) */
  /* A client stream's messages sent so far, kept for another attempt until the call commits
   * (at most CGRPC_RETRY_BUFFER_LIMIT bytes); lost once one could not be kept, which makes
   * the call unretriable. */
  cgrpc_queue replay;
  size_t replay_bytes;
  int replay_lost;
} cgrpc_retry;

/* policy is copied and sanitised. */
void cgrpc_retry_init(cgrpc_retry *r, const cgrpc_retry_policy *policy);
/* Frees the kept messages. */
void cgrpc_retry_clear(cgrpc_retry *r, const cgrpc_allocator *alloc);

/* A network stage starts again (an interceptor proceeds again): not committed, nothing lost;
 * the attempts made still count. */
void cgrpc_retry_restart(cgrpc_retry *r);
/* The call has committed: no more attempts, nothing to keep. */
void cgrpc_retry_commit(cgrpc_retry *r, const cgrpc_allocator *alloc);

/* An attempt starts: returns its grpc-previous-rpc-attempts. */
int cgrpc_retry_attempt_started(cgrpc_retry *r);

/* After an attempt that ended with code (refused: the server never saw it; pushback_ms: the
 * server's grpc-retry-pushback-ms or CGRPC_PUSHBACK_*), with replay messages or a request
 * that can be sent again (can_resend): the delay before another attempt in nanoseconds, or
 * -1 when the outcome is final.  Counts the outcome against the channel's throttle. */
int64_t cgrpc_retry_next(cgrpc_retry *r, cgrpc_code code, int refused, int64_t pushback_ms,
                         int can_resend, cgrpc_throttle *throttle, uint64_t *rng);

/* A streamed message went out (or was dropped by an attempt that ended): keep it for another
 * attempt while the call may still retry, else free it. */
void cgrpc_retry_keep(cgrpc_retry *r, const cgrpc_allocator *alloc, cgrpc_buf *b);
/* Another attempt starts: the kept messages go into its queue (they come back through keep). */
void cgrpc_retry_resend(cgrpc_retry *r, cgrpc_bufq *into);

#endif
