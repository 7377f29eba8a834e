/* Client calls: starting them, running the interceptor stages, and each attempt's HTTP/2 stream. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "channel_internal.h"
#include "client_call.h"
#include "headers.h"
#include "metadata_internal.h"
#include "percent.h"
#include "status_map.h"

/* Received metadata beyond this ends the call with RESOURCE_EXHAUSTED. */
#define CLIENT_MAX_HEADER_BYTES (64 * 1024)

static void call_ref(cgrpc_call *call)
{
  __atomic_add_fetch(&call->refs, 1, __ATOMIC_RELAXED);
}

static void call_unref(cgrpc_call *call)
{
  if (__atomic_sub_fetch(&call->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  const cgrpc_allocator *a = call->alloc;
  cgrpc_status_clear(&call->status);
  cgrpc_status_clear(&call->rx);
  cgrpc_metadata_free(call->md);
  cgrpc_frame_decoder_clear(&call->dec);
  cgrpc_allocator copy = *a;
  cgrpc_free(&copy, call);
}

/* ---- the result and the stages ------------------------------------------------ */

static void call_set_result(cgrpc_call *call, cgrpc_code code, const char *fmt, ...)
    CGRPC_PRINTF(3, 4);

static void call_set_result(cgrpc_call *call, cgrpc_code code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cgrpc_status_setv(&call->status, call->alloc, code, fmt, ap);
  va_end(ap);
  if (call->response != NULL) {
    protobuf_c_message_free_unpacked(call->response, &call->ch->pb_alloc);
    call->response = NULL;
  }
}

static void call_complete(cgrpc_call *call)
{
  ProtobufCMessage *resp = call->status.code == CGRPC_STATUS_OK ? call->response : NULL;
  if (resp == NULL && call->response != NULL)
    protobuf_c_message_free_unpacked(call->response, &call->ch->pb_alloc);
  call->response = NULL;
  if (call->status.message == NULL)
    cgrpc_status_set(&call->status, call->alloc, call->status.code, NULL);
  __atomic_store_n(&call->finished, 1, __ATOMIC_RELEASE);
  call->invoke(call->done_fn, &call->status, resp, call->done_user_data);
  cgrpc_status_clear(&call->status);
  call_unref(call);
}

static void attempt_begin(cgrpc_call *call);

static void stage_run(cgrpc_call *call, size_t stage)
{
  if (stage < call->ch->ninterceptors) {
    const cgrpc_client_interceptor *ic = &call->ch->interceptors[stage];
    ic->fn(&call->ctx[stage], ic->user_data);
  } else {
    attempt_begin(call);
  }
}

void cgrpc_client_ctx_proceed(cgrpc_client_ctx *ctx, cgrpc_client_done_fn done, void *user_data)
{
  cgrpc_call *call = ctx->call;
  ctx->done = done;
  ctx->done_user_data = user_data;
  cgrpc_status_clear(&call->status);
  if (call->response != NULL) {
    protobuf_c_message_free_unpacked(call->response, &call->ch->pb_alloc);
    call->response = NULL;
  }
  stage_run(call, ctx->stage + 1);
}

void cgrpc_client_ctx_finish(cgrpc_client_ctx *ctx)
{
  cgrpc_call *call = ctx->call;
  if (ctx->stage == 0) {
    call_complete(call);
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
  cgrpc_call *call = ctx->call;
  va_list ap;
  va_start(ap, fmt);
  cgrpc_status_setv(&call->status, call->alloc, code, fmt, ap);
  va_end(ap);
  if (call->response != NULL) {
    protobuf_c_message_free_unpacked(call->response, &call->ch->pb_alloc);
    call->response = NULL;
  }
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

/* ---- attempts ------------------------------------------------------------------- */

static void call_release(void *obj)
{
  call_unref(obj);
}

static void attempt_detach(cgrpc_call *call)
{
  if (cgrpc_list_linked(&call->node))
    cgrpc_list_remove(&call->node);
  cgrpc_conn *conn = call->conn;
  int32_t id = call->stream_id;
  call->sendq.stream_id = 0; /* whatever nghttp2 still holds of it resets the stream */
  if (conn != NULL && id > 0 && !conn->dead) {
    nghttp2_session_set_stream_user_data(conn->ng, id, NULL);
    /* Still sending: nghttp2 may hold a DATA frame pointing into this call
     * until the stream closes, so the stream keeps the call alive. */
    if (nghttp2_session_get_stream_local_close(conn->ng, id) == 0) {
      call_ref(call);
      if (cgrpc_conn_add_zombie(conn, id, call, call_release) != 0) {
        call_unref(call);
        cgrpc_conn_fail(conn, "out of memory"); /* nothing may point into the call */
      }
    }
  }
  call->conn = NULL;
  call->stream_id = 0;
}

/* The attempt is over: its result goes to the innermost stage's owner. */
static void attempt_end(cgrpc_call *call)
{
  call->attempt_active = 0;
  cgrpc_loop_timer_stop(call->ch->loop, &call->deadline_timer);
  attempt_detach(call);
  cgrpc_frame_decoder_clear(&call->dec);
  cgrpc_status_clear(&call->rx);
  cgrpc_client_ctx_finish(&call->ctx[call->nstages - 1]);
}

void cgrpc_client_call_abort(cgrpc_call *call, cgrpc_code code, const char *fmt, ...)
{
  if (!call->attempt_active)
    return;
  if (call->conn != NULL && call->stream_id > 0 && !call->conn->dead) {
    nghttp2_submit_rst_stream(call->conn->ng, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
    cgrpc_conn_kick(call->conn);
  }
  va_list ap;
  va_start(ap, fmt);
  cgrpc_status_setv(&call->status, call->alloc, code, fmt, ap);
  va_end(ap);
  if (call->response != NULL) {
    protobuf_c_message_free_unpacked(call->response, &call->ch->pb_alloc);
    call->response = NULL;
  }
  attempt_end(call);
}

static void attempt_on_deadline(void *ud)
{
  cgrpc_call *call = ud;
  cgrpc_client_call_abort(call, CGRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded");
}

static void attempt_start_task(void *ud)
{
  cgrpc_call *call = ud;
  call->attempt_active = 1;
  if (__atomic_load_n(&call->cancel_requested, __ATOMIC_ACQUIRE)) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_CANCELLED, "Cancelled");
    return;
  }
  if (call->deadline != CGRPC_TIME_INFINITE) {
    if (call->deadline <= cgrpc_now()) {
      cgrpc_client_call_abort(call, CGRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded");
      return;
    }
    if (cgrpc_loop_timer_start(call->ch->loop, &call->deadline_timer, call->deadline) != 0) {
      cgrpc_client_call_abort(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
      return;
    }
  }
  cgrpc_channel_start_attempt(call->ch, call);
}

static void attempt_begin(cgrpc_call *call)
{
  call->sendbuf.data = call->req;
  call->sendbuf.len = call->req_len;
  call->sendbuf.off = 0;
  call->sendq.head = call->sendq.tail = NULL;
  call->sendq.bytes = 0;
  cgrpc_sendq_push(&call->sendq, &call->sendbuf);
  cgrpc_frame_decoder_init(&call->dec, call->alloc, call->ch->max_recv);
  call->http_status = 0;
  call->got_content_type = 0;
  call->grpc_status = -1;
  call->remote_closed = 0;
  call->n_messages = 0;
  call->header_bytes = 0;
  cgrpc_status_clear(&call->rx);
  cgrpc_loop_post(call->ch->loop, &call->start_task);
}

static void call_cancel_task(void *ud)
{
  cgrpc_call *call = ud;
  cgrpc_client_call_abort(call, CGRPC_STATUS_CANCELLED, "Cancelled");
  call_unref(call);
}

/* ---- the HTTP/2 stream ----------------------------------------------------------- */

static ssize_t client_read_cb(nghttp2_session *ng, int32_t stream_id, uint8_t *buf, size_t length,
                              uint32_t *data_flags, nghttp2_data_source *source, void *ud)
{
  cgrpc_sendq *q = source->ptr;
  (void)ng;
  (void)buf;
  (void)ud;
  if (q->stream_id != stream_id)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* abandoned: reset it */
  size_t n = q->bytes < length ? q->bytes : length;
  *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n == q->bytes)
    *data_flags |= NGHTTP2_DATA_FLAG_EOF; /* a unary request is queued whole */
  return (ssize_t)n;
}

void cgrpc_client_call_submit(cgrpc_call *call, cgrpc_conn *conn)
{
  cgrpc_channel *ch = call->ch;
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, call->alloc);
  const char *path = call->method->path;
  int rv = cgrpc_nvbuf_add_static(&nv, ":method", "POST");
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, ":scheme", "http");
  rv = rv ? rv : cgrpc_nvbuf_add(&nv, ":path", 5, path, strlen(path));
  rv = rv ? rv : cgrpc_nvbuf_add(&nv, ":authority", 10, ch->authority, strlen(ch->authority));
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, "te", "trailers");
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, "content-type", "application/grpc");
  rv = rv ? rv : cgrpc_nvbuf_add(&nv, "user-agent", 10, ch->user_agent, strlen(ch->user_agent));
  if (rv == 0 && call->deadline != CGRPC_TIME_INFINITE)
    rv = cgrpc_nvbuf_add_timeout(&nv, call->deadline - cgrpc_now());
  rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, call->md);
  if (rv != 0) {
    cgrpc_nvbuf_clear(&nv);
    cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL, "out of memory building headers");
    return;
  }
  nghttp2_data_provider prd;
  prd.source.ptr = &call->sendq;
  prd.read_callback = client_read_cb;
  int32_t id = nghttp2_submit_request(conn->ng, NULL, nv.nv, nv.n, &prd, call);
  cgrpc_nvbuf_clear(&nv);
  if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
    /* This connection has used up its stream ids: retire it, use another. */
    cgrpc_channel_retire_conn(ch, conn);
    cgrpc_channel_start_attempt(ch, call);
    return;
  }
  if (id < 0) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_UNAVAILABLE, "cannot open a stream: %s",
                            nghttp2_strerror(id));
    return;
  }
  call->conn = conn;
  call->stream_id = id;
  call->sendq.stream_id = id;
  cgrpc_list_push_back(&conn->streams, &call->node);
  cgrpc_conn_kick(conn);
}

