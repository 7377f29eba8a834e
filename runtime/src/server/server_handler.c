/* A server call from the handler's side: interceptor stages, the handler, and what it may do. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "server/server_call.h"
#include "wire/compress.h"
#include "wire/frame.h"
#include "wire/message.h"
#include "wire/metadata_internal.h"

int cgrpc_server_call_cancelled(const cgrpc_server_call *call)
{
  return cgrpc_link_cancelled(&call->links);
}

int cgrpc_server_call_callbacks_live(const cgrpc_server_call *call)
{
  return call->has_callbacks && !__atomic_load_n(&call->handler_done, __ATOMIC_ACQUIRE);
}

/* ---- the interceptors' observing hooks --------------------------------------------------------- */

void cgrpc_server_call_hook_recv_(cgrpc_server_call *call, const ProtobufCMessage *msg)
{
  const cgrpc_server *srv = call->srv;
  for (size_t i = __atomic_load_n(&call->entered, __ATOMIC_ACQUIRE); i-- > 0;)
    if (srv->interceptors[i].hooks.on_recv != NULL)
      srv->interceptors[i].hooks.on_recv(call, msg, srv->interceptors[i].user_data);
}

void cgrpc_server_call_hook_send_(cgrpc_server_call *call, const ProtobufCMessage *msg)
{
  const cgrpc_server *srv = call->srv;
  size_t entered = __atomic_load_n(&call->entered, __ATOMIC_ACQUIRE);
  for (size_t i = 0; i < entered; i++)
    if (srv->interceptors[i].hooks.on_send != NULL)
      srv->interceptors[i].hooks.on_send(call, msg, srv->interceptors[i].user_data);
}

