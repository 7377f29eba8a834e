/* Client calls: creating them, running the interceptor stages, completing them; the unary API. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "call_links.h"
#include "channel_internal.h"
#include "client_call.h"
#include "compress.h"
#include "metadata_internal.h"
#include "server_call.h"
#include "status_map.h"

void cgrpc_call_ref(cgrpc_call *call)
{
  __atomic_add_fetch(&call->refs, 1, __ATOMIC_RELAXED);
}

void cgrpc_call_unref(cgrpc_call *call)
{
  if (__atomic_sub_fetch(&call->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  if (call->has_parent)
    cgrpc_links_remove(&call->parent_node);
  cgrpc_status_clear(&call->status);
  cgrpc_status_clear(&call->rx);
  cgrpc_metadata_free(call->md);
  cgrpc_frame_decoder_clear(&call->dec);
  if (call->req_owned)
    cgrpc_free(call->alloc, call->req);
  if (call->streaming) {
    cgrpc_sendq_drop(&call->sendq);
    cgrpc_retry_buffer_clear(call);
    cgrpc_pipe_clear(&call->pipe);
  }
  cgrpc_allocator copy = call->alloc_copy;
  cgrpc_free(&copy, call);
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

void cgrpc_call_complete(cgrpc_call *call)
{
  if (call->status.code != CGRPC_STATUS_OK)
    call_drop_response(call);
  if (call->status.message == NULL)
    cgrpc_status_set(&call->status, call->alloc, call->status.code, NULL);
  __atomic_store_n(&call->finished, 1, __ATOMIC_RELEASE);
  if (call->has_parent)
    cgrpc_links_remove(&call->parent_node); /* nothing left to cancel */
  if (call->streaming) {
    /* Readers, writers and finish wake up; finish takes the status. */
    cgrpc_pipe_set_over(&call->pipe);
    if (call->has_callbacks) {
      if (call->cbs.on_done != NULL)
        call->cbs.on_done(call, &call->status, call->cbs_user_data);
      cgrpc_status_clear(&call->status);
    }
  } else {
    ProtobufCMessage *resp = call->response;
    call->response = NULL;
    call->invoke(call->done_fn, &call->status, resp, call->done_user_data);
    cgrpc_status_clear(&call->status);
  }
  cgrpc_call_unref(call); /* the running call's reference */
}

/* ---- stages ----------------------------------------------------------------------------- */

static void stage_run(cgrpc_call *call, size_t stage)
{
  if (stage < call->ch->ninterceptors) {
    const cgrpc_client_interceptor *ic = &call->ch->interceptors[stage];
    ic->fn(&call->ctx[stage], ic->user_data);
  } else {
    cgrpc_attempt_begin(call);
  }
}

void cgrpc_call_run(cgrpc_call *call)
{
  cgrpc_call_ref(call); /* the stages may finish the call before this returns */
  stage_run(call, 0);
  call->request = NULL;
  cgrpc_call_unref(call);
}

void cgrpc_client_ctx_proceed(cgrpc_client_ctx *ctx, cgrpc_client_done_fn done, void *user_data)
{
  cgrpc_call *call = ctx->call;
  ctx->done = done;
  ctx->done_user_data = user_data;
  cgrpc_status_clear(&call->status);
  call_drop_response(call);
  stage_run(call, ctx->stage + 1);
}

void cgrpc_client_ctx_finish(cgrpc_client_ctx *ctx)
{
  cgrpc_call *call = ctx->call;
  if (ctx->stage == 0) {
    cgrpc_call_complete(call);
    return;
  }
  cgrpc_client_ctx *outer = &call->ctx[ctx->stage - 1];
  if (outer->done != NULL)
    outer->done(outer, outer->done_user_data);
  else
    cgrpc_client_ctx_finish(outer);
}

void cgrpc_client_ctx_fail(cgrpc_client_ctx *ctx, cgrpc_code code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cgrpc_call_set_result(ctx->call, code, fmt, ap);
  va_end(ap);
}