static cgrpc_call *client_stream_call(nghttp2_session *ng, int32_t stream_id)
{
  return nghttp2_session_get_stream_user_data(ng, stream_id);
}

static int client_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                            size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                            void *ud)
{
  (void)flags;
  (void)ud;
  if (frame->hd.type != NGHTTP2_HEADERS)
    return 0;
  cgrpc_call *call = client_stream_call(ng, frame->hd.stream_id);
  if (call == NULL || !call->attempt_active)
    return 0;
  call->header_bytes += namelen + valuelen + 32;
  if (call->header_bytes > CLIENT_MAX_HEADER_BYTES) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                            "received metadata larger than %d bytes", CLIENT_MAX_HEADER_BYTES);
    return 0;
  }
  /* Headers of a Trailers-Only response are trailers. */
  int trailers = frame->headers.cat == NGHTTP2_HCAT_HEADERS ||
                 (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (cgrpc_header_classify(name, namelen)) {
  case CGRPC_HDR_STATUS:
    call->http_status = 0;
    for (size_t i = 0; i < valuelen && i < 3; i++)
      call->http_status = call->http_status * 10 + (value[i] - '0');
    return 0;
  case CGRPC_HDR_CONTENT_TYPE:
    call->got_content_type = cgrpc_content_type_is_grpc(value, valuelen);
    return 0;
  case CGRPC_HDR_GRPC_STATUS:
    call->grpc_status = cgrpc_code_parse((const char *)value, valuelen);
    if (call->grpc_status < 0)
      call->grpc_status = CGRPC_STATUS_UNKNOWN;
    return 0;
  case CGRPC_HDR_GRPC_MESSAGE: {
    char *msg = cgrpc_malloc(call->alloc, valuelen + 1);
    if (msg == NULL)
      return 0;
    cgrpc_percent_decode(msg, (const char *)value, valuelen);
    cgrpc_status_set(&call->rx, call->alloc, call->rx.code, msg);
    cgrpc_free(call->alloc, msg);
    return 0;
  }
  case CGRPC_HDR_OTHER: {
    cgrpc_metadata **md = trailers ? &call->rx.trailing_metadata : &call->rx.initial_metadata;
    int rv = cgrpc_metadata_ensure(md, call->alloc);
    if (rv == 0)
      rv = cgrpc_metadata_append_wire(*md, (const char *)name, namelen, (const char *)value,
                                      valuelen);
    if (rv == CGRPC_ERR_PROTO)
      cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL,
                              "invalid base64 in binary metadata %.*s", (int)namelen, name);
    return 0;
  }
  default:
    return 0;
  }
}

