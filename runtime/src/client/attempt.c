/* Client attempts: the request headers, the stream, the response headers and trailers, the
 * outcome; and the queue of attempts waiting for a connection. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "client/attempt.h"
#include "client/retry_policy.h"
#include "wire/compress.h"
#include "wire/headers.h"
#include "wire/metadata_internal.h"
#include "wire/percent.h"
#include "wire/status_map.h"

/* Received metadata beyond this ends the attempt with RESOURCE_EXHAUSTED. */
#define ATTEMPT_MAX_HEADER_BYTES (64 * 1024)

/* ---- the state machine ----------------------------------------------------------------------- */

#define MOVE(s) (1u << (s))
static const unsigned attempt_moves[] = {
    [CGRPC_ATTEMPT_IDLE] = MOVE(CGRPC_ATTEMPT_PICKING),
    [CGRPC_ATTEMPT_PICKING] = MOVE(CGRPC_ATTEMPT_QUEUED) | MOVE(CGRPC_ATTEMPT_OPEN) |
                              MOVE(CGRPC_ATTEMPT_PICKING) /* a connection out of ids */ |
                              MOVE(CGRPC_ATTEMPT_IDLE),
    [CGRPC_ATTEMPT_QUEUED] = MOVE(CGRPC_ATTEMPT_PICKING) | MOVE(CGRPC_ATTEMPT_IDLE),
    [CGRPC_ATTEMPT_OPEN] = MOVE(CGRPC_ATTEMPT_IDLE),
};

static void attempt_set_state(cgrpc_attempt *a, cgrpc_attempt_state to)
{
  assert(attempt_moves[a->state] & MOVE(to));
  a->state = to;
}

static cgrpc_attempt *attempt_of_stream_engine(cgrpc_stream *s)
{
  return cgrpc_container_of(s, cgrpc_attempt, stream);
}

static void attempt_release(void *obj)
{
  cgrpc_attempt *a = obj;
  a->ops->unref(a);
}

/* Takes a off its connection (or out of the queue). */
static void attempt_detach(cgrpc_attempt *a)
{
  if (a->state == CGRPC_ATTEMPT_QUEUED) {
    cgrpc_list_remove(&a->node);
    a->env->nqueued--;
    return;
  }
  cgrpc_conn *conn = a->stream.conn;
  if (cgrpc_list_linked(&a->node))
    cgrpc_list_remove(&a->node); /* from conn->streams, or the ending list */
  if (conn == NULL)
    return;
  conn->nstreams--;
  cgrpc_lb_stream_freed(a->env->lb);
  int32_t id = a->stream.id;
  int live = cgrpc_stream_live(&a->stream);
  cgrpc_stream_detach(&a->stream);
  if (live) {
    nghttp2_session_set_stream_user_data(conn->ng, id, NULL);
    /* Still sending: nghttp2 may hold a DATA frame pointing into the attempt until the
     * stream closes, so the stream keeps the attempt's owner alive. */
    if (nghttp2_session_get_stream_local_close(conn->ng, id) == 0) {
      a->ops->ref(a);
      if (cgrpc_conn_add_zombie(conn, id, a, attempt_release) != 0) {
        a->ops->unref(a);
        cgrpc_conn_fail(conn, "out of memory"); /* nothing may point into the attempt */
      }
    }
  }
}

/* The attempt is over, a->result says how. */
static void attempt_end(cgrpc_attempt *a)
{
  attempt_detach(a);
  attempt_set_state(a, CGRPC_ATTEMPT_IDLE);
  cgrpc_stream_reset_state(&a->stream); /* messages not sent go to on_buf_done */
  cgrpc_status_clear(&a->rx);
  a->ops->on_end(a);
}

static void attempt_abortv(cgrpc_attempt *a, cgrpc_code code, const char *fmt, va_list ap)
    CGRPC_PRINTF(3, 0);
