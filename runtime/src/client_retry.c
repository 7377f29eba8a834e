/* Client retries (gRFC A6): after an attempt, another one, when the policy, the server's
 * pushback, the throttle and the deadline all allow it; transparent retry of streams the
 * server refused unprocessed; the call's idempotency key. */
#include <string.h>

#include "alloc.h"
#include "channel_internal.h"
#include "client_call.h"
#include "metadata_internal.h"
#include "retry.h"

/* Refused streams (REFUSED_STREAM, above a GOAWAY's last stream id) never reached the
 * server's application: they go again at once, whatever the policy, this many times (A6's
 * once; later refusals count as failed attempts of the policy's). */
#define MAX_TRANSPARENT_RETRIES 1

int cgrpc_call_setup_policy(cgrpc_call *call, const cgrpc_method_config *mc,
                            const cgrpc_call_options *opts)
{
  const cgrpc_method_policy *mp = call->method->policy;
  memset(&call->retry, 0, sizeof call->retry);
  if (opts != NULL && opts->has_retry)
    call->retry = opts->retry;
  else if (mc != NULL && mc->has_retry)
    call->retry = mc->retry; /* the operator's over the .proto's */
  else if (mp != NULL)
    call->retry = mp->retry;
  cgrpc_retry_policy_sanitize(&call->retry);
  call->pushback_ms = CGRPC_PUSHBACK_NONE;

  /* One key per logical call, the same on every attempt: it goes into the call's
   * metadata once, here, unless the caller put one there. */
  const char *key = opts != NULL ? opts->idempotency_key : NULL;
  if (key == NULL && (mp == NULL || !mp->idempotent))
    return 0;
  const char *header = mp != NULL && mp->idempotency_key_header != NULL
                           ? mp->idempotency_key_header
                           : CGRPC_IDEMPOTENCY_KEY_HEADER;
  if (cgrpc_metadata_get(call->md, header) != NULL)
    return 0;
  char fresh[CGRPC_IDEMPOTENCY_KEY_LEN + 1];
  if (key == NULL) {
    int rv = cgrpc_idempotency_key_new(fresh);
    if (rv != 0)
      return rv;
    key = fresh;
  }
  int rv = cgrpc_metadata_ensure(&call->md, call->alloc);
  return rv != 0 ? rv
                 : cgrpc_metadata_append(call->md, header, strlen(header),
                                         (const uint8_t *)key, strlen(key));
}

/* Whether another attempt can send what this one sent: a unary or server-streaming
 * request is kept whole; a client's stream of messages while it fits the retry buffer. */
static int retry_can_resend(const cgrpc_call *call)
{
  return !call->streaming || call->req != NULL || !call->replay_lost;
}

void cgrpc_retry_buffer_keep(cgrpc_call *call, cgrpc_sendbuf *b)
{
  if (call->retry.max_attempts >= 2 && !call->committed && !call->replay_lost &&
      call->replay_bytes + b->len <= CGRPC_RETRY_BUFFER_LIMIT) {
    b->next = NULL;
    if (call->replay_tail != NULL)
      call->replay_tail->next = b;
    else
      call->replay_head = b;
    call->replay_tail = b;
    call->replay_bytes += b->len;
    return;
  }
  /* Gone for good: from here on no attempt can start over (A6 commits the call). */
  call->replay_lost = 1;
  cgrpc_retry_buffer_clear(call);
  cgrpc_free(call->alloc, b);
}

void cgrpc_retry_buffer_resend(cgrpc_call *call)
{
  cgrpc_sendbuf *b = call->replay_head;
  call->replay_head = call->replay_tail = NULL;
  call->replay_bytes = 0;
  while (b != NULL) {
    cgrpc_sendbuf *next = b->next;
    b->off = 0;
    b->resent = 1;
    cgrpc_sendq_push(&call->sendq, b); /* its done hook keeps it again */
    b = next;
  }
}