static int client_on_message(void *ud, const uint8_t *msg, size_t len, int compressed)
{
  cgrpc_call *call = ud;
  if (compressed) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL,
                            "compressed message without a grpc-encoding we support");
    return -1;
  }
  if (++call->n_messages > 1) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL,
                            "unary call received more than one response message");
    return -1;
  }
  call->response = protobuf_c_message_unpack(call->method->response, &call->ch->pb_alloc, len, msg);
  if (call->response == NULL) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL, "failed to parse response message (%s)",
                            call->method->response->name);
    return -1;
  }
  return 0;
}

static int client_on_data(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                          const uint8_t *data, size_t len, void *ud)
{
  (void)flags;
  (void)ud;
  cgrpc_call *call = client_stream_call(ng, stream_id);
  if (call == NULL || !call->attempt_active)
    return 0;
  if (call->http_status != 200 || !call->got_content_type)
    return 0; /* not a gRPC body; the status comes from :status */
  call_ref(call); /* a message may end the call inside the feed */
  int rv = cgrpc_frame_decoder_feed(&call->dec, data, len, client_on_message, call);
  if (rv == CGRPC_ERR_TOO_LARGE)
    cgrpc_client_call_abort(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                            "received message larger than max (%u vs. %lld)",
                            call->dec.too_large_len, (long long)call->ch->max_recv);
  else if (rv == CGRPC_ERR_PROTO)
    cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL, "malformed message prefix");
  else if (rv == CGRPC_ERR_NOMEM)
    cgrpc_client_call_abort(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  call_unref(call);
  return 0;
}