cgrpc_status *cgrpc_client_ctx_status(cgrpc_client_ctx *ctx)
{
  return &ctx->call->status;
}

const ProtobufCMessage *cgrpc_client_ctx_response(const cgrpc_client_ctx *ctx)
{
  return ctx->call->response;
}

const cgrpc_method_desc *cgrpc_client_ctx_method(const cgrpc_client_ctx *ctx)
{
  return ctx->call->method;
}

cgrpc_channel *cgrpc_client_ctx_channel(const cgrpc_client_ctx *ctx)
{
  return ctx->call->ch;
}

const ProtobufCMessage *cgrpc_client_ctx_request(const cgrpc_client_ctx *ctx)
{
  return ctx->call->request;
}

cgrpc_metadata *cgrpc_client_ctx_metadata(cgrpc_client_ctx *ctx)
{
  cgrpc_call *call = ctx->call;
  if (cgrpc_metadata_ensure(&call->md, call->alloc) != 0)
    return NULL;
  return call->md;
}

cgrpc_time cgrpc_client_ctx_deadline(const cgrpc_client_ctx *ctx)
{
  return ctx->call->deadline;
}

void cgrpc_client_ctx_set_deadline(cgrpc_client_ctx *ctx, cgrpc_time deadline)
{
  ctx->call->deadline = deadline;
}

/* ---- creating calls ------------------------------------------------------------------------ */

/* now + ms, saturating at "no deadline". */
static cgrpc_time call_deadline_after_ms(int64_t ms)
{
  cgrpc_time now = cgrpc_now();
  if (ms >= (CGRPC_TIME_INFINITE - now) / 1000000)
    return CGRPC_TIME_INFINITE;
  return now + CGRPC_MS_TO_NS(ms);
}

static void call_cancel_task(void *ud)
{
  cgrpc_call *call = ud;
  int code = __atomic_load_n(&call->cancel_code, __ATOMIC_ACQUIRE);
  call->final = 1;
  if (code == CGRPC_STATUS_RESOURCE_EXHAUSTED)
    cgrpc_client_call_abort(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                            "request message larger than the channel's limit");
  else
    cgrpc_client_call_abort(call, CGRPC_STATUS_CANCELLED, "Cancelled");
  cgrpc_call_unref(call);
}

/* Deadline propagation: the incoming call's deadline bounds this one, and cancelling it
 * cancels this one. */
static void call_link_parent(cgrpc_call *call, cgrpc_server_call *parent)
{
  cgrpc_time limit = cgrpc_server_call_deadline(parent);
  if (limit < call->deadline)
    call->deadline = limit;
  call->has_parent = 1;
  if (cgrpc_server_call_link_child(parent, &call->parent_node) != 0)
    __atomic_store_n(&call->cancel_requested, 1, __ATOMIC_RELEASE); /* it ends CANCELLED at start */
}

/* Per-call credentials add their metadata now, on the caller's thread; a refusal (or a
 * plaintext channel) ends the call UNAUTHENTICATED when it starts.  0 or CGRPC_ERR_NOMEM. */