void cgrpc_retry_buffer_clear(cgrpc_call *call)
{
  cgrpc_sendbuf *b = call->replay_head;
  call->replay_head = call->replay_tail = NULL;
  call->replay_bytes = 0;
  while (b != NULL) {
    cgrpc_sendbuf *next = b->next;
    cgrpc_free(call->alloc, b);
    b = next;
  }
}

static void retry_timer_fired(void *ud)
{
  cgrpc_call *call = ud;
  call->in_backoff = 0;
  cgrpc_list_remove(&call->node);
  cgrpc_status_clear(&call->status);
  cgrpc_attempt_reset(call);
  cgrpc_attempt_start(call);
}

/* The delay before the next attempt, or -1 for none. */
static int64_t retry_delay_ns(cgrpc_call *call)
{
  cgrpc_channel *ch = call->ch;
  cgrpc_code code = call->status.code;
  if (call->final || ch->shutting_down || !retry_can_resend(call))
    return -1;
  if (call->refused && !call->committed && call->transparent_retries < MAX_TRANSPARENT_RETRIES) {
    call->transparent_retries++;
    call->attempts--; /* it does not count against max_attempts */
    return 0;
  }
  if (code == CGRPC_STATUS_OK) {
    cgrpc_retry_throttle_success(&ch->throttle);
    return -1;
  }
  if (!(call->retry.retryable_codes & (1u << code)))
    return -1;
  /* A failure the policy would retry counts against the throttle, retried or not. */
  int allowed = cgrpc_retry_throttle_failure(&ch->throttle);
  if (call->committed || call->attempts >= call->retry.max_attempts || !allowed ||
      call->pushback_ms == CGRPC_PUSHBACK_STOP)
    return -1;
  if (call->pushback_ms >= 0) {
    call->backoff_n = 0; /* the backoff starts over after a pushback */
    int64_t ms = call->pushback_ms < CGRPC_RETRY_MAX_DELAY_MS ? call->pushback_ms
                                                               : (int64_t)CGRPC_RETRY_MAX_DELAY_MS;
    return ms * 1000000;
  }
  return cgrpc_retry_backoff_ns(&call->retry, ++call->backoff_n, cgrpc_retry_uniform(&ch->rng));
}

int cgrpc_retry_after_attempt(cgrpc_call *call)
{
  int64_t delay = retry_delay_ns(call);
  if (delay < 0)
    return 0;
  cgrpc_time now = cgrpc_now();
  cgrpc_time when = delay < CGRPC_TIME_INFINITE - now ? now + delay : CGRPC_TIME_INFINITE;
  /* The deadline covers every attempt: none starts after it. */
  if (call->deadline != CGRPC_TIME_INFINITE && when >= call->deadline)
    return 0;
  if (cgrpc_loop_timer_start(call->ch->loop, &call->retry_timer, when) != 0)
    return 0;
  call->in_backoff = 1;
  cgrpc_list_push_back(&call->ch->backoff, &call->node);
  return 1;
}

void cgrpc_retry_end_backoff(cgrpc_call *call)
{
  call->in_backoff = 0;
  cgrpc_list_remove(&call->node);
  cgrpc_loop_timer_stop(call->ch->loop, &call->retry_timer);
  cgrpc_retry_buffer_clear(call);
  cgrpc_client_ctx_finish(&call->ctx[call->nstages - 1]);
}

void cgrpc_retry_fail_backoffs(cgrpc_channel *ch, cgrpc_code code, const char *msg)
{
  while (!cgrpc_list_empty(&ch->backoff)) {
    cgrpc_call *call = cgrpc_container_of(ch->backoff.next, cgrpc_call, node);
    call->final = 1;
    cgrpc_client_call_abort(call, code, "%s", msg);
  }
}

void cgrpc_retry_init(cgrpc_call *call)
{
  cgrpc_timer_init(&call->retry_timer, retry_timer_fired, call);
}