static void attempt_abortv(cgrpc_attempt *a, cgrpc_code code, const char *fmt, va_list ap)
{
  if (a->state == CGRPC_ATTEMPT_IDLE)
    return;
  if (a->state == CGRPC_ATTEMPT_OPEN)
    cgrpc_stream_rst(&a->stream, NGHTTP2_CANCEL);
  cgrpc_status_setv(&a->result, a->alloc, code, fmt, ap);
  attempt_end(a);
}

void cgrpc_attempt_abort(cgrpc_attempt *a, cgrpc_code code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  attempt_abortv(a, code, fmt, ap);
  va_end(ap);
}

/* ---- the stream engine's view ---------------------------------------------------------------- */

static int attempt_stream_message(cgrpc_stream *s, const uint8_t *msg, size_t len, int compressed)
{
  cgrpc_attempt *a = attempt_of_stream_engine(s);
  return a->ops->on_message(a, msg, len, compressed);
}

static void attempt_stream_error(cgrpc_stream *s, cgrpc_code code, const char *msg)
{
  cgrpc_attempt_abort(attempt_of_stream_engine(s), code, "%s", msg);
}

static void attempt_stream_buf_done(cgrpc_stream *s, cgrpc_buf *b)
{
  cgrpc_attempt *a = attempt_of_stream_engine(s);
  a->ops->on_buf_done(a, b);
}

static void attempt_settle(cgrpc_attempt *a);

static void attempt_stream_recv_end(cgrpc_stream *s)
{
  cgrpc_attempt *a = attempt_of_stream_engine(s);
  if (a->state == CGRPC_ATTEMPT_OPEN)
    attempt_settle(a);
}

static const cgrpc_stream_ops attempt_stream_ops = {
    .on_message = attempt_stream_message,
    .on_recv_error = attempt_stream_error,
    .on_buf_done = attempt_stream_buf_done,
    .on_recv_end = attempt_stream_recv_end,
};

/* ---- sending --------------------------------------------------------------------------------- */

void cgrpc_attempt_flush(cgrpc_attempt *a)
{
  if (a->state == CGRPC_ATTEMPT_OPEN)
    cgrpc_stream_flush(&a->stream);
}

static void attempt_submit(cgrpc_attempt *a, cgrpc_conn *conn)
{
  const cgrpc_attempt_env *env = a->env;
  const cgrpc_attempt_req *req = a->req;
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, a->alloc);
  int rv = cgrpc_nvbuf_add_static(&nv, ":method", "POST");
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, ":scheme", env->secure ? "https" : "http");
  rv = rv ? rv : cgrpc_nvbuf_add(&nv, ":path", 5, req->path, strlen(req->path));
  rv = rv ? rv : cgrpc_nvbuf_add(&nv, ":authority", 10, env->authority, strlen(env->authority));
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, "te", "trailers");
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, "content-type", "application/grpc");
  rv = rv ? rv : cgrpc_nvbuf_add(&nv, "user-agent", 10, env->user_agent, strlen(env->user_agent));
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, "grpc-accept-encoding", CGRPC_ACCEPT_ENCODING);
  if (rv == 0 && req->send_enc != CGRPC_ENCODING_IDENTITY)
    rv = cgrpc_nvbuf_add_static(&nv, "grpc-encoding", cgrpc_encoding_name(req->send_enc));
  if (rv == 0 && req->deadline != CGRPC_TIME_INFINITE)
    rv = cgrpc_nvbuf_add_timeout(&nv, req->deadline - cgrpc_now());
  char prev[12]; /* nv points at it until nghttp2 copies it in the submit below */
  if (rv == 0 && a->previous > 0) {
    snprintf(prev, sizeof prev, "%d", a->previous);
    rv = cgrpc_nvbuf_add(&nv, "grpc-previous-rpc-attempts", 26, prev, strlen(prev));
  }
  rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, req->md);
  if (rv != 0) {
    cgrpc_nvbuf_clear(&nv);
    cgrpc_attempt_abort(a, CGRPC_STATUS_INTERNAL, "out of memory building headers");
    return;
  }
  size_t size = nv.size, limit = cgrpc_conn_send_header_limit(conn);
  if (size > limit) {
    cgrpc_nvbuf_clear(&nv);
    cgrpc_attempt_abort(a, CGRPC_STATUS_INTERNAL,
                        "request metadata too large for the server (%zu bytes, it takes %zu)", size,
                        limit);
    return;
  }
  nghttp2_data_provider prd;
  cgrpc_stream_provider(&a->stream, &prd);
  int32_t id = nghttp2_submit_request(conn->ng, NULL, nv.nv, nv.n, &prd, a);
  cgrpc_nvbuf_clear(&nv);
  if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
    /* This connection has used up its stream ids: retire it, use another. */
    cgrpc_lb_retire(a->env->lb, conn);
    cgrpc_attempt_start(a, a->previous);
    return;
  }
  if (id < 0) {
    cgrpc_attempt_abort(a, CGRPC_STATUS_UNAVAILABLE, "cannot open a stream: %s",
                        nghttp2_strerror(id));
    return;
  }
  attempt_set_state(a, CGRPC_ATTEMPT_OPEN);
  cgrpc_stream_attach(&a->stream, conn, id);
  cgrpc_list_push_back(&conn->streams, &a->node);
  conn->nstreams++;
  cgrpc_conn_kick(conn);
}