static int call_add_credentials(cgrpc_call *call, const cgrpc_call_options *opts)
{
  const cgrpc_call_creds *c = opts != NULL && opts->creds.set ? &opts->creds : &call->ch->creds;
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
  call->ch = ch;
  call->alloc_copy = ch->alloc;
  call->alloc = &call->alloc_copy; /* handles may outlive the channel */
  call->method = method;
  call->request = request;
  call->cancel_code = CGRPC_STATUS_CANCELLED;
  call->nstages = nstages;
  call->ctx = (cgrpc_client_ctx *)(call + 1);
  for (size_t i = 0; i < nstages; i++) {
    call->ctx[i].call = call;
    call->ctx[i].stage = i;
  }
  if (request != NULL) {
    call->req = (uint8_t *)call + head;
    call->req_len = req_len;
    cgrpc_frame_write_prefix(call->req, 0, (uint32_t)body);
    protobuf_c_message_pack(request, call->req + CGRPC_FRAME_PREFIX);
  }
  cgrpc_alloc_protobuf(&call->pb, call->alloc);
  cgrpc_list_init(&call->node);
  cgrpc_sendq_init(&call->sendq, NULL);
  cgrpc_attempt_init(call);
  cgrpc_task_init(&call->cancel_task, call_cancel_task, call);
  cgrpc_frame_decoder_init(&call->dec, call->alloc, ch->max_recv);
  cgrpc_status_init(&call->status);
  cgrpc_status_init(&call->rx);

  call->send_enc = opts != NULL && opts->compression >= 0 ? opts->compression : ch->compression;
  if (request != NULL && call->send_enc != CGRPC_ENCODING_IDENTITY) {
    /* The request goes compressed: a buffer of its own. */
    uint8_t *buf;
    size_t len;
    if (cgrpc_compress((cgrpc_encoding)call->send_enc, call->alloc, call->req + CGRPC_FRAME_PREFIX,
                       body, CGRPC_FRAME_PREFIX, &buf, &len) != 0) {
      cgrpc_call_unref(call);
      return CGRPC_ERR_NOMEM;
    }
    cgrpc_frame_write_prefix(buf, 1, (uint32_t)(len - CGRPC_FRAME_PREFIX));
    call->req = buf;
    call->req_len = len;
    call->req_owned = 1;
  }
  call->deadline = CGRPC_TIME_INFINITE;
  const cgrpc_method_config *mc = cgrpc_service_config_find(&ch->config, method->path);
  int64_t timeout_ms = mc != NULL && mc->has_timeout ? mc->timeout_ms
                       : method->policy != NULL ? method->policy->timeout_ms
                                                : 0;
  if (timeout_ms > 0)
    call->deadline = call_deadline_after_ms(timeout_ms);
  if (opts != NULL) {
    if (opts->deadline != 0)
      call->deadline = opts->deadline;
    else if (opts->timeout_ms != INT64_MIN)
      call->deadline =
          opts->timeout_ms > 0 ? call_deadline_after_ms(opts->timeout_ms) : CGRPC_TIME_INFINITE;
    if (cgrpc_metadata_count(opts->md) > 0) {
      int rv = cgrpc_metadata_new(&call->md, call->alloc);
      for (size_t i = 0; rv == 0 && i < opts->md->count; i++) {
        const cgrpc_metadata_entry *e = &opts->md->entries[i];
        rv = cgrpc_metadata_append(call->md, e->key, strlen(e->key), e->value, e->value_len);
      }
      if (rv != 0) {
        cgrpc_call_unref(call);
        return CGRPC_ERR_NOMEM;
      }
    }
  }
  if (call_add_credentials(call, opts) != 0) {
    cgrpc_call_unref(call);
    return CGRPC_ERR_NOMEM;
  }
  int rv = cgrpc_call_setup_policy(call, mc, opts);
  if (rv != 0) {
    cgrpc_call_unref(call);
    return rv;
  }
  cgrpc_list_init(&call->parent_node);
  call->wait_for_ready = opts != NULL && opts->has_wait_for_ready
                            ? opts->wait_for_ready
                            : mc != NULL && mc->wait_for_ready == 1;
  if (opts != NULL && opts->parent != NULL)
    call_link_parent(call, (cgrpc_server_call *)opts->parent);
  *out = call;
  return 0;
}

/* ---- the unary API ----------------------------------------------------------------------------- */

static void unary_invoke_plain(cgrpc_fn fn, cgrpc_status *status, ProtobufCMessage *response,
                               void *user_data)
{
  ((cgrpc_unary_done)fn)(status, response, user_data);
}