void cgrpc_server_call_party_done(cgrpc_server_call *call)
{
  const cgrpc_server *srv = call->srv;
  if (srv->ninterceptors == 0 || __atomic_sub_fetch(&call->done_parties, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  for (size_t i = __atomic_load_n(&call->entered, __ATOMIC_ACQUIRE); i-- > 0;)
    if (srv->interceptors[i].hooks.on_done != NULL)
      srv->interceptors[i].hooks.on_done(call, call->final_code, call->final_msg,
                                         srv->interceptors[i].user_data);
}

/* ---- stages ---------------------------------------------------------------------------------- */

/* Compresses the encoded single response, in the arena like everything else. */
static void handler_compress_response(cgrpc_server_call *call, uint8_t *framed, size_t len)
{
  uint8_t *buf;
  size_t blen;
  if (cgrpc_compress((cgrpc_encoding)call->ans.send_enc, &call->arena_alloc, framed + CGRPC_FRAME_PREFIX,
                     len, CGRPC_FRAME_PREFIX, &buf, &blen) != 0 ||
      blen - CGRPC_FRAME_PREFIX > UINT32_MAX) {
    call->ans.send_enc = CGRPC_ENCODING_IDENTITY; /* send it plain then */
    return;
  }
  cgrpc_frame_write_prefix(buf, 1, (uint32_t)(blen - CGRPC_FRAME_PREFIX));
  cgrpc_buf_wrap(&call->ans.resp_buf, buf, blen);
}

/* Frames the single response of unary and client-streaming calls into call->ans.resp_buf. */
static void handler_encode_response(cgrpc_server_call *call)
{
  cgrpc_server *srv = call->srv;
  size_t len = protobuf_c_message_get_packed_size(call->ans.response);
  uint8_t *framed;
  if (srv->max_send >= 0 && (int64_t)len > srv->max_send) {
    call->ans.code = CGRPC_STATUS_RESOURCE_EXHAUSTED;
    call->ans.message = cgrpc_server_call_printf(call, "response message larger than max (%zu vs. %lld)",
                                             len, (long long)srv->max_send);
  } else if (len > UINT32_MAX ||
             (framed = cgrpc_arena_alloc(&call->arena, CGRPC_FRAME_PREFIX + len)) == NULL) {
    call->ans.code = CGRPC_STATUS_RESOURCE_EXHAUSTED;
    call->ans.message = "out of memory encoding the response";
  } else {
    cgrpc_frame_write_prefix(framed, 0, (uint32_t)len);
    protobuf_c_message_pack(call->ans.response, framed + CGRPC_FRAME_PREFIX);
    cgrpc_buf_wrap(&call->ans.resp_buf, framed, CGRPC_FRAME_PREFIX + len);
    if (call->ans.send_enc != CGRPC_ENCODING_IDENTITY)
      handler_compress_response(call, framed, len);
  }
}

/* The outermost stage finished: encode a single response, hand over the answer. */
static void handler_finish_outer(cgrpc_server_call *call)
{
  __atomic_store_n(&call->handler_done, 1, __ATOMIC_RELEASE); /* no more callbacks */
  if (!call->req.streams_out && call->ans.code == CGRPC_STATUS_OK && !cgrpc_server_call_cancelled(call)) {
    cgrpc_server_call_hook_send(call, call->ans.response);
    handler_encode_response(call);
  }
  cgrpc_server_call_party_done(call); /* before answering: the call may go with the answer */
  cgrpc_server_call_answer(call);
}

static void handler_finish_stage(cgrpc_server_call *call)
{
  if (call->stage == 0) {
    handler_finish_outer(call);
    return;
  }
  call->stage--;
  cgrpc_server_stage *outer = &call->stages[call->stage];
  if (outer->done != NULL)
    outer->done(call, outer->user_data);
  else
    handler_finish_stage(call);
}

static void handler_stage_run(cgrpc_server_call *call)
{
  cgrpc_server *srv = call->srv;
  if (call->stage < srv->ninterceptors) {
    const cgrpc_server_interceptor *ic = &srv->interceptors[call->stage];
    if (call->stage >= __atomic_load_n(&call->entered, __ATOMIC_RELAXED))
      __atomic_store_n(&call->entered, call->stage + 1, __ATOMIC_RELEASE);
    if (ic->hooks.start != NULL)
      ic->hooks.start(call, ic->user_data);
    else
      cgrpc_server_call_proceed(call, NULL, NULL);
    return;
  }
  const cgrpc_registry_entry *e = call->req.entry;
  if (!call->req.streams_in)
    cgrpc_server_call_hook_recv(call, call->req.request); /* the handler gets it now */
  cgrpc_code code = e->desc->invoke_handler(e->handler, call, call->req.request, call->ans.response,
                                            e->user_data);
  int expected = CGRPC_DEFER_RUNNING;
  if (__atomic_load_n(&call->defer_state, __ATOMIC_ACQUIRE) == CGRPC_DEFER_NONE)
    call->ans.code = code;
  else if (__atomic_compare_exchange_n(&call->defer_state, &expected, CGRPC_DEFER_RETURNED, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return; /* the answer comes later, from cgrpc_server_call_finish */
  /* Not deferred, or deferred and already finished while the handler ran. */
  handler_finish_stage(call);
}

void cgrpc_server_call_proceed(cgrpc_server_call *call, cgrpc_server_done_fn done, void *user_data)
{
  call->stages[call->stage].done = done;
  call->stages[call->stage].user_data = user_data;
  call->stage++;
  handler_stage_run(call);
}

void cgrpc_server_call_finish(cgrpc_server_call *call)
{
  /* A deferring handler's answer may come before the handler has returned;
   * then the handler's thread finishes the stage once it has. */
  int expected = CGRPC_DEFER_RUNNING;
  if (call->stage == call->nstages - 1 &&
      __atomic_compare_exchange_n(&call->defer_state, &expected, CGRPC_DEFER_FINISHED_EARLY, 0,
                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return;
  handler_finish_stage(call);
}

/* A request that came compressed is inflated and decoded here, on the handler's thread, into
 * the call's arena.  Returns 0, or nonzero with the answer set. */
static int handler_decode_request(cgrpc_server_call *call)
{
  char why[128];
  cgrpc_code code = cgrpc_message_decode("request", call->req.entry->desc->request,
                                         &call->arena.pb, &call->srv->alloc, call->req.raw_encoding,
                                         call->req.raw, call->req.raw_len, call->stream.max_recv,
                                         &call->req.request, NULL, why, sizeof why);
  if (code == CGRPC_STATUS_OK)
    return 0;
  call->ans.code = code;
  call->ans.message = cgrpc_server_call_printf(call, "%s", why);
  return -1;
}

void cgrpc_server_call_run(void *ud)
{
  cgrpc_server_call *call = ud;
  call->stage = 0;
  if (cgrpc_server_call_cancelled(call)) {
    call->ans.code = CGRPC_STATUS_CANCELLED;
    handler_finish_outer(call);
    return;
  }
  if (call->req.raw != NULL && handler_decode_request(call) != 0) {
    handler_finish_outer(call);
    return;
  }
  handler_stage_run(call);
}

void cgrpc_server_call_defer(cgrpc_server_call *call)
{
  __atomic_store_n(&call->defer_state, CGRPC_DEFER_RUNNING, __ATOMIC_RELEASE);
}

/* ---- streams --------------------------------------------------------------------------------- */

int cgrpc_server_call_recv(cgrpc_server_call *call, const ProtobufCMessage **msg)
{
  if (call == NULL || !call->req.streams_in || msg == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  *msg = NULL;
  if (call->last_recv != NULL) {
    protobuf_c_message_free_unpacked((ProtobufCMessage *)call->last_recv, &call->srv->pb);
    call->last_recv = NULL;
    cgrpc_budget_give(call->inflated, call->inflated_held); /* server_call.c's decode */
    call->inflated_held = 0;
  }
  void *m = NULL;
  int resume = 0;
  int compressed = 0;
  /* On the I/O thread a wait would stall the very loop that brings the message. */
  int block = !cgrpc_loop_on_thread(call->srv->loop);
  int rv = cgrpc_pipe_read(&call->pipe, &m, block, &resume, &compressed);
  if (resume)
    cgrpc_server_call_post_resume(call);
  if (rv == CGRPC_ERR_AGAIN)
    return rv;
  if (rv == CGRPC_ERR_PROTO) {
    cgrpc_server_call_post_fail_recv(call); /* the call ends with why */
    return CGRPC_ERR_CLOSED;
  }
  if (rv == 1) {
    call->last_recv = m;
    call->req.last_compressed = compressed;
    cgrpc_server_call_hook_recv(call, m);
    *msg = m;
    return 1;
  }
  return cgrpc_server_call_cancelled(call) ? CGRPC_ERR_CLOSED : 0;
}

int cgrpc_server_call_send_flags(cgrpc_server_call *call, const ProtobufCMessage *msg,
                                 unsigned flags)
{
  if (call == NULL || !call->req.streams_out || msg == NULL ||
      msg->descriptor != call->req.entry->desc->response)
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (cgrpc_server_call_cancelled(call))
    return CGRPC_ERR_CLOSED;
  int enc = flags & CGRPC_SEND_NO_COMPRESS ? CGRPC_ENCODING_IDENTITY : call->ans.send_enc;
  /* The loop sends the initial metadata with it. */
  __atomic_store_n(&call->ans.headers_frozen, 1, __ATOMIC_RELEASE);
  int block = !(flags & CGRPC_SEND_NO_BLOCK) && !cgrpc_loop_on_thread(call->srv->loop);
  int rv = cgrpc_pipe_write_message(&call->pipe, msg, enc, call->srv->max_send, block);
  if (rv != 0)
    return rv;
  cgrpc_server_call_hook_send(call, msg);
  cgrpc_server_call_post_send(call);
  return 0;
}

int cgrpc_server_call_send(cgrpc_server_call *call, const ProtobufCMessage *msg)
{
  return cgrpc_server_call_send_flags(call, msg, 0);
}

int cgrpc_server_call_try_send(cgrpc_server_call *call, const ProtobufCMessage *msg)
{
  return cgrpc_server_call_send_flags(call, msg, CGRPC_SEND_NO_BLOCK);
}

int cgrpc_server_call_send_headers(cgrpc_server_call *call)
{
  if (call == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (cgrpc_server_call_cancelled(call))
    return CGRPC_ERR_CLOSED;
  if (__atomic_exchange_n(&call->ans.headers_frozen, 1, __ATOMIC_ACQ_REL))
    return CGRPC_ERR_STATE;
  cgrpc_server_call_post_headers(call);
  return 0;
}

cgrpc_time cgrpc_server_call_start_time(const cgrpc_server_call *call)
{
  return call->start_time;
}

int cgrpc_server_call_set_compression(cgrpc_server_call *call, const char *encoding)
{
  cgrpc_encoding e = encoding != NULL ? cgrpc_encoding_parse(encoding, strlen(encoding))
                                      : CGRPC_ENCODING_IDENTITY;
  if (call == NULL || e == CGRPC_ENCODING_UNKNOWN)
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (__atomic_load_n(&call->ans.headers_frozen, __ATOMIC_ACQUIRE))
    return CGRPC_ERR_STATE; /* the response headers are out */
  call->ans.send_enc = e;
  return 0;
}

int cgrpc_server_call_request_compressed(const cgrpc_server_call *call)
{
  return call->req.last_compressed;
}

void cgrpc_server_call_set_callbacks(cgrpc_server_call *call,
                                     const cgrpc_server_call_callbacks *callbacks, void *user_data)
{
  if (call == NULL || callbacks == NULL || !(call->req.streams_in || call->req.streams_out))
    return;
  call->cbs = *callbacks;
  call->cbs_user_data = user_data;
  /* The loop switches to them, delivering what already waits. */
  cgrpc_server_call_post_callbacks(call);
}

/* Typed callbacks (generated code's): cbs point at these, which call them through the
 * method's invoker. */
static void typed_invoke(cgrpc_server_call *call, int which, const void *arg, void *ud)
{
  call->req.entry->desc->invoke_server_callback(call->typed[which], which, call, (void *)arg, ud);
}

static void typed_on_message(cgrpc_server_call *call, const ProtobufCMessage *msg, void *ud)
{
  typed_invoke(call, CGRPC_SERVER_CALLBACK_MESSAGE, msg, ud);
}

static void typed_on_recv_done(cgrpc_server_call *call, void *ud)
{
  typed_invoke(call, CGRPC_SERVER_CALLBACK_RECV_DONE, NULL, ud);
}

static void typed_on_send_ready(cgrpc_server_call *call, void *ud)
{
  typed_invoke(call, CGRPC_SERVER_CALLBACK_SEND_READY, NULL, ud);
}

static void typed_on_cancel(cgrpc_server_call *call, void *ud)
{
  typed_invoke(call, CGRPC_SERVER_CALLBACK_CANCEL, NULL, ud);
}

void cgrpc_server_call_set_callbacks_typed(cgrpc_server_call *call,
                                           const cgrpc_fn callbacks[CGRPC_SERVER_CALLBACK_COUNT],
                                           void *user_data)
{
  if (call == NULL || callbacks == NULL || call->req.entry->desc->invoke_server_callback == NULL)
    return;
  memcpy(call->typed, callbacks, sizeof call->typed);
  cgrpc_server_call_callbacks cbs = {
      .on_message = callbacks[CGRPC_SERVER_CALLBACK_MESSAGE] != NULL ? typed_on_message : NULL,
      .on_recv_done = callbacks[CGRPC_SERVER_CALLBACK_RECV_DONE] != NULL ? typed_on_recv_done : NULL,
      .on_send_ready =
          callbacks[CGRPC_SERVER_CALLBACK_SEND_READY] != NULL ? typed_on_send_ready : NULL,
      .on_cancel = callbacks[CGRPC_SERVER_CALLBACK_CANCEL] != NULL ? typed_on_cancel : NULL,
  };
  cgrpc_server_call_set_callbacks(call, &cbs, user_data);
}

/* ---- what a handler may ask ------------------------------------------------------------------ */

const cgrpc_method_desc *cgrpc_server_call_method(const cgrpc_server_call *call)
{
  return call->req.entry != NULL ? call->req.entry->desc : NULL;
}

const char *cgrpc_server_call_path(const cgrpc_server_call *call)
{
  return call->req.path;
}

const char *cgrpc_server_call_authority(const cgrpc_server_call *call)
{
  return call->req.authority;
}

const char *cgrpc_server_call_peer(const cgrpc_server_call *call)
{
  return call->req.peer;
}

const char *cgrpc_server_call_peer_subject(const cgrpc_server_call *call)
{
  return call != NULL && call->req.peer_identity != NULL ? call->req.peer_identity + 1 : NULL;
}

const char *cgrpc_server_call_peer_san(const cgrpc_server_call *call, int i)
{
  const char *p = cgrpc_server_call_peer_subject(call);
  if (p == NULL || i < 0)
    return NULL;
  p += strlen(p) + 1; /* past the subject */
  for (; *p != 0; p += strlen(p) + 1)
    if (i-- == 0)
      return p;
  return NULL;
}

const cgrpc_metadata *cgrpc_server_call_metadata(const cgrpc_server_call *call)
{
  static const cgrpc_metadata empty;
  return call->req.md != NULL ? call->req.md : &empty;
}

const char *cgrpc_server_call_idempotency_key(const cgrpc_server_call *call)
{
  const cgrpc_method_desc *m = cgrpc_server_call_method(call);
  const char *header = m != NULL && m->policy != NULL && m->policy->idempotency_key_header != NULL
                           ? m->policy->idempotency_key_header
                           : CGRPC_IDEMPOTENCY_KEY_HEADER;
  const char *key = cgrpc_metadata_get(call->req.md, header);
  return key != NULL && key[0] != '\0' ? key : NULL;
}

const ProtobufCMessage *cgrpc_server_call_request(const cgrpc_server_call *call)
{
  return call->req.request;
}

ProtobufCMessage *cgrpc_server_call_response(cgrpc_server_call *call)
{
  return call->ans.response;
}

cgrpc_time cgrpc_server_call_deadline(const cgrpc_server_call *call)
{
  return call->req.deadline;
}

int64_t cgrpc_server_call_remaining_ms(const cgrpc_server_call *call)
{
  if (call->req.deadline == CGRPC_TIME_INFINITE)
    return -1;
  cgrpc_time left = call->req.deadline - cgrpc_now();
  return left > 0 ? left / 1000000 : 0;
}

int cgrpc_server_call_is_cancelled(const cgrpc_server_call *call)
{
  if (cgrpc_server_call_cancelled(call))
    return 1;
  return call->req.deadline != CGRPC_TIME_INFINITE && cgrpc_now() >= call->req.deadline;
}

static int handler_add_md(cgrpc_server_call *call, cgrpc_metadata **md, const char *key,
                          const void *value, size_t len)
{
  int rv = cgrpc_metadata_ensure(md, &call->arena_alloc);
  return rv != 0 ? rv : cgrpc_metadata_add(*md, key, value, len);
}

int cgrpc_server_call_add_initial_metadata(cgrpc_server_call *call, const char *key,
                                           const void *value, size_t len)
{
  if (__atomic_load_n(&call->ans.headers_frozen, __ATOMIC_ACQUIRE))
    return CGRPC_ERR_STATE; /* sent with the first message, or by send_headers */
  return handler_add_md(call, &call->ans.initial_md, key, value, len);
}

int cgrpc_server_call_add_trailing_metadata(cgrpc_server_call *call, const char *key,
                                            const void *value, size_t len)
{
  return handler_add_md(call, &call->ans.trailing_md, key, value, len);
}

int cgrpc_server_call_previous_attempts(const cgrpc_server_call *call)
{
  return call->req.previous_attempts;
}

int cgrpc_server_call_set_retry_pushback_ms(cgrpc_server_call *call, int64_t ms)
{
  char v[24];
  int n = snprintf(v, sizeof v, "%lld", (long long)(ms < 0 ? -1 : ms));
  int rv = cgrpc_metadata_ensure(&call->ans.trailing_md, &call->arena_alloc);
  return rv != 0 ? rv
                 : cgrpc_metadata_append(call->ans.trailing_md, "grpc-retry-pushback-ms", 22,
                                         (const uint8_t *)v, (size_t)n);
}

void *cgrpc_server_call_alloc(cgrpc_server_call *call, size_t size)
{
  return cgrpc_arena_alloc(&call->arena, size);
}

char *cgrpc_server_call_strdup(cgrpc_server_call *call, const char *s)
{
  return s != NULL ? cgrpc_arena_strndup(&call->arena, s, strlen(s)) : NULL;
}

static char *handler_vprintf(cgrpc_server_call *call, const char *fmt, va_list ap)
    CGRPC_PRINTF(2, 0);
static char *handler_vprintf(cgrpc_server_call *call, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return NULL;
  char *s = cgrpc_arena_alloc(&call->arena, (size_t)n + 1);
  if (s != NULL)
    vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

char *cgrpc_server_call_printf(cgrpc_server_call *call, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *s = handler_vprintf(call, fmt, ap);
  va_end(ap);
  return s;
}

cgrpc_code cgrpc_server_call_set_status(cgrpc_server_call *call, cgrpc_code code, const char *fmt,
                                        ...)
{
  call->ans.code = code;
  call->ans.message = NULL;
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    call->ans.message = handler_vprintf(call, fmt, ap);
    va_end(ap);
  }
  return code;
}

cgrpc_code cgrpc_server_call_status_code(const cgrpc_server_call *call)
{
  return call->ans.code;
}

const char *cgrpc_server_call_status_message(const cgrpc_server_call *call)
{
  return call->ans.message != NULL ? call->ans.message : "";
}
