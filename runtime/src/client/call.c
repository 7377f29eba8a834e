/* Client calls: their life, their interceptor stages, the network stage (attempts, retries,
 * deadline, cancellation) and their completion. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "client/call.h"
#include "client/idempotency.h"
#include "wire/compress.h"
#include "wire/frame.h"
#include "wire/metadata_internal.h"
#include "wire/status_map.h"

/* ---- the state machine ----------------------------------------------------------------------- */

#define MOVE(s) (1u << (s))
static const unsigned call_moves[] = {
    [CGRPC_CALL_STARTING] = MOVE(CGRPC_CALL_ATTEMPT) | MOVE(CGRPC_CALL_DONE),
    [CGRPC_CALL_ATTEMPT] = MOVE(CGRPC_CALL_BACKOFF) | MOVE(CGRPC_CALL_STAGES),
    [CGRPC_CALL_BACKOFF] = MOVE(CGRPC_CALL_ATTEMPT) | MOVE(CGRPC_CALL_STAGES),
    [CGRPC_CALL_STAGES] = MOVE(CGRPC_CALL_ATTEMPT) | MOVE(CGRPC_CALL_DONE),
    [CGRPC_CALL_DONE] = 0,
};

static cgrpc_call_state call_state(const cgrpc_call *call)
{
  return __atomic_load_n(&call->state, __ATOMIC_RELAXED);
}

static void call_set_state(cgrpc_call *call, cgrpc_call_state to)
{
  cgrpc_call_state from = call_state(call);
  assert(call_moves[from] & MOVE(to));
  (void)from;
  __atomic_store_n(&call->state, to, __ATOMIC_RELAXED);
}

/* ---- life ------------------------------------------------------------------------------------ */

void cgrpc_call_ref(cgrpc_call *call)
{
  __atomic_add_fetch(&call->refs, 1, __ATOMIC_RELAXED);
}