/* Asks the load balancer.  Returns 0 when the attempt went out or ended, 1 when it waits. */
static int attempt_pick(cgrpc_attempt *a, int may_connect)
{
  cgrpc_pick pick;
  switch (cgrpc_lb_pick(a->env->lb, a->req->wait_for_ready, may_connect, &pick)) {
  case CGRPC_PICK_CONN:
    attempt_submit(a, pick.conn);
    return 0;
  case CGRPC_PICK_FAIL:
    cgrpc_attempt_abort(a, pick.code, "%s", pick.why);
    return 0;
  default:
    return 1;
  }
}

/* The load balancer said "wait". */
static void attempt_queue(cgrpc_attempt *a)
{
  attempt_set_state(a, CGRPC_ATTEMPT_QUEUED);
  cgrpc_list_push_back(&a->env->queue, &a->node);
  a->env->nqueued++;
}

void cgrpc_attempt_start(cgrpc_attempt *a, int previous)
{
  a->started = 1;
  a->previous = previous;
  attempt_set_state(a, CGRPC_ATTEMPT_PICKING);
  if (attempt_pick(a, 1) && a->state == CGRPC_ATTEMPT_PICKING)
    attempt_queue(a);
}

void cgrpc_attempt_dispatch(cgrpc_attempt_env *env)
{
  if (cgrpc_list_empty(&env->queue))
    return;
  /* Take the whole queue: attempts that still wait go back to it. */
  cgrpc_list todo;
  cgrpc_list_init(&todo);
  todo.next = env->queue.next;
  todo.prev = env->queue.prev;
  todo.next->prev = &todo;
  todo.prev->next = &todo;
  cgrpc_list_init(&env->queue);
  while (!cgrpc_list_empty(&todo)) {
    cgrpc_attempt *a = cgrpc_container_of(todo.next, cgrpc_attempt, node);
    cgrpc_list_remove(&a->node);
    env->nqueued--;
    attempt_set_state(a, CGRPC_ATTEMPT_PICKING);
    if (attempt_pick(a, 0) && a->state == CGRPC_ATTEMPT_PICKING)
      attempt_queue(a);
  }
}