/* The server ended its side: settle the attempt's status. */
static void client_remote_end(cgrpc_call *call)
{
  cgrpc_code code;
  const char *msg = call->rx.message != NULL ? call->rx.message : "";
  char buf[128];
  if (call->grpc_status >= 0) {
    code = (cgrpc_code)call->grpc_status;
  } else if (call->http_status != 200) {
    code = cgrpc_code_from_http_status(call->http_status);
    snprintf(buf, sizeof buf, "HTTP status %d without grpc-status", call->http_status);
    msg = buf;
  } else if (!call->got_content_type) {
    code = CGRPC_STATUS_UNKNOWN;
    msg = "response content-type is not application/grpc";
  } else {
    code = CGRPC_STATUS_INTERNAL;
    msg = "server closed the stream without sending trailers";
  }
  if (code == CGRPC_STATUS_OK && cgrpc_frame_decoder_partial(&call->dec)) {
    code = CGRPC_STATUS_INTERNAL;
    msg = "stream ended in the middle of a message";
  } else if (code == CGRPC_STATUS_OK && call->response == NULL) {
    code = CGRPC_STATUS_INTERNAL;
    msg = "server sent OK without a response message";
  }
  cgrpc_status_set(&call->status, call->alloc, code, msg);
  cgrpc_metadata_free(call->status.initial_metadata);
  cgrpc_metadata_free(call->status.trailing_metadata);
  call->status.initial_metadata = call->rx.initial_metadata;
  call->status.trailing_metadata = call->rx.trailing_metadata;
  call->rx.initial_metadata = call->rx.trailing_metadata = NULL;
  if (code != CGRPC_STATUS_OK && call->response != NULL) {
    protobuf_c_message_free_unpacked(call->response, &call->ch->pb_alloc);
    call->response = NULL;
  }
  /* If our side is still sending, stop it: the call is decided. */
  if (nghttp2_session_get_stream_local_close(call->conn->ng, call->stream_id) == 0) {
    nghttp2_submit_rst_stream(call->conn->ng, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
    cgrpc_conn_kick(call->conn);
  }
  attempt_end(call);
}

static int client_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  cgrpc_conn *conn = ud;
  if (frame->hd.stream_id == 0) {
    cgrpc_conn_on_frame(conn, frame);
    return 0;
  }
  if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
    return 0;
  cgrpc_call *call = client_stream_call(ng, frame->hd.stream_id);
  if (call != NULL && call->attempt_active)
    client_remote_end(call);
  return 0;
}

