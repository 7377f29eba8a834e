/* Server calls: parse the request stream, run interceptors and the handler, send the answer. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "headers.h"
#include "metadata_internal.h"
#include "server_call.h"
#include "status_map.h"
#include "timeout.h"

/* defer_state: whether and how a handler answers after returning. */
enum { DEFER_NONE, DEFER_RUNNING, DEFER_RETURNED, DEFER_FINISHED_EARLY };

static void call_finish_stage(cgrpc_server_call *call);

static void call_unref(cgrpc_server_call *call)
{
  if (--call->refs > 0)
    return;
  cgrpc_server *srv = call->srv;
  cgrpc_loop_timer_stop(srv->loop, &call->deadline_timer);
  cgrpc_frame_decoder_clear(&call->dec);
  cgrpc_arena_clear(&call->arena);
  cgrpc_free(&srv->alloc, call);
  cgrpc_server_call_released(srv);
}

static int call_is_cancelled(const cgrpc_server_call *call)
{
  return __atomic_load_n(&call->cancelled, __ATOMIC_ACQUIRE);
}

static void call_cancel(cgrpc_server_call *call)
{
  __atomic_store_n(&call->cancelled, 1, __ATOMIC_RELEASE);
}

/* The stream is gone (closed or the connection died). */
static void call_detach(cgrpc_server_call *call)
{
  if (call->stream_closed)
    return;
  call->stream_closed = 1;
  /* A call still waiting for a handler thread will never be answered: take
   * it out of the queue now rather than keep its request in memory. */
  if (call->dispatched && call->srv->workers != NULL &&
      cgrpc_workers_cancel(call->srv->workers, &call->dispatch_task))
    call->refs--; /* the handler's; the stream's goes below */
  if (cgrpc_list_linked(&call->node))
    cgrpc_list_remove(&call->node);
  if (call->conn != NULL && !call->conn->dead)
    nghttp2_session_set_stream_user_data(call->conn->ng, call->stream_id, NULL);
  call->conn = NULL;
  cgrpc_loop_timer_stop(call->srv->loop, &call->deadline_timer);
  call_unref(call);
}

/* ---- answering (loop thread) ------------------------------------------------------- */

static int call_add_common_headers(cgrpc_nvbuf *nv, int http_status)
{
  static const char *const statuses[] = {"200", "405", "415"};
  const char *s = http_status == 405 ? statuses[1] : http_status == 415 ? statuses[2] : statuses[0];
  int rv = cgrpc_nvbuf_add_static(nv, ":status", s);
  return rv ? rv : cgrpc_nvbuf_add_static(nv, "content-type", "application/grpc");
}

/* with_md: also send the handler's metadata, which only the handler's side
 * may touch until it has finished. */
static int call_submit_trailers_only(cgrpc_server_call *call, int http_status, cgrpc_code code,
                                     const char *message, int with_md)
{
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, &call->srv->alloc);
  int rv = call_add_common_headers(&nv, http_status);
  rv = rv ? rv : cgrpc_nvbuf_add_status(&nv, code, message);
  if (with_md) {
    rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, call->initial_md);
    rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, call->trailing_md);
  }
  if (rv == 0)
    rv = nghttp2_submit_response(call->conn->ng, call->stream_id, nv.nv, nv.n, NULL);
  cgrpc_nvbuf_clear(&nv);
  return rv;
}

static ssize_t server_read_cb(nghttp2_session *ng, int32_t stream_id, uint8_t *buf, size_t length,
                              uint32_t *data_flags, nghttp2_data_source *source, void *ud)
{
  cgrpc_sendq *q = source->ptr;
  (void)buf;
  (void)ud;
  if (q->stream_id != stream_id)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  size_t n = q->bytes < length ? q->bytes : length;
  *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n < q->bytes)
    return (ssize_t)n;
  /* The last bytes: the trailers follow them. */
  cgrpc_server_call *call = nghttp2_session_get_stream_user_data(ng, stream_id);
  *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  if (call == NULL)
    return (ssize_t)n;
  *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, &call->srv->alloc);
  int rv = cgrpc_nvbuf_add_status(&nv, call->code, call->message);
  rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, call->trailing_md);
  if (rv == 0)
    rv = nghttp2_submit_trailer(ng, stream_id, nv.nv, nv.n);
  cgrpc_nvbuf_clear(&nv);
  if (rv != 0)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
  return (ssize_t)n;
}