void cgrpc_call_unref(cgrpc_call *call)
{
  if (__atomic_sub_fetch(&call->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  if (call->has_parent)
    cgrpc_link_remove(&call->parent_link);
  cgrpc_status_clear(&call->status);
  cgrpc_metadata_free(call->md);
  cgrpc_metadata_free(call->headers);
  cgrpc_attempt_clear(&call->attempt);
  cgrpc_retry_clear(&call->retry, call->alloc);
  cgrpc_free(call->alloc, call->req_owned);
  if (call->streaming)
    cgrpc_pipe_clear(&call->pipe);
  cgrpc_allocator copy = call->alloc_copy;
  cgrpc_free(&copy, call);
}

void cgrpc_call_post(cgrpc_call *call, cgrpc_task *t)
{
  cgrpc_call_ref(call);
  if (!cgrpc_loop_post(call->ch->loop, t))
    cgrpc_call_unref(call); /* queued already, with its reference */
}

static void call_drop_response(cgrpc_call *call)
{
  if (call->response != NULL) {
    protobuf_c_message_free_unpacked(call->response, &call->pb);
    call->response = NULL;
  }
}

void cgrpc_call_set_result(cgrpc_call *call, cgrpc_code code, const char *fmt, va_list ap)
{
  cgrpc_status_setv(&call->status, call->alloc, code, fmt, ap);
  call_drop_response(call);
}

static void call_fail(cgrpc_call *call, cgrpc_code code, const char *fmt, ...) CGRPC_PRINTF(3, 4);
static void call_fail(cgrpc_call *call, cgrpc_code code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cgrpc_call_set_result(call, code, fmt, ap);
  va_end(ap);
}

void cgrpc_call_clear_result(cgrpc_call *call)
{
  cgrpc_status_clear(&call->status);
  call_drop_response(call);
}

/* ---- interceptors' observing hooks ----------------------------------------------------------- */

void cgrpc_call_hook_send(cgrpc_call *call, const ProtobufCMessage *msg)
{
  const cgrpc_channel *ch = call->ch;
  size_t entered = __atomic_load_n(&call->entered, __ATOMIC_ACQUIRE);
  for (size_t i = 0; i < entered; i++)
    if (ch->interceptors[i].hooks.on_send != NULL)
      ch->interceptors[i].hooks.on_send(&call->ctx[i], msg, ch->interceptors[i].user_data);
}

static void call_hook_headers(cgrpc_call *call, const cgrpc_metadata *md)
{
  static const cgrpc_metadata empty;
  const cgrpc_channel *ch = call->ch;
  for (size_t i = ch->ninterceptors; i-- > 0;)
    if (ch->interceptors[i].hooks.on_headers != NULL)
      ch->interceptors[i].hooks.on_headers(&call->ctx[i], md != NULL ? md : &empty,
                                           ch->interceptors[i].user_data);
}

static void call_hook_recv(cgrpc_call *call, const ProtobufCMessage *msg)
{
  const cgrpc_channel *ch = call->ch;
  for (size_t i = ch->ninterceptors; i-- > 0;)
    if (ch->interceptors[i].hooks.on_recv != NULL)
      ch->interceptors[i].hooks.on_recv(&call->ctx[i], msg, ch->interceptors[i].user_data);
}

static void call_hook_done(cgrpc_call *call)
{
  const cgrpc_channel *ch = call->ch;
  for (size_t i = __atomic_load_n(&call->entered, __ATOMIC_ACQUIRE); i-- > 0;)
    if (ch->interceptors[i].hooks.on_done != NULL)
      ch->interceptors[i].hooks.on_done(&call->ctx[i], &call->status,
                                        ch->interceptors[i].user_data);
}

/* ---- completion ------------------------------------------------------------------------------ */

/* The outcome is final: tell the application. */
static void call_complete(cgrpc_call *call)
{
  cgrpc_status *st = &call->status;
  if (st->code != CGRPC_STATUS_OK)
    call_drop_response(call);
  if (st->message == NULL)
    cgrpc_status_set(st, call->alloc, st->code, NULL);
  st->attempts = call->retry.attempts + call->retry.transparent;
  st->transparent_retries = call->retry.transparent;
  if (call->headers != NULL && st->initial_metadata == NULL) {
    /* A stream's headers stay with the call (cgrpc_call_recv_headers); the status gets a
     * copy. */
    const cgrpc_metadata *h = call->headers;
    if (cgrpc_metadata_ensure(&st->initial_metadata, call->alloc) == 0)
      for (size_t i = 0; i < h->count; i++)
        cgrpc_metadata_append(st->initial_metadata, h->entries[i].key,
                              strlen(h->entries[i].key), h->entries[i].value,
                              h->entries[i].value_len);
  }
  call_hook_done(call);
  call_set_state(call, CGRPC_CALL_DONE);
  __atomic_store_n(&call->finished, 1, __ATOMIC_RELEASE);
  if (call->has_parent)
    cgrpc_link_remove(&call->parent_link); /* nothing left to cancel */
  if (call->streaming) {
    /* Readers, writers and finish wake up; finish takes the status. */
    cgrpc_pipe_set_over(&call->pipe);
    if (call->has_callbacks) {
      if (call->cbs.on_done != NULL)
        call->cbs.on_done(call, st, call->cbs_user_data);
      cgrpc_status_clear(st);
    }
  } else {
    ProtobufCMessage *resp = call->response;
    call->response = NULL;
    call->invoke(call->done_fn, st, resp, call->done_user_data);
    cgrpc_status_clear(st);
  }
  cgrpc_call_unref(call); /* the running call's reference */
}

/* ---- stages ---------------------------------------------------------------------------------- */

static void call_net_begin(cgrpc_call *call);

void cgrpc_call_run_stage(cgrpc_call *call, size_t stage)
{
  const cgrpc_channel *ch = call->ch;
  if (stage == ch->ninterceptors) {
    call_net_begin(call);
    return;
  }
  const cgrpc_client_interceptor *ic = &ch->interceptors[stage];
  if (stage >= call->entered)
    __atomic_store_n(&call->entered, stage + 1, __ATOMIC_RELEASE);
  /* A unary or server-streaming request is seen just before the stage starts (while the
   * function that started the call runs; an interceptor proceeding later has no request). */
  if (call->request != NULL && ic->hooks.on_send != NULL)
    ic->hooks.on_send(&call->ctx[stage], call->request, ic->user_data);
  if (ic->hooks.start != NULL) {
    ic->hooks.start(&call->ctx[stage], ic->user_data);
    return;
  }
  call->ctx[stage].done = NULL; /* no start hook: on inwards, the result passes out unchanged */
  cgrpc_call_run_stage(call, stage + 1);
}

void cgrpc_call_finish_stage(cgrpc_call *call, size_t stage)
{
  if (stage == 0) {
    call_complete(call);
    return;
  }
  cgrpc_client_ctx *outer = &call->ctx[stage - 1];
  if (outer->done != NULL)
    outer->done(outer, outer->done_user_data);
  else
    cgrpc_call_finish_stage(call, stage - 1);
}

void cgrpc_call_run(cgrpc_call *call)
{
  cgrpc_call_ref(call); /* the stages may finish the call before this returns */
  cgrpc_call_run_stage(call, 0);
  call->request = NULL;
  cgrpc_call_unref(call);
}

/* ---- the network stage ----------------------------------------------------------------------- */

/* The network stage is over: its result goes to the innermost interceptor. */
static void call_net_end(cgrpc_call *call)
{
  cgrpc_loop_timer_stop(call->ch->loop, &call->deadline_timer);
  cgrpc_retry_clear(&call->retry, call->alloc);
  call_set_state(call, CGRPC_CALL_STAGES);
  cgrpc_call_finish_stage(call, call->nstages - 1);
}

/* Takes what the application wrote into the attempt's stream. */
static void call_take_outgoing(cgrpc_call *call)
{
  cgrpc_queue q;
  cgrpc_queue_init(&q);
  int closed;
  cgrpc_pipe_take_out(&call->pipe, &q, &closed);
  for (cgrpc_qnode *n; (n = cgrpc_queue_pop(&q)) != NULL;)
    cgrpc_stream_push(&call->attempt.stream, cgrpc_queue_entry(n, cgrpc_buf, node));
  if (closed)
    cgrpc_stream_end_send(&call->attempt.stream);
  cgrpc_attempt_flush(&call->attempt);
}

/* Sends an attempt: the request, or what a stream sent so far and what waits. */
static void call_attempt_go(cgrpc_call *call)
{
  cgrpc_attempt *a = &call->attempt;
  cgrpc_attempt_reset(a);
  call->req.md = call->md; /* interceptors may have made it */
  if (call->req_buf.data != NULL) {
    /* A unary or server-streaming request: all the client sends. */
    cgrpc_buf_wrap(&call->req_buf, call->req_buf.data, call->req_buf.len);
    cgrpc_stream_push(&a->stream, &call->req_buf);
    cgrpc_stream_end_send(&a->stream);
  } else {
    cgrpc_retry_resend(&call->retry, &a->stream.out.q); /* what earlier attempts sent */
    call_take_outgoing(call);                           /* what was written meanwhile */
  }
  cgrpc_attempt_start(a, cgrpc_retry_attempt_started(&call->retry));
}

static void call_start_task(void *ud)
{
  cgrpc_call *call = ud;
  call_set_state(call, CGRPC_CALL_ATTEMPT);
  call->final = 0;
  /* An interceptor may run this stage again: what committed the last one does not commit
   * this one (the attempts made still count). */
  cgrpc_retry_restart(&call->retry);
  if (__atomic_load_n(&call->cancel_requested, __ATOMIC_ACQUIRE)) {
    call->final = 1;
    call_fail(call, CGRPC_STATUS_CANCELLED, "Cancelled");
    call_net_end(call);
    return;
  }
  if (call->fail_code != CGRPC_STATUS_OK) {
    call->final = 1;
    call_fail(call, call->fail_code, "%s", call->fail_why);
    call_net_end(call);
    return;
  }
  cgrpc_time deadline = call->req.deadline;
  if (deadline != CGRPC_TIME_INFINITE) {
    if (deadline <= cgrpc_now()) {
      call->final = 1;
      call_fail(call, CGRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded");
      call_net_end(call);
      return;
    }
    if (cgrpc_loop_timer_start(call->ch->loop, &call->deadline_timer, deadline) != 0) {
      call_fail(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
      call_net_end(call);
      return;
    }
  }
  call_attempt_go(call);
}

static void call_net_begin(cgrpc_call *call)
{
  cgrpc_loop_post(call->ch->loop, &call->start_task);
}

static void call_retry_timer(void *ud)
{
  cgrpc_call *call = ud;
  cgrpc_list_remove(&call->backoff_node);
  cgrpc_status_clear(&call->status);
  call_set_state(call, CGRPC_CALL_ATTEMPT);
  call_attempt_go(call);
}

/* Whether another attempt could send what this one sent: a unary or server-streaming request
 * is kept whole; a client's stream of messages while it fits the retry buffer. */
static int call_can_resend(const cgrpc_call *call)
{
  return !call->streaming || call->req_buf.data != NULL || !call->retry.replay_lost;
}

/* An attempt is over: another one later, or the network stage ends with its outcome. */
static void call_attempt_ended(cgrpc_call *call)
{
  cgrpc_attempt *a = &call->attempt;
  cgrpc_channel *ch = call->ch;
  cgrpc_status_move(&call->status, &a->result);
  cgrpc_code code = call->status.code;
  if (code == CGRPC_STATUS_OK && !call->streaming && call->response == NULL) {
    code = CGRPC_STATUS_INTERNAL;
    cgrpc_status_set(&call->status, call->alloc, code, "server sent OK without a response message");
  }
  if (code != CGRPC_STATUS_OK)
    call_drop_response(call);
  int64_t delay = call->final || ch->shutting_down
                      ? -1
                      : cgrpc_retry_next(&call->retry, code, a->refused, a->pushback_ms,
                                         call_can_resend(call), &ch->throttle, &ch->rng);
  if (delay >= 0) {
    cgrpc_time now = cgrpc_now();
    cgrpc_time when = delay < CGRPC_TIME_INFINITE - now ? now + delay : CGRPC_TIME_INFINITE;
    /* The deadline covers every attempt: none starts after it. */
    if ((call->req.deadline == CGRPC_TIME_INFINITE || when < call->req.deadline) &&
        cgrpc_loop_timer_start(ch->loop, &call->retry_timer, when) == 0) {
      call_set_state(call, CGRPC_CALL_BACKOFF);
      cgrpc_list_push_back(&ch->backoff, &call->backoff_node);
      cgrpc_status_clear(&call->status); /* the next attempt sets its own */
      return;
    }
  }
  call_net_end(call);
}

/* Ends the network stage now (cancelled, deadline passed, channel closing). */
static void call_abort_net(cgrpc_call *call, cgrpc_code code, const char *why)
{
  call->final = 1;
  switch (call_state(call)) {
  case CGRPC_CALL_ATTEMPT:
    cgrpc_attempt_abort(&call->attempt, code, "%s", why);
    break;
  case CGRPC_CALL_BACKOFF:
    cgrpc_loop_timer_stop(call->ch->loop, &call->retry_timer);
    cgrpc_list_remove(&call->backoff_node);
    call_fail(call, code, "%s", why);
    call_net_end(call);
    break;
  default:
    break; /* not on the network: the start task or the interceptors see the cancel */
  }
}

static void call_on_deadline(void *ud)
{
  call_abort_net(ud, CGRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded");
}

void cgrpc_call_fail_backoffs(cgrpc_channel *ch, cgrpc_code code, const char *why)
{
  while (!cgrpc_list_empty(&ch->backoff))
    call_abort_net(cgrpc_container_of(ch->backoff.next, cgrpc_call, backoff_node), code, why);
}

static void call_cancel_task(void *ud)
{
  cgrpc_call *call = ud;
  if (__atomic_load_n(&call->cancel_code, __ATOMIC_ACQUIRE) == CGRPC_STATUS_RESOURCE_EXHAUSTED)
    call_abort_net(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                   "request message larger than the channel's limit");
  else
    call_abort_net(call, CGRPC_STATUS_CANCELLED, "Cancelled");
  cgrpc_call_unref(call);
}

void cgrpc_call_cancel(cgrpc_call *call)
{
  if (call == NULL || __atomic_load_n(&call->finished, __ATOMIC_ACQUIRE))
    return;
  if (__atomic_exchange_n(&call->cancel_requested, 1, __ATOMIC_ACQ_REL))
    return;
  cgrpc_call_ref(call);
  cgrpc_loop_post(call->ch->loop, &call->cancel_task);
}

/* ---- what the attempt tells --------------------------------------------------------------------- */

static cgrpc_call *call_of_attempt(cgrpc_attempt *a)
{
  return cgrpc_container_of(a, cgrpc_call, attempt);
}

static void call_on_headers(cgrpc_attempt *a)
{
  cgrpc_call *call = call_of_attempt(a);
  cgrpc_retry_commit(&call->retry, call->alloc); /* A6: response headers commit the call */
  if (!call->streaming) {
    call_hook_headers(call, a->rx.initial_metadata);
    return;
  }
  /* A stream's headers are the call's from now on (cgrpc_call_recv_headers). */
  cgrpc_metadata_free(call->headers);
  call->headers = a->rx.initial_metadata;
  a->rx.initial_metadata = NULL;
  if (call->headers == NULL && cgrpc_metadata_ensure(&call->headers, call->alloc) != 0) {
    cgrpc_attempt_abort(a, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  call_hook_headers(call, call->headers);
  if (!call->has_callbacks)
    cgrpc_pipe_set_headers(&call->pipe);
  else if (call->cbs.on_headers != NULL)
    call->cbs.on_headers(call, call->headers, call->cbs_user_data);
}

/* The server has answered, but messages wait for the reader: the answer is in time whenever
 * they are read, and there is nobody to send to any more. */
static void call_on_server_done(cgrpc_attempt *a)
{
  cgrpc_call *call = call_of_attempt(a);
  cgrpc_loop_timer_stop(call->ch->loop, &call->deadline_timer);
  if (call->streaming)
    cgrpc_pipe_stop_out(&call->pipe);
}

static int call_on_message(cgrpc_attempt *a, const uint8_t *msg, size_t len, int compressed)
{
  cgrpc_call *call = call_of_attempt(a);
  if (!call->streaming && call->response != NULL) {
    cgrpc_attempt_abort(a, CGRPC_STATUS_INTERNAL,
                        "unary call received more than one response message");
    return -1;
  }
  ProtobufCMessage *m = protobuf_c_message_unpack(call->method->response, &call->pb, len, msg);
  if (m == NULL) {
    cgrpc_attempt_abort(a, CGRPC_STATUS_INTERNAL, "failed to parse response message (%s)",
                        call->method->response->name);
    return -1;
  }
  cgrpc_retry_commit(&call->retry, call->alloc); /* the application may have it: no retry */
  call_hook_recv(call, m);
  /* A blocking stream's reader tells in cgrpc_call_recv, on its own thread. */
  if (!call->streaming || call->has_callbacks)
    call->last_compressed = compressed;
  if (!call->streaming) {
    call->response = m;
    return 0;
  }
  if (!call->has_callbacks) {
    int rv = cgrpc_pipe_deliver(&call->pipe, m, CGRPC_FRAME_PREFIX + len, compressed);
    if (rv == CGRPC_ERR_NOMEM) {
      cgrpc_attempt_abort(a, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
      return -1;
    }
    return rv;
  }
  if (call->cbs.on_message != NULL)
    call->cbs.on_message(call, m, call->cbs_user_data);
  else
    protobuf_c_message_free_unpacked(m, &call->pb);
  return 0;
}

static void call_ready_task(void *ud)
{
  cgrpc_call *call = ud;
  if (call->cbs.on_send_ready != NULL && !__atomic_load_n(&call->finished, __ATOMIC_ACQUIRE))
    call->cbs.on_send_ready(call, call->cbs_user_data);
  cgrpc_call_unref(call);
}

/* A streamed message went out (or was dropped): keep it for a retry or free it; make room. */
static void call_on_buf_done(cgrpc_attempt *a, cgrpc_buf *b)
{
  cgrpc_call *call = call_of_attempt(a);
  if (b == &call->req_buf)
    return; /* the inline request */
  size_t len = b->len;
  int first = !b->resent; /* the pipe counted it once, until its first send */
  cgrpc_retry_keep(&call->retry, call->alloc, b);
  if (first && cgrpc_pipe_sent(&call->pipe, len) && call->has_callbacks) {
    cgrpc_call_ref(call); /* the queued task's */
    if (!cgrpc_loop_defer(call->ch->loop, &call->ready_task))
      cgrpc_call_unref(call);
  }
}

static void call_on_end(cgrpc_attempt *a)
{
  call_attempt_ended(call_of_attempt(a));
}

static void call_attempt_ref(cgrpc_attempt *a)
{
  cgrpc_call_ref(call_of_attempt(a));
}

static void call_attempt_unref(cgrpc_attempt *a)
{
  cgrpc_call_unref(call_of_attempt(a));
}

static const cgrpc_attempt_ops call_attempt_ops = {
    .on_headers = call_on_headers,
    .on_message = call_on_message,
    .on_server_done = call_on_server_done,
    .on_buf_done = call_on_buf_done,
    .on_end = call_on_end,
    .ref = call_attempt_ref,
    .unref = call_attempt_unref,
};

/* These two run with the reference cgrpc_call_post took. */
static void call_send_task(void *ud)
{
  cgrpc_call *call = ud;
  /* Before an attempt starts, messages wait in the pipe; it takes them then. */
  if (call->attempt.state != CGRPC_ATTEMPT_IDLE)
    call_take_outgoing(call);
  cgrpc_call_unref(call);
}

static void call_resume_task(void *ud)
{
  cgrpc_call *call = ud;
  if (call->attempt.state == CGRPC_ATTEMPT_OPEN)
    cgrpc_stream_resume_recv(&call->attempt.stream);
  cgrpc_call_unref(call);
}

static void call_drop_task(void *ud)
{
  cgrpc_call *call = ud;
  cgrpc_attempt_drop_held(&call->attempt);
  cgrpc_call_unref(call);
}

/* ---- creating calls ------------------------------------------------------------------------------ */

/* Deadline propagation: the incoming call's deadline bounds this one, and cancelling it
 * cancels this one. */
static void call_parent_cancelled(cgrpc_link_child *child)
{
  cgrpc_call_cancel(cgrpc_container_of(child, cgrpc_call, parent_link)); /* posts; never blocks */
}

static void call_link_parent(cgrpc_call *call, cgrpc_link_parent *parent)
{
  if (parent->deadline < call->req.deadline)
    call->req.deadline = parent->deadline;
  call->has_parent = 1;
  call->parent_link.cancel = call_parent_cancelled;
  if (cgrpc_link_add(parent, &call->parent_link) != 0)
    __atomic_store_n(&call->cancel_requested, 1, __ATOMIC_RELEASE); /* it ends CANCELLED at start */
}

/* Per-call credentials add their metadata now, on the caller's thread; a refusal (or a
 * plaintext channel) ends the call UNAUTHENTICATED when it starts.  0 or CGRPC_ERR_NOMEM. */
static int call_add_credentials(cgrpc_call *call, const cgrpc_call_options *opts)
{
  const cgrpc_call_creds *c = opts != NULL && (opts->set & CGRPC_CALL_OPT_CREDENTIALS)
                                  ? &opts->creds
                                  : &call->ch->creds;
  if (c->fn == NULL)
    return 0;
  if (call->ch->tls == NULL && !c->allow_insecure) {
    call->fail_code = CGRPC_STATUS_UNAUTHENTICATED;
    call->fail_why = "call credentials need a TLS channel (or allow_insecure)";
    return 0;
  }
  if (cgrpc_metadata_ensure(&call->md, call->alloc) != 0)
    return CGRPC_ERR_NOMEM;
  if (c->fn(call->method->path, call->md, c->user_data) != 0) {
    call->fail_code = CGRPC_STATUS_UNAUTHENTICATED;
    call->fail_why = "call credentials refused to give any";
  }
  return 0;
}

/* The caller's metadata, then the idempotency key unless the caller put one there. */
static int call_add_metadata(cgrpc_call *call, const cgrpc_call_options *opts)
{
  int rv = 0;
  if (opts != NULL && cgrpc_metadata_count(opts->md) > 0) {
    rv = cgrpc_metadata_new(&call->md, call->alloc);
    for (size_t i = 0; rv == 0 && i < opts->md->count; i++) {
      const cgrpc_metadata_entry *e = &opts->md->entries[i];
      rv = cgrpc_metadata_append(call->md, e->key, strlen(e->key), e->value, e->value_len);
    }
  }
  const char *header = call->policy.key_header;
  if (rv != 0 || header == NULL || cgrpc_metadata_get(call->md, header) != NULL)
    return rv;
  char fresh[CGRPC_IDEMPOTENCY_KEY_LEN + 1];
  const char *key = call->policy.key;
  if (key == NULL) {
    rv = cgrpc_idempotency_key_new(fresh);
    if (rv != 0)
      return rv;
    key = fresh;
  }
  rv = cgrpc_metadata_ensure(&call->md, call->alloc);
  return rv != 0 ? rv
                 : cgrpc_metadata_append(call->md, header, strlen(header), (const uint8_t *)key,
                                         strlen(key));
}

/* Serialises (and compresses) the one request of unary and server-streaming calls. */
static int call_encode_request(cgrpc_call *call, const ProtobufCMessage *request, uint8_t *inline_buf,
                               size_t body)
{
  cgrpc_frame_write_prefix(inline_buf, 0, (uint32_t)body);
  protobuf_c_message_pack(request, inline_buf + CGRPC_FRAME_PREFIX);
  if (call->policy.send_enc == CGRPC_ENCODING_IDENTITY) {
    cgrpc_buf_wrap(&call->req_buf, inline_buf, CGRPC_FRAME_PREFIX + body);
    return 0;
  }
  /* The request goes compressed: a buffer of its own. */
  uint8_t *buf;
  size_t len;
  if (cgrpc_compress((cgrpc_encoding)call->policy.send_enc, call->alloc,
                     inline_buf + CGRPC_FRAME_PREFIX, body, CGRPC_FRAME_PREFIX, &buf, &len) != 0)
    return CGRPC_ERR_NOMEM;
  cgrpc_frame_write_prefix(buf, 1, (uint32_t)(len - CGRPC_FRAME_PREFIX));
  call->req_owned = buf;
  cgrpc_buf_wrap(&call->req_buf, buf, len);
  return 0;
}

int cgrpc_call_new(cgrpc_call **out, cgrpc_channel *ch, const cgrpc_method_desc *method,
                   const ProtobufCMessage *request, const cgrpc_call_options *opts)
{
  if (ch == NULL || method == NULL || method->response == NULL ||
      (request != NULL && request->descriptor != method->request))
    return CGRPC_ERR_INVALID_ARGUMENT;
  size_t body = request != NULL ? protobuf_c_message_get_packed_size(request) : 0;
  if (body > UINT32_MAX || (ch->max_send >= 0 && (int64_t)body > ch->max_send))
    return CGRPC_ERR_TOO_LARGE; /* gRPC limits the message before compression */
  size_t nstages = ch->ninterceptors + 1;
  size_t head = sizeof(cgrpc_call) + nstages * sizeof(cgrpc_client_ctx);
  size_t req_len = request != NULL ? CGRPC_FRAME_PREFIX + body : 0;
  /* One allocation: the call, its stages and its framed request. */
  cgrpc_call *call = cgrpc_calloc(&ch->alloc, 1, head + req_len);
  if (call == NULL)
    return CGRPC_ERR_NOMEM;
  call->refs = 1;
  call->state = CGRPC_CALL_STARTING;
  call->ch = ch;
  call->alloc_copy = ch->alloc;
  call->alloc = &call->alloc_copy;
  call->method = method;
  call->request = request;
  call->start_time = cgrpc_now();
  call->cancel_code = CGRPC_STATUS_CANCELLED;
  call->nstages = nstages;
  call->ctx = (cgrpc_client_ctx *)(call + 1);
  for (size_t i = 0; i < nstages; i++) {
    call->ctx[i].call = call;
    call->ctx[i].stage = i;
  }
  cgrpc_alloc_protobuf(&call->pb, call->alloc);
  cgrpc_status_init(&call->status);
  cgrpc_list_init(&call->backoff_node);
  cgrpc_list_init(&call->parent_link.node);
  cgrpc_task_init(&call->start_task, call_start_task, call);
  cgrpc_task_init(&call->cancel_task, call_cancel_task, call);
  cgrpc_task_init(&call->send_task, call_send_task, call);
  cgrpc_task_init(&call->resume_task, call_resume_task, call);
  cgrpc_task_init(&call->drop_task, call_drop_task, call);
  cgrpc_task_init(&call->ready_task, call_ready_task, call);
  cgrpc_timer_init(&call->deadline_timer, call_on_deadline, call);
  cgrpc_timer_init(&call->retry_timer, call_retry_timer, call);

  const cgrpc_method_config *mc = cgrpc_service_config_find(&ch->config, method->path);
  cgrpc_policy_resolve(&call->policy, method->policy, mc, opts, ch->compression, call->start_time);
  cgrpc_retry_init(&call->retry, &call->policy.retry);
  call->req.path = method->path;
  call->req.deadline = call->policy.deadline;
  call->req.send_enc = call->policy.send_enc;
  call->req.wait_for_ready = call->policy.wait_for_ready;
  cgrpc_attempt_init(&call->attempt, &call_attempt_ops, &ch->attempts, &call->req, call->alloc);

  int rv = request != NULL ? call_encode_request(call, request, (uint8_t *)call + head, body) : 0;
  if (rv == 0)
    rv = call_add_metadata(call, opts);
  if (rv == 0)
    rv = call_add_credentials(call, opts);
  if (rv != 0) {
    cgrpc_call_unref(call);
    return rv;
  }
  if (opts != NULL && opts->parent != NULL) {
    /* A server call begins with its link parent (server/server_call.h asserts it): the client
     * needs nothing else of the server (interceptors may read it through the public API). */
    call_link_parent(call, (cgrpc_link_parent *)(void *)opts->parent);
    call->parent = opts->parent;
  }
  *out = call;
  return 0;
}

void cgrpc_call_free(cgrpc_call *call)
{
  if (call == NULL)
    return;
  if (call->streaming)
    cgrpc_call_cancel(call); /* nothing if it is over */
  cgrpc_call_unref(call);
}

int cgrpc_call_response_compressed(const cgrpc_call *call)
{
  return call != NULL && call->last_compressed;
}
