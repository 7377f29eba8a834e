/* A client call's retries (gRFC A6): attempts, commitment, the replay buffer, and whether and
 * when another attempt goes. */
#include "base/alloc.h"
#include "base/log.h"
#include "base/rand.h"
#include "client/retry.h"
#include "client/retry_policy.h"

/* Refused streams (REFUSED_STREAM, above a GOAWAY's last stream id) never reached the
 * server's application: they go again at once, whatever the policy, this many times (A6's
 * once; later refusals count as failed attempts of the policy's). */
#define RETRY_MAX_TRANSPARENT 1

void cgrpc_retry_init(cgrpc_retry *r, const cgrpc_retry_policy *policy)
{
  r->policy = *policy;
  cgrpc_retry_policy_sanitize(&r->policy);
  r->attempts = 0;
  r->transparent = 0;
  r->backoff_n = 0;
  r->committed = 0;
  cgrpc_queue_init(&r->replay);
  r->replay_bytes = 0;
  r->replay_lost = 0;
}

void cgrpc_retry_restart(cgrpc_retry *r)
{
  r->committed = 0;
  r->replay_lost = 0;
  r->backoff_n = 0;
}

static void retry_free_replay(cgrpc_retry *r, const cgrpc_allocator *alloc)
{
  for (cgrpc_qnode *n; (n = cgrpc_queue_pop(&r->replay)) != NULL;)
    cgrpc_free(alloc, cgrpc_queue_entry(n, cgrpc_buf, node));
  r->replay_bytes = 0;
}

void cgrpc_retry_clear(cgrpc_retry *r, const cgrpc_allocator *alloc)
{
  retry_free_replay(r, alloc);
}

void cgrpc_retry_commit(cgrpc_retry *r, const cgrpc_allocator *alloc)
{
  r->committed = 1;
  retry_free_replay(r, alloc);
}

int cgrpc_retry_attempt_started(cgrpc_retry *r)
{
  return r->attempts++;
}

int64_t cgrpc_retry_next(cgrpc_retry *r, cgrpc_code code, int refused, int64_t pushback_ms,
                         int can_resend, cgrpc_throttle *throttle, uint64_t *rng)
{
  if (!can_resend)
    return -1;
  if (refused && !r->committed && r->transparent < RETRY_MAX_TRANSPARENT) {
    r->transparent++;
    r->attempts--; /* it does not count against max_attempts */
    return 0;
  }
  if (code == CGRPC_STATUS_OK) {
    cgrpc_throttle_success(throttle);
    return -1;
  }
  if (!(r->policy.retryable_codes & (1u << code)))
    return -1;
  /* A failure the policy would retry counts against the throttle, retried or not. */
  int allowed = cgrpc_throttle_failure(throttle);
  if (!allowed && !r->committed && r->attempts < r->policy.max_attempts) {
    static int64_t said_at; /* at most a line every 10 s, from all channels */
    int64_t now = cgrpc_now(), last = __atomic_load_n(&said_at, __ATOMIC_RELAXED);
    if (now - last > CGRPC_MS_TO_NS(10000) &&
        __atomic_compare_exchange_n(&said_at, &last, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      cgrpc_log(CGRPC_LOG_WARNING, "retry throttled: too many failures on this channel (gRFC "
                                   "A6 retry throttling); the call is not retried");
  }
  if (r->committed || r->attempts >= r->policy.max_attempts || !allowed ||
      pushback_ms == CGRPC_PUSHBACK_STOP)
    return -1;
  if (pushback_ms >= 0) {
    r->backoff_n = 0; /* the backoff starts over after a pushback */
    int64_t ms = pushback_ms < CGRPC_RETRY_MAX_DELAY_MS ? pushback_ms
                                                        : (int64_t)CGRPC_RETRY_MAX_DELAY_MS;
    return ms * 1000000;
  }
  return cgrpc_retry_policy_backoff_ns(&r->policy, ++r->backoff_n, cgrpc_rand_uniform(rng));
}

void cgrpc_retry_keep(cgrpc_retry *r, const cgrpc_allocator *alloc, cgrpc_buf *b)
{
  if (r->policy.max_attempts >= 2 && !r->committed && !r->replay_lost &&
      r->replay_bytes + b->len <= CGRPC_RETRY_BUFFER_LIMIT) {
    cgrpc_queue_push(&r->replay, &b->node);
    r->replay_bytes += b->len;
    return;
  }
  /* Gone for good: from here on no attempt can start over (A6 commits the call). */
  r->replay_lost = 1;
  retry_free_replay(r, alloc);
  cgrpc_free(alloc, b);
}

void cgrpc_retry_resend(cgrpc_retry *r, cgrpc_bufq *into)
{
  cgrpc_queue all = r->replay;
  cgrpc_queue_init(&r->replay);
  r->replay_bytes = 0;
  for (cgrpc_qnode *n; (n = cgrpc_queue_pop(&all)) != NULL;) {
    cgrpc_buf *b = cgrpc_queue_entry(n, cgrpc_buf, node);
    b->off = 0;
    b->resent = 1;
    cgrpc_bufq_push(into, b);
  }
}