void cgrpc_attempt_fail_queued(cgrpc_attempt_env *env, cgrpc_code code, const char *why)
{
  while (!cgrpc_list_empty(&env->queue))
    cgrpc_attempt_abort(cgrpc_container_of(env->queue.next, cgrpc_attempt, node), code, "%s", why);
  while (!cgrpc_list_empty(&env->ending))
    cgrpc_attempt_abort(cgrpc_container_of(env->ending.next, cgrpc_attempt, node), code, "%s",
                        why);
}

/* ---- receiving ------------------------------------------------------------------------------- */

static cgrpc_attempt *attempt_of_stream(nghttp2_session *ng, int32_t stream_id)
{
  cgrpc_attempt *a = nghttp2_session_get_stream_user_data(ng, stream_id);
  return a != NULL && a->state == CGRPC_ATTEMPT_OPEN ? a : NULL;
}

static int attempt_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                             size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                             void *ud)
{
  (void)flags;
  (void)ud;
  if (frame->hd.type != NGHTTP2_HEADERS)
    return 0;
  cgrpc_attempt *a = attempt_of_stream(ng, frame->hd.stream_id);
  if (a == NULL)
    return 0;
  a->header_bytes += namelen + valuelen + 32;
  if (a->header_bytes > ATTEMPT_MAX_HEADER_BYTES) {
    cgrpc_attempt_abort(a, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                        "received metadata larger than %d bytes", ATTEMPT_MAX_HEADER_BYTES);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* nghttp2 skips the rest of the block */
  }
  /* Headers of a Trailers-Only response are trailers. */
  int trailers = frame->headers.cat == NGHTTP2_HCAT_HEADERS ||
                 (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (cgrpc_header_classify(name, namelen)) {
  case CGRPC_HDR_STATUS:
    a->http_status = 0;
    for (size_t i = 0; i < valuelen && i < 3; i++)
      a->http_status = a->http_status * 10 + (value[i] - '0');
    return 0;
  case CGRPC_HDR_CONTENT_TYPE:
    a->got_content_type = cgrpc_content_type_is_grpc(value, valuelen);
    return 0;
  case CGRPC_HDR_GRPC_ENCODING:
    a->stream.recv_enc = cgrpc_encoding_parse((const char *)value, valuelen);
    return 0;
  case CGRPC_HDR_GRPC_STATUS:
    a->grpc_status = cgrpc_code_parse((const char *)value, valuelen);
    if (a->grpc_status < 0)
      a->grpc_status = CGRPC_STATUS_UNKNOWN;
    return 0;
  case CGRPC_HDR_GRPC_MESSAGE: {
    char *msg = cgrpc_malloc(a->alloc, valuelen + 1);
    if (msg == NULL)
      return 0;
    cgrpc_percent_decode(msg, (const char *)value, valuelen);
    cgrpc_status_set(&a->rx, a->alloc, a->rx.code, msg);
    cgrpc_free(a->alloc, msg);
    return 0;
  }
  case CGRPC_HDR_GRPC_OTHER:
    if (trailers && namelen == 22 && memcmp(name, "grpc-retry-pushback-ms", 22) == 0)
      a->pushback_ms = cgrpc_retry_policy_parse_pushback((const char *)value, valuelen);
    return 0;
  case CGRPC_HDR_OTHER: {
    cgrpc_metadata **md = trailers ? &a->rx.trailing_metadata : &a->rx.initial_metadata;
    int rv = cgrpc_metadata_ensure(md, a->alloc);
    if (rv == 0)
      rv = cgrpc_metadata_append_wire(*md, (const char *)name, namelen, (const char *)value,
                                      valuelen);
    if (rv == CGRPC_ERR_PROTO)
      cgrpc_attempt_abort(a, CGRPC_STATUS_INTERNAL, "invalid base64 in binary metadata %.*s",
                          (int)namelen, name);
    return 0;
  }
  default:
    return 0;
  }
}

static int attempt_on_data(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                           const uint8_t *data, size_t len, void *ud)
{
  (void)flags;
  cgrpc_attempt *a = attempt_of_stream(ng, stream_id);
  if (a == NULL || a->http_status != 200 || !a->got_content_type) {
    cgrpc_stream_discard(ud, stream_id, len); /* not (or no longer) a gRPC body */
    return 0;
  }
  a->ops->ref(a); /* a message may end the call inside */
  cgrpc_stream_recv(&a->stream, data, len);
  a->ops->unref(a);
  return 0;
}

/* The server ended its side and every message it sent has been handed over: the outcome. */
static void attempt_settle(cgrpc_attempt *a)
{
  cgrpc_code code;
  const char *msg = a->rx.message != NULL ? a->rx.message : "";
  char buf[128];
  if (a->grpc_status >= 0) {
    code = (cgrpc_code)a->grpc_status;
  } else if (a->http_status != 200) {
    code = cgrpc_code_from_http_status(a->http_status);
    snprintf(buf, sizeof buf, "HTTP status %d without grpc-status", a->http_status);
    msg = buf;
  } else if (!a->got_content_type) {
    code = CGRPC_STATUS_UNKNOWN;
    msg = "response content-type is not application/grpc";
  } else {
    code = CGRPC_STATUS_INTERNAL;
    msg = "server closed the stream without sending trailers";
  }
  if (code == CGRPC_STATUS_OK && cgrpc_stream_partial(&a->stream)) {
    code = CGRPC_STATUS_INTERNAL;
    msg = "stream ended in the middle of a message";
  }
  cgrpc_status_set(&a->result, a->alloc, code, msg);
  cgrpc_metadata_free(a->result.initial_metadata);
  cgrpc_metadata_free(a->result.trailing_metadata);
  a->result.initial_metadata = a->rx.initial_metadata;
  a->result.trailing_metadata = a->rx.trailing_metadata;
  a->rx.initial_metadata = a->rx.trailing_metadata = NULL;
  /* If our side is still sending, stop it: the call is decided. */
  if (cgrpc_stream_live(&a->stream) &&
      nghttp2_session_get_stream_local_close(a->stream.conn->ng, a->stream.id) == 0)
    cgrpc_stream_rst(&a->stream, NGHTTP2_CANCEL);
  attempt_end(a);
}

/* The server's side is over but messages still wait for room: the connection is done with the
 * attempt (our side is reset if it still sends), which hands over what it holds from the
 * channel's ending list, needing nothing of the connection. */
static void attempt_leave_conn(cgrpc_attempt *a)
{
  if (cgrpc_stream_live(&a->stream) &&
      nghttp2_session_get_stream_local_close(a->stream.conn->ng, a->stream.id) == 0)
    cgrpc_stream_rst(&a->stream, NGHTTP2_CANCEL);
  attempt_detach(a);
  cgrpc_list_push_back(&a->env->ending, &a->node);
  a->ops->on_server_done(a);
}

void cgrpc_attempt_drop_held(cgrpc_attempt *a)
{
  if (a->state != CGRPC_ATTEMPT_OPEN || !a->stream.end_pending)
    return;
  cgrpc_stream_drop_held(&a->stream);
  attempt_settle(a);
}

static int attempt_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  cgrpc_conn *conn = ud;
  if (frame->hd.stream_id == 0) {
    cgrpc_conn_on_frame(conn, frame);
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
    return 0;
  cgrpc_attempt *a = attempt_of_stream(ng, frame->hd.stream_id);
  if (a == NULL)
    return 0;
  if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_RESPONSE)
      a->ops->on_headers(a);
    return 0;
  }
  /* Messages the owner had no room for yet are decoded first (on_recv_end). */
  if (cgrpc_stream_end_recv(&a->stream))
    attempt_settle(a);
  else
    attempt_leave_conn(a);
  return 0;
}