static int client_on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code,
                                  void *ud)
{
  cgrpc_conn *conn = ud;
  cgrpc_call *call = client_stream_call(ng, stream_id);
  if (call == NULL) {
    cgrpc_conn_bury(conn, stream_id);
    return 0;
  }
  if (!call->attempt_active)
    return 0;
  if (error_code == NGHTTP2_REFUSED_STREAM)
    cgrpc_client_call_abort(call, CGRPC_STATUS_UNAVAILABLE, "stream refused by the server");
  else
    cgrpc_client_call_abort(call, cgrpc_code_from_rst_stream(error_code),
                            "stream reset by the server (HTTP/2 error %s)",
                            nghttp2_http2_strerror(error_code));
  return 0;
}

void cgrpc_client_conn_setup(nghttp2_session_callbacks *cbs)
{
  nghttp2_session_callbacks_set_on_header_callback(cbs, client_on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, client_on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, client_on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, client_on_stream_close);
}

void cgrpc_client_conn_fail_streams(cgrpc_conn *conn)
{
  while (!cgrpc_list_empty(&conn->streams)) {
    cgrpc_call *call = cgrpc_container_of(conn->streams.next, cgrpc_call, node);
    cgrpc_client_call_abort(call, CGRPC_STATUS_UNAVAILABLE, "connection to %s lost: %s",
                            conn->peer, conn->error);
  }
}

/* ---- starting calls ------------------------------------------------------------ */

static void unary_invoke_plain(cgrpc_fn fn, cgrpc_status *status, ProtobufCMessage *response,
                               void *user_data)
{
  ((cgrpc_unary_done)fn)(status, response, user_data);
}

/* now + ms, saturating at "no deadline". */
static cgrpc_time call_deadline_after_ms(int64_t ms)
{
  cgrpc_time now = cgrpc_now();
  if (ms >= (CGRPC_TIME_INFINITE - now) / 1000000)
    return CGRPC_TIME_INFINITE;
  return now + CGRPC_MS_TO_NS(ms);
}