static int call_submit_response(cgrpc_server_call *call)
{
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, &call->srv->alloc);
  int rv = call_add_common_headers(&nv, 200);
  rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, call->initial_md);
  if (rv == 0) {
    call->sendbuf.data = call->resp;
    call->sendbuf.len = call->resp_len;
    call->sendbuf.off = 0;
    cgrpc_sendq_push(&call->sendq, &call->sendbuf);
    call->sendq.stream_id = call->stream_id;
    nghttp2_data_provider prd;
    prd.source.ptr = &call->sendq;
    prd.read_callback = server_read_cb;
    rv = nghttp2_submit_response(call->conn->ng, call->stream_id, nv.nv, nv.n, &prd);
  }
  cgrpc_nvbuf_clear(&nv);
  return rv;
}

/* The answer is submitted (rv: how that went): write it. */
static void call_submitted(cgrpc_server_call *call, int rv)
{
  if (rv != 0)
    nghttp2_submit_rst_stream(call->conn->ng, NGHTTP2_FLAG_NONE, call->stream_id,
                              NGHTTP2_INTERNAL_ERROR);
  /* Answered before the client finished sending: stop its upload once our
   * END_STREAM is out (a reset before it would lose the status). */
  if (!call->request_done)
    call->rst_after_send = 1;
  cgrpc_conn_kick(call->conn);
}