static int attempt_on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code,
                                   void *ud)
{
  cgrpc_conn *conn = ud;
  cgrpc_attempt *a = nghttp2_session_get_stream_user_data(ng, stream_id);
  if (a == NULL) {
    cgrpc_conn_bury(conn, stream_id);
    return 0;
  }
  if (a->state != CGRPC_ATTEMPT_OPEN)
    return 0;
  if (error_code == NGHTTP2_REFUSED_STREAM) {
    a->refused = 1; /* the server never saw it: safe to send again */
    cgrpc_attempt_abort(a, CGRPC_STATUS_UNAVAILABLE, "stream refused by the server");
  } else {
    cgrpc_attempt_abort(a, cgrpc_code_from_rst_stream(error_code),
                        "stream reset by the server (HTTP/2 error %s)",
                        nghttp2_http2_strerror(error_code));
  }
  /* The stream is closed: nghttp2 reads no more from the attempt, so no zombie need keep it
   * (detaching inside this callback may have made one). */
  cgrpc_conn_bury(conn, stream_id);
  return 0;
}

/* nghttp2 would not send our request headers: the server never saw the attempt, but sending
 * the same again would fail the same way (nghttp2 calls it refused). */
static int attempt_on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *frame,
                                     int lib_error, void *ud)
{
  (void)ud;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id == 0)
    return 0;
  cgrpc_attempt *a = attempt_of_stream(ng, frame->hd.stream_id);
  if (a != NULL)
    cgrpc_attempt_abort(a, CGRPC_STATUS_INTERNAL, "request headers could not be sent (%s)",
                        nghttp2_strerror(lib_error));
  return 0;
}