static int call_new(cgrpc_call **out, cgrpc_channel *ch, const cgrpc_method_desc *method,
                    const ProtobufCMessage *request, const cgrpc_call_options *opts)
{
  if (ch == NULL || method == NULL || request == NULL || method->response == NULL ||
      request->descriptor != method->request)
    return CGRPC_ERR_INVALID_ARGUMENT;
  size_t body = protobuf_c_message_get_packed_size(request);
  if (body > UINT32_MAX)
    return CGRPC_ERR_TOO_LARGE;
  size_t nstages = ch->ninterceptors + 1;
  size_t head = sizeof(cgrpc_call) + nstages * sizeof(cgrpc_client_ctx);
  cgrpc_call *call = cgrpc_calloc(&ch->alloc, 1, head + CGRPC_FRAME_PREFIX + body);
  if (call == NULL)
    return CGRPC_ERR_NOMEM;
  call->refs = 1;
  call->ch = ch;
  call->alloc_copy = ch->alloc;
  call->alloc = &call->alloc_copy; /* handles may outlive the channel */
  call->method = method;
  call->request = request;
  call->nstages = nstages;
  call->ctx = (cgrpc_client_ctx *)(call + 1);
  for (size_t i = 0; i < nstages; i++) {
    call->ctx[i].call = call;
    call->ctx[i].stage = i;
  }
  call->req = (uint8_t *)call + head;
  call->req_len = CGRPC_FRAME_PREFIX + body;
  cgrpc_frame_write_prefix(call->req, 0, (uint32_t)body);
  protobuf_c_message_pack(request, call->req + CGRPC_FRAME_PREFIX);
  cgrpc_list_init(&call->node);
  cgrpc_timer_init(&call->deadline_timer, attempt_on_deadline, call);
  cgrpc_task_init(&call->start_task, attempt_start_task, call);
  cgrpc_task_init(&call->cancel_task, call_cancel_task, call);
  cgrpc_frame_decoder_init(&call->dec, call->alloc, ch->max_recv);
  cgrpc_status_init(&call->status);
  cgrpc_status_init(&call->rx);

  call->deadline = CGRPC_TIME_INFINITE;
  if (method->policy != NULL && method->policy->timeout_ms > 0)
    call->deadline = call_deadline_after_ms(method->policy->timeout_ms);
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
        call_unref(call);
        return CGRPC_ERR_NOMEM;
      }
    }
  }
  *out = call;
  return 0;
}

static int call_start(cgrpc_channel *ch, const cgrpc_method_desc *method,
                      const ProtobufCMessage *request, const cgrpc_call_options *opts,
                      cgrpc_unary_done_invoker invoke, cgrpc_fn done, void *user_data,
                      cgrpc_call **call_out)
{
  if (call_out != NULL)
    *call_out = NULL;
  if (done == NULL || invoke == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_call *call;
  int rv = call_new(&call, ch, method, request, opts);
  if (rv == CGRPC_ERR_TOO_LARGE) {
    cgrpc_status st = CGRPC_STATUS_INIT;
    cgrpc_status_setf(&st, NULL, CGRPC_STATUS_RESOURCE_EXHAUSTED, "request message too large");
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
    call_ref(call);
    *call_out = call;
  }
  if (ch->max_send >= 0 && (int64_t)(call->req_len - CGRPC_FRAME_PREFIX) > ch->max_send) {
    call_set_result(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                    "request message larger than max (%zu vs. %lld)",
                    call->req_len - CGRPC_FRAME_PREFIX, (long long)ch->max_send);
    call->request = NULL;
    call_complete(call);
    return 0;
  }
  call_ref(call); /* the stages may finish the call before this returns */
  stage_run(call, 0);
  call->request = NULL;
  call_unref(call);
  return 0;
}

int cgrpc_unary_call_start(cgrpc_channel *ch, const cgrpc_method_desc *method,
                           const ProtobufCMessage *request, const cgrpc_call_options *opts,
                           cgrpc_unary_done done, void *user_data, cgrpc_call **call_out)
{
  return call_start(ch, method, request, opts, unary_invoke_plain, (cgrpc_fn)done, user_data,
                    call_out);
}

int cgrpc_unary_call_start_typed(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                 const ProtobufCMessage *request, const cgrpc_call_options *opts,
                                 cgrpc_fn done, void *user_data, cgrpc_call **call_out)
{
  if (method == NULL || method->invoke_unary_done == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return call_start(ch, method, request, opts, method->invoke_unary_done, done, user_data,
                    call_out);
}

void cgrpc_call_cancel(cgrpc_call *call)
{
  if (call == NULL || __atomic_load_n(&call->finished, __ATOMIC_ACQUIRE))
    return;
  if (__atomic_exchange_n(&call->cancel_requested, 1, __ATOMIC_ACQ_REL))
    return;
  call_ref(call);
  cgrpc_loop_post(call->ch->loop, &call->cancel_task);
}

void cgrpc_call_free(cgrpc_call *call)
{
  if (call != NULL)
    call_unref(call);
}

/* ---- the blocking form ---------------------------------------------------------- */

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