static int unary_start(cgrpc_channel *ch, const cgrpc_method_desc *method,
                       const ProtobufCMessage *request, const cgrpc_call_options *opts,
                       cgrpc_unary_done_invoker invoke, cgrpc_fn done, void *user_data,
                       cgrpc_call **call_out)
{
  if (call_out != NULL)
    *call_out = NULL;
  if (done == NULL || invoke == NULL || request == NULL || method == NULL ||
      method->kind != CGRPC_METHOD_UNARY)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_call *call;
  int rv = cgrpc_call_new(&call, ch, method, request, opts);
  if (rv == CGRPC_ERR_TOO_LARGE) {
    cgrpc_status st = CGRPC_STATUS_INIT;
    cgrpc_status_setf(&st, NULL, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                      "request message larger than max (%zu vs. %lld)",
                      protobuf_c_message_get_packed_size(request), (long long)ch->max_send);
    invoke(done, &st, NULL, user_data);
    cgrpc_status_clear(&st);
    return 0;
  }
  if (rv != 0)
    return rv;
  call->invoke = invoke;
  call->done_fn = done;
  call->done_user_data = user_data;
  if (call_out != NULL) {
    cgrpc_call_ref(call);
    *call_out = call;
  }
  cgrpc_call_run(call);
  return 0;
}

int cgrpc_unary_call_start(cgrpc_channel *ch, const cgrpc_method_desc *method,
                           const ProtobufCMessage *request, const cgrpc_call_options *opts,
                           cgrpc_unary_done done, void *user_data, cgrpc_call **call_out)
{
  return unary_start(ch, method, request, opts, unary_invoke_plain, (cgrpc_fn)done, user_data,
                     call_out);
}

int cgrpc_unary_call_start_typed(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                 const ProtobufCMessage *request, const cgrpc_call_options *opts,
                                 cgrpc_fn done, void *user_data, cgrpc_call **call_out)
{
  if (method == NULL || method->invoke_unary_done == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return unary_start(ch, method, request, opts, method->invoke_unary_done, done, user_data,
                     call_out);
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

void cgrpc_call_free(cgrpc_call *call)
{
  if (call == NULL)
    return;
  if (call->streaming)
    cgrpc_call_cancel(call); /* nothing if it is over */
  cgrpc_call_unref(call);
}

/* ---- the blocking form ---------------------------------------------------------------------- */

typedef struct unary_waiter {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int done;
  cgrpc_status *status;
  ProtobufCMessage *response;
} unary_waiter;

static void unary_wait_done(cgrpc_status *status, ProtobufCMessage *response, void *ud)
{
  unary_waiter *w = ud;
  cgrpc_status_move(w->status, status);
  w->response = response;
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
}

cgrpc_code cgrpc_unary_call(cgrpc_channel *ch, const cgrpc_method_desc *method,
                            const ProtobufCMessage *request, ProtobufCMessage **response,
                            const cgrpc_call_options *opts, cgrpc_status *status)
{
  cgrpc_status local = CGRPC_STATUS_INIT;
  if (status == NULL)
    status = &local;
  else
    cgrpc_status_clear(status);
  if (response != NULL)
    *response = NULL;
  unary_waiter w;
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cond, NULL);
  w.done = 0;
  w.status = status;
  w.response = NULL;
  int rv = cgrpc_unary_call_start(ch, method, request, opts, unary_wait_done, &w, NULL);
  if (rv != 0) {
    cgrpc_status_setf(status, NULL, CGRPC_STATUS_INTERNAL, "cannot start call: %s",
                      cgrpc_strerror(rv));
  } else {
    pthread_mutex_lock(&w.mu);
    while (!w.done)
      pthread_cond_wait(&w.cond, &w.mu);
    pthread_mutex_unlock(&w.mu);
  }
  pthread_cond_destroy(&w.cond);
  pthread_mutex_destroy(&w.mu);
  cgrpc_code code = status->code;
  if (response != NULL)
    *response = w.response;
  else if (w.response != NULL)
    protobuf_c_message_free_unpacked(w.response, cgrpc_channel_protobuf_allocator(ch));
  cgrpc_status_clear(&local);
  return code;
}