/* Answers with what the handler's side decided (it has finished). */
static void call_respond(cgrpc_server_call *call)
{
  if (call->responded || call->stream_closed)
    return;
  call->responded = 1;
  cgrpc_loop_timer_stop(call->srv->loop, &call->deadline_timer);
  int rv;
  if (call->deadline != CGRPC_TIME_INFINITE && cgrpc_now() >= call->deadline)
    /* Too late: whatever the handler said, the client's deadline has passed. */
    rv = call_submit_trailers_only(call, 200, CGRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded", 1);
  else if (call->code == CGRPC_STATUS_OK && call->resp != NULL)
    rv = call_submit_response(call);
  else
    rv = call_submit_trailers_only(call, 200, call->code, call->message, 1);
  call_submitted(call, rv);
}

/* Ends the call now with a status of the runtime's own.  Once dispatched,
 * the call's arena, status and metadata belong to the handler's side, so
 * only what is passed here goes out (and the handler sees a cancellation). */
static void call_reject(cgrpc_server_call *call, int http_status, cgrpc_code code,
                        const char *fmt, ...) CGRPC_PRINTF(4, 5);

static void call_reject(cgrpc_server_call *call, int http_status, cgrpc_code code,
                        const char *fmt, ...)
{
  if (call->responded || call->stream_closed)
    return;
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  call->responded = 1;
  call_cancel(call);
  cgrpc_loop_timer_stop(call->srv->loop, &call->deadline_timer);
  call_submitted(call, call_submit_trailers_only(call, http_status, code, buf, !call->dispatched));
}

static void call_respond_task(void *ud)
{
  cgrpc_server_call *call = ud;
  call_respond(call);
  call_unref(call); /* the handler's reference */
}

static void call_on_deadline(void *ud)
{
  cgrpc_server_call *call = ud;
  call_reject(call, 200, CGRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded");
}

/* ---- the handler's side (handler thread) ---------------------------------------------- */

/* The outermost stage finished: encode the answer and hand it to the loop. */
static void call_finish_outer(cgrpc_server_call *call)
{
  cgrpc_server *srv = call->srv;
  if (call->code == CGRPC_STATUS_OK && !call_is_cancelled(call)) {
    size_t len = protobuf_c_message_get_packed_size(call->response);
    if (srv->max_send >= 0 && (int64_t)len > srv->max_send) {
      call->code = CGRPC_STATUS_RESOURCE_EXHAUSTED;
      call->message = cgrpc_server_call_printf(call, "response message larger than max (%zu vs. %lld)",
                                               len, (long long)srv->max_send);
    } else if (len > UINT32_MAX || (call->resp = cgrpc_arena_alloc(&call->arena,
                                                                   CGRPC_FRAME_PREFIX + len)) == NULL) {
      call->code = CGRPC_STATUS_RESOURCE_EXHAUSTED;
      call->message = "out of memory encoding the response";
    } else {
      cgrpc_frame_write_prefix(call->resp, 0, (uint32_t)len);
      protobuf_c_message_pack(call->response, call->resp + CGRPC_FRAME_PREFIX);
      call->resp_len = CGRPC_FRAME_PREFIX + len;
    }
  }
  /* Deferred answers may come from any thread; only the loop's may answer
   * directly. */
  if (srv->workers == NULL && cgrpc_loop_on_thread(srv->loop))
    call_respond_task(call);
  else
    cgrpc_loop_post(srv->loop, &call->respond_task);
}

static void call_stage_run(cgrpc_server_call *call)
{
  cgrpc_server *srv = call->srv;
  if (call->stage < srv->ninterceptors) {
    const cgrpc_server_interceptor *ic = &srv->interceptors[call->stage];
    ic->fn(call, ic->user_data);
    return;
  }
  const cgrpc_registry_entry *e = call->entry;
  cgrpc_code code = e->desc->invoke_unary(e->handler, call, call->request, call->response,
                                          e->user_data);
  int expected = DEFER_RUNNING;
  if (__atomic_load_n(&call->defer_state, __ATOMIC_ACQUIRE) == DEFER_NONE)
    call->code = code;
  else if (__atomic_compare_exchange_n(&call->defer_state, &expected, DEFER_RETURNED, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return; /* the answer comes later, from cgrpc_server_call_finish */
  /* Not deferred, or deferred and already finished while the handler ran. */
  call_finish_stage(call);
}

void cgrpc_server_call_proceed(cgrpc_server_call *call, cgrpc_server_done_fn done, void *user_data)
{
  call->stages[call->stage].done = done;
  call->stages[call->stage].user_data = user_data;
  call->stage++;
  call_stage_run(call);
}

void cgrpc_server_call_finish(cgrpc_server_call *call)
{
  /* A deferring handler's answer may come before the handler has returned;
   * then the handler's thread finishes the stage once it has. */
  int expected = DEFER_RUNNING;
  if (call->stage == call->nstages - 1 &&
      __atomic_compare_exchange_n(&call->defer_state, &expected, DEFER_FINISHED_EARLY, 0,
                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return;
  call_finish_stage(call);
}

static void call_finish_stage(cgrpc_server_call *call)
{
  if (call->stage == 0) {
    call_finish_outer(call);
    return;
  }
  call->stage--;
  cgrpc_server_stage *outer = &call->stages[call->stage];
  if (outer->done != NULL)
    outer->done(call, outer->user_data);
  else
    call_finish_stage(call);
}

static void call_dispatch_task(void *ud)
{
  cgrpc_server_call *call = ud;
  call->stage = 0;
  if (call_is_cancelled(call)) {
    call->code = CGRPC_STATUS_CANCELLED;
    call_finish_outer(call);
    return;
  }
  call_stage_run(call);
}

/* ---- the request (loop thread) ---------------------------------------------------------- */

static void call_dispatch(cgrpc_server_call *call)
{
  cgrpc_server *srv = call->srv;
  const ProtobufCMessageDescriptor *rd = call->entry->desc->response;
  call->response = cgrpc_arena_alloc(&call->arena, rd->sizeof_message);
  call->nstages = srv->ninterceptors + 1;
  call->stages = cgrpc_arena_alloc(&call->arena, call->nstages * sizeof *call->stages);
  if (call->response == NULL || call->stages == NULL) {
    call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  rd->message_init(call->response);
  call->dispatched = 1;
  call->refs++; /* the handler's, until its answer is handled on the loop */
  if (srv->workers != NULL)
    cgrpc_workers_submit(srv->workers, &call->dispatch_task);
  else
    call_dispatch_task(call);
}

static cgrpc_server_call *server_stream_call(nghttp2_session *ng, int32_t stream_id)
{
  return nghttp2_session_get_stream_user_data(ng, stream_id);
}

static int server_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  cgrpc_conn *conn = ud;
  cgrpc_server *srv = conn->owner;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  cgrpc_server_call *call = cgrpc_malloc(&srv->alloc, sizeof *call);
  if (call == NULL) {
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  memset(call, 0, offsetof(cgrpc_server_call, arena_mem));
  call->srv = srv;
  call->refs = 1; /* the stream's */
  cgrpc_arena_init(&call->arena, &srv->alloc, call->arena_mem, sizeof call->arena_mem);
  cgrpc_arena_allocator(&call->arena, &call->arena_alloc);
  call->conn = conn;
  call->stream_id = frame->hd.stream_id;
  cgrpc_list_init(&call->node);
  cgrpc_list_push_back(&conn->streams, &call->node);
  cgrpc_frame_decoder_init(&call->dec, &srv->alloc, srv->max_recv);
  cgrpc_timer_init(&call->deadline_timer, call_on_deadline, call);
  cgrpc_task_init(&call->dispatch_task, call_dispatch_task, call);
  cgrpc_task_init(&call->respond_task, call_respond_task, call);
  call->deadline = CGRPC_TIME_INFINITE;
  call->path = "";
  call->authority = "";
  call->peer = cgrpc_arena_strndup(&call->arena, conn->peer, strlen(conn->peer));
  srv->ncalls++;
  nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, call);
  return 0;
}

static void call_header_error(cgrpc_server_call *call, cgrpc_code code, const char *msg)
{
  if (call->header_error == CGRPC_STATUS_OK) {
    call->header_error = code;
    call->header_error_msg = msg;
  }
}

static int server_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                            size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                            void *ud)
{
  (void)flags;
  (void)ud;
  cgrpc_server_call *call = server_stream_call(ng, frame->hd.stream_id);
  if (call == NULL || call->responded)
    return 0;
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0; /* request trailers carry nothing for gRPC */
  call->header_bytes += namelen + valuelen + 32;
  if (call->header_bytes > CGRPC_SERVER_MAX_HEADER_BYTES) {
    call_header_error(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "request metadata too large");
    return 0;
  }
  switch (cgrpc_header_classify(name, namelen)) {
  case CGRPC_HDR_METHOD:
    call->bad_method = !(valuelen == 4 && memcmp(value, "POST", 4) == 0);
    break;
  case CGRPC_HDR_PATH:
    call->path = cgrpc_arena_strndup(&call->arena, (const char *)value, valuelen);
    break;
  case CGRPC_HDR_AUTHORITY:
    call->authority = cgrpc_arena_strndup(&call->arena, (const char *)value, valuelen);
    break;
  case CGRPC_HDR_CONTENT_TYPE:
    call->got_content_type = cgrpc_content_type_is_grpc(value, valuelen);
    break;
  case CGRPC_HDR_GRPC_TIMEOUT: {
    int64_t ns;
    if (cgrpc_timeout_parse((const char *)value, valuelen, &ns) != 0)
      call_header_error(call, CGRPC_STATUS_INTERNAL, "malformed grpc-timeout");
    else
      call->deadline = ns >= CGRPC_TIME_INFINITE - cgrpc_now() ? CGRPC_TIME_INFINITE : cgrpc_now() + ns;
    break;
  }
  case CGRPC_HDR_GRPC_ENCODING:
    if (!(valuelen == 8 && memcmp(value, "identity", 8) == 0))
      call->bad_encoding = 1;
    break;
  case CGRPC_HDR_OTHER: {
    int rv = cgrpc_metadata_ensure(&call->md, &call->arena_alloc);
    if (rv == 0)
      rv = cgrpc_metadata_append_wire(call->md, (const char *)name, namelen, (const char *)value,
                                      valuelen);
    if (rv == CGRPC_ERR_PROTO)
      call_header_error(call, CGRPC_STATUS_INTERNAL, "invalid base64 in binary metadata");
    else if (rv != 0)
      call_header_error(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    break;
  }
  default:
    break;
  }
  return 0;
}

/* The request headers are complete: decide whether the call can go on. */
static void call_headers_done(cgrpc_server_call *call)
{
  cgrpc_server *srv = call->srv;
  if (call->path == NULL || call->authority == NULL || call->peer == NULL) {
    call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  if (call->bad_method) {
    call_reject(call, 405, CGRPC_STATUS_INTERNAL, "gRPC requires POST");
    return;
  }
  if (!call->got_content_type) {
    call_reject(call, 415, CGRPC_STATUS_INTERNAL, "content-type is not application/grpc");
    return;
  }
  if (call->header_error != CGRPC_STATUS_OK) {
    call_reject(call, 200, call->header_error, "%s", call->header_error_msg);
    return;
  }
  if (call->bad_encoding) {
    call_reject(call, 200, CGRPC_STATUS_UNIMPLEMENTED, "grpc-encoding not supported (identity only)");
    return;
  }
  if (srv->draining) {
    call_reject(call, 200, CGRPC_STATUS_UNAVAILABLE, "server is shutting down");
    return;
  }
  call->entry = cgrpc_registry_find(&srv->registry, call->path, strlen(call->path));
  if (call->entry == NULL) {
    call_reject(call, 200, CGRPC_STATUS_UNIMPLEMENTED, "Method not found: %s", call->path);
    return;
  }
  if (call->entry->handler == NULL) {
    call_reject(call, 200, CGRPC_STATUS_UNIMPLEMENTED, "Method not implemented: %s", call->path);
    return;
  }
  if (call->entry->desc->kind != CGRPC_METHOD_UNARY || call->entry->desc->invoke_unary == NULL) {
    call_reject(call, 200, CGRPC_STATUS_UNIMPLEMENTED, "streaming methods are not supported yet: %s",
                call->path);
    return;
  }
  if (call->deadline != CGRPC_TIME_INFINITE &&
      cgrpc_loop_timer_start(srv->loop, &call->deadline_timer, call->deadline) != 0)
    call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
}

static int server_on_message(void *ud, const uint8_t *msg, size_t len, int compressed)
{
  cgrpc_server_call *call = ud;
  if (compressed) {
    call_reject(call, 200, CGRPC_STATUS_INTERNAL, "compressed message without grpc-encoding");
    return -1;
  }
  if (++call->n_messages > 1) {
    call_reject(call, 200, CGRPC_STATUS_INTERNAL,
                "unary method %s received more than one request message", call->path);
    return -1;
  }
  /* Decoded into the call's arena: no allocation of its own, freed with it. */
  call->request = protobuf_c_message_unpack(call->entry->desc->request, &call->arena.pb, len, msg);
  if (call->request == NULL) {
    call_reject(call, 200, CGRPC_STATUS_INTERNAL, "failed to parse request message (%s)",
                call->entry->desc->request->name);
    return -1;
  }
  return 0;
}

static int server_on_data(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                          const uint8_t *data, size_t len, void *ud)
{
  (void)flags;
  (void)ud;
  cgrpc_server_call *call = server_stream_call(ng, stream_id);
  if (call == NULL || call->responded || call->entry == NULL)
    return 0;
  int rv = cgrpc_frame_decoder_feed(&call->dec, data, len, server_on_message, call);
  if (rv == CGRPC_ERR_TOO_LARGE)
    call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                "received message larger than max (%u vs. %lld)", call->dec.too_large_len,
                (long long)call->srv->max_recv);
  else if (rv == CGRPC_ERR_PROTO)
    call_reject(call, 200, CGRPC_STATUS_INTERNAL, "malformed message prefix");
  else if (rv == CGRPC_ERR_NOMEM)
    call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  return 0;
}

static int server_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  cgrpc_conn *conn = ud;
  if (frame->hd.stream_id == 0) {
    cgrpc_conn_on_frame(conn, frame);
    return 0;
  }
  cgrpc_server_call *call = server_stream_call(ng, frame->hd.stream_id);
  if (call == NULL)
    return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
    call_headers_done(call);
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    call->request_done = 1;
    if (call->responded)
      return 0;
    if (cgrpc_frame_decoder_partial(&call->dec))
      call_reject(call, 200, CGRPC_STATUS_INTERNAL, "request ended in the middle of a message");
    else if (call->request == NULL)
      call_reject(call, 200, CGRPC_STATUS_INTERNAL, "unary method %s received no request message",
                  call->path);
    else
      call_dispatch(call);
  }
  return 0;
}

static int server_on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  (void)ud;
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  cgrpc_server_call *call = server_stream_call(ng, frame->hd.stream_id);
  if (call != NULL && call->rst_after_send && !call->request_done)
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  return 0;
}

static int server_on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code,
                                  void *ud)
{
  (void)ud;
  cgrpc_server_call *call = server_stream_call(ng, stream_id);
  if (call == NULL)
    return 0;
  if (error_code != NGHTTP2_NO_ERROR || !call->responded)
    call_cancel(call); /* the client went away before the answer */
  call_detach(call);
  return 0;
}

void cgrpc_server_conn_setup(nghttp2_session_callbacks *cbs)
{
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, server_on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, server_on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, server_on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, server_on_frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, server_on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, server_on_stream_close);
}

void cgrpc_server_conn_fail_streams(cgrpc_conn *conn)
{
  while (!cgrpc_list_empty(&conn->streams)) {
    cgrpc_server_call *call = cgrpc_container_of(conn->streams.next, cgrpc_server_call, node);
    call_cancel(call);
    call_detach(call);
  }
}

void cgrpc_server_conn_cancel_streams(cgrpc_conn *conn)
{
  for (cgrpc_list *n = conn->streams.next; n != &conn->streams;) {
    cgrpc_server_call *call = cgrpc_container_of(n, cgrpc_server_call, node);
    n = n->next;
    call_reject(call, 200, CGRPC_STATUS_UNAVAILABLE, "server shutting down");
  }
}

/* ---- the public view of a call ----------------------------------------------------------- */

const cgrpc_method_desc *cgrpc_server_call_method(const cgrpc_server_call *call)
{
  return call->entry != NULL ? call->entry->desc : NULL;
}

const char *cgrpc_server_call_path(const cgrpc_server_call *call)
{
  return call->path;
}

const char *cgrpc_server_call_authority(const cgrpc_server_call *call)
{
  return call->authority;
}

const char *cgrpc_server_call_peer(const cgrpc_server_call *call)
{
  return call->peer;
}

const cgrpc_metadata *cgrpc_server_call_metadata(const cgrpc_server_call *call)
{
  static const cgrpc_metadata empty;
  return call->md != NULL ? call->md : &empty;
}

const ProtobufCMessage *cgrpc_server_call_request(const cgrpc_server_call *call)
{
  return call->request;
}

ProtobufCMessage *cgrpc_server_call_response(cgrpc_server_call *call)
{
  return call->response;
}

cgrpc_time cgrpc_server_call_deadline(const cgrpc_server_call *call)
{
  return call->deadline;
}

int64_t cgrpc_server_call_remaining_ms(const cgrpc_server_call *call)
{
  if (call->deadline == CGRPC_TIME_INFINITE)
    return -1;
  cgrpc_time left = call->deadline - cgrpc_now();
  return left > 0 ? left / 1000000 : 0;
}

int cgrpc_server_call_is_cancelled(const cgrpc_server_call *call)
{
  if (call_is_cancelled(call))
    return 1;
  return call->deadline != CGRPC_TIME_INFINITE && cgrpc_now() >= call->deadline;
}

static int call_add_md(cgrpc_server_call *call, cgrpc_metadata **md, const char *key,
                       const void *value, size_t len)
{
  int rv = cgrpc_metadata_ensure(md, &call->arena_alloc);
  return rv != 0 ? rv : cgrpc_metadata_add(*md, key, value, len);
}

int cgrpc_server_call_add_initial_metadata(cgrpc_server_call *call, const char *key,
                                           const void *value, size_t len)
{
  return call_add_md(call, &call->initial_md, key, value, len);
}

int cgrpc_server_call_add_trailing_metadata(cgrpc_server_call *call, const char *key,
                                            const void *value, size_t len)
{
  return call_add_md(call, &call->trailing_md, key, value, len);
}

void *cgrpc_server_call_alloc(cgrpc_server_call *call, size_t size)
{
  return cgrpc_arena_alloc(&call->arena, size);
}

char *cgrpc_server_call_strdup(cgrpc_server_call *call, const char *s)
{
  return s != NULL ? cgrpc_arena_strndup(&call->arena, s, strlen(s)) : NULL;
}

static char *call_vprintf(cgrpc_server_call *call, const char *fmt, va_list ap)
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
  char *s = call_vprintf(call, fmt, ap);
  va_end(ap);
  return s;
}

cgrpc_code cgrpc_server_call_set_status(cgrpc_server_call *call, cgrpc_code code, const char *fmt,
                                        ...)
{
  call->code = code;
  call->message = NULL;
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    call->message = call_vprintf(call, fmt, ap);
    va_end(ap);
  }
  return code;
}

cgrpc_code cgrpc_server_call_status_code(const cgrpc_server_call *call)
{
  return call->code;
}

const char *cgrpc_server_call_status_message(const cgrpc_server_call *call)
{
  return call->message != NULL ? call->message : "";
}

void cgrpc_server_call_defer(cgrpc_server_call *call)
{
  __atomic_store_n(&call->defer_state, DEFER_RUNNING, __ATOMIC_RELEASE);
}