void cgrpc_attempt_conn_setup(nghttp2_session_callbacks *cbs)
{
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, attempt_on_frame_not_send);
  nghttp2_session_callbacks_set_on_header_callback(cbs, attempt_on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, attempt_on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, attempt_on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, attempt_on_stream_close);
}

void cgrpc_attempt_end_streams(cgrpc_conn *conn, cgrpc_code code, const char *why)
{
  while (!cgrpc_list_empty(&conn->streams)) {
    cgrpc_attempt *a = cgrpc_container_of(conn->streams.next, cgrpc_attempt, node);
    cgrpc_attempt_abort(a, code, "%s", why);
  }
}

/* ---- life ------------------------------------------------------------------------------------ */

void cgrpc_attempt_env_init(cgrpc_attempt_env *env)
{
  memset(env, 0, sizeof *env);
  cgrpc_list_init(&env->queue);
  cgrpc_list_init(&env->ending);
}

void cgrpc_attempt_init(cgrpc_attempt *a, const cgrpc_attempt_ops *ops, cgrpc_attempt_env *env,
                        const cgrpc_attempt_req *req, const cgrpc_allocator *alloc)
{
  memset(a, 0, sizeof *a); /* the statuses included: CGRPC_STATUS_INIT is all zeros */
  a->ops = ops;
  a->env = env;
  a->req = req;
  a->alloc = alloc;
  a->state = CGRPC_ATTEMPT_IDLE;
  cgrpc_list_init(&a->node);
  cgrpc_stream_init(&a->stream, &attempt_stream_ops, alloc, env->max_recv);
  a->grpc_status = -1;
  a->pushback_ms = CGRPC_PUSHBACK_NONE;
}

void cgrpc_attempt_reset(cgrpc_attempt *a)
{
  if (!a->started)
    return; /* as cgrpc_attempt_init left it */
  cgrpc_stream_reset_state(&a->stream);
  a->http_status = 0;
  a->got_content_type = 0;
  a->grpc_status = -1;
  a->header_bytes = 0;
  a->refused = 0;
  a->pushback_ms = CGRPC_PUSHBACK_NONE;
  cgrpc_status_clear(&a->rx);
  cgrpc_status_clear(&a->result);
}

void cgrpc_attempt_clear(cgrpc_attempt *a)
{
  cgrpc_stream_clear(&a->stream);
  cgrpc_status_clear(&a->rx);
  cgrpc_status_clear(&a->result);
}
