/* A client call's network attempt: its HTTP/2 stream, what goes out on it and what comes back. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "channel_internal.h"
#include "client_call.h"
#include "compress.h"
#include "headers.h"
#include "metadata_internal.h"
#include "percent.h"
#include "retry.h"
#include "status_map.h"
#include "subchannel.h"

/* Received metadata beyond this ends the call with RESOURCE_EXHAUSTED. */
#define CLIENT_MAX_HEADER_BYTES (64 * 1024)

static void attempt_release(void *obj)
{
  cgrpc_call_unref(obj);
}

static int attempt_stream_live(const cgrpc_call *call)
{
  return call->conn != NULL && call->stream_id > 0 && !call->conn->dead;
}

static void attempt_detach(cgrpc_call *call)
{
  if (cgrpc_list_linked(&call->node))
    cgrpc_list_remove(&call->node);
  cgrpc_conn *conn = call->conn;
  if (conn != NULL) {
    conn->nstreams--;
    cgrpc_lb_stream_freed(call->ch);
  }
  int32_t id = call->stream_id;
  call->sendq.stream_id = 0; /* whatever nghttp2 still holds of it resets the stream */
  if (attempt_stream_live(call)) {
    nghttp2_session_set_stream_user_data(conn->ng, id, NULL);
    /* Still sending: nghttp2 may hold a DATA frame pointing into this call
     * until the stream closes, so the stream keeps the call alive. */
    if (nghttp2_session_get_stream_local_close(conn->ng, id) == 0) {
      cgrpc_call_ref(call);
      if (cgrpc_conn_add_zombie(conn, id, call, attempt_release) != 0) {
        cgrpc_call_unref(call);
        cgrpc_conn_fail(conn, "out of memory"); /* nothing may point into the call */
      }
    }
  }
  call->conn = NULL;
  call->stream_id = 0;
}

/* The attempt is over: another one follows (a retry), or its result goes to the
 * innermost stage's owner. */
static void attempt_end(cgrpc_call *call)
{
  call->attempt_active = 0;
  cgrpc_loop_timer_stop(call->ch->loop, &call->deadline_timer);
  attempt_detach(call);
  cgrpc_sendq_drop(&call->sendq); /* streaming messages not sent */
  cgrpc_frame_decoder_clear(&call->dec);
  cgrpc_status_clear(&call->rx);
  if (cgrpc_retry_after_attempt(call)) {
    cgrpc_status_clear(&call->status); /* the failed attempt's; the next one sets its own */
    return;
  }
  cgrpc_retry_buffer_clear(call);
  cgrpc_client_ctx_finish(&call->ctx[call->nstages - 1]);
}

void cgrpc_client_call_abort(cgrpc_call *call, cgrpc_code code, const char *fmt, ...)
{
  if (!call->attempt_active && !call->in_backoff)
    return;
  if (attempt_stream_live(call)) {
    nghttp2_submit_rst_stream(call->conn->ng, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
    cgrpc_conn_kick(call->conn);
  }
  va_list ap;
  va_start(ap, fmt);
  cgrpc_call_set_result(call, code, fmt, ap);
  va_end(ap);
  if (call->in_backoff)
    cgrpc_retry_end_backoff(call); /* between attempts: the call ends here */
  else
    attempt_end(call);
}

static void attempt_on_deadline(void *ud)
{
  cgrpc_call *call = ud;
  call->final = 1;
  cgrpc_client_call_abort(call, CGRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded");
}

/* ---- sending ------------------------------------------------------------------------------ */

void cgrpc_call_post(cgrpc_call *call, cgrpc_task *t)
{
  cgrpc_call_ref(call);
  if (!cgrpc_loop_post(call->ch->loop, t))
    cgrpc_call_unref(call); /* queued already, with its reference */
}

/* A streaming message buffer went out (or was dropped): free it, make room. */
static void attempt_sendbuf_done(cgrpc_sendq *q, cgrpc_sendbuf *b)
{
  cgrpc_call *call = cgrpc_container_of(q, cgrpc_call, sendq);
  if (b == &call->sendbuf)
    return; /* the inline request */
  size_t len = b->len;
  int first = !b->resent; /* the pipe counted it once, until its first send */
  cgrpc_retry_buffer_keep(call, b);
  if (first && cgrpc_pipe_sent(&call->pipe, len) && call->has_callbacks) {
    cgrpc_call_ref(call); /* the queued task's */
    if (!cgrpc_loop_defer(call->ch->loop, &call->ready_task))
      cgrpc_call_unref(call);
  }
}

void cgrpc_attempt_take_outgoing(cgrpc_call *call)
{
  int closed;
  cgrpc_sendbuf *b = cgrpc_pipe_take_out(&call->pipe, &closed);
  while (b != NULL) {
    cgrpc_sendbuf *next = b->next;
    cgrpc_sendq_push(&call->sendq, b);
    b = next;
  }
  if (closed)
    call->send_closed = 1;
  if (call->data_deferred && attempt_stream_live(call)) {
    call->data_deferred = 0;
    nghttp2_session_resume_data(call->conn->ng, call->stream_id);
    cgrpc_conn_kick(call->conn);
  }
}

/* These three run with the reference cgrpc_call_post took. */
static void attempt_send_task(void *ud)
{
  cgrpc_call *call = ud;
  /* Before the attempt starts, messages wait in the pipe; it takes them then. */
  if (call->attempt_active)
    cgrpc_attempt_take_outgoing(call);
  cgrpc_call_unref(call);
}

static void attempt_credit_task(void *ud)
{
  cgrpc_call *call = ud;
  size_t n = cgrpc_pipe_take_credit(&call->pipe);
  if (n > 0 && attempt_stream_live(call)) {
    nghttp2_session_consume_stream(call->conn->ng, call->stream_id, n);
    cgrpc_conn_kick(call->conn);
  }
  cgrpc_call_unref(call);
}

static void attempt_ready_task(void *ud)
{
  cgrpc_call *call = ud;
  if (call->cbs.on_send_ready != NULL && !__atomic_load_n(&call->finished, __ATOMIC_ACQUIRE))
    call->cbs.on_send_ready(call, call->cbs_user_data);
  cgrpc_call_unref(call);
}

static ssize_t attempt_read_cb(nghttp2_session *ng, int32_t stream_id, uint8_t *buf,
                               size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                               void *ud)
{
  cgrpc_sendq *q = source->ptr;
  (void)ng;
  (void)buf;
  (void)ud;
  if (q->stream_id != stream_id)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* abandoned: reset it */
  cgrpc_call *call = cgrpc_container_of(q, cgrpc_call, sendq);
  if (q->bytes == 0 && !call->send_closed) {
    call->data_deferred = 1; /* resumed when the application writes */
    return NGHTTP2_ERR_DEFERRED;
  }
  size_t n = q->bytes < length ? q->bytes : length;
  *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n == q->bytes && call->send_closed)
    *data_flags |= NGHTTP2_DATA_FLAG_EOF; /* END_STREAM with the last bytes */
  return (ssize_t)n;
}

void cgrpc_client_call_submit(cgrpc_call *call, cgrpc_conn *conn)
{
  cgrpc_channel *ch = call->ch;
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, call->alloc);
  const char *path = call->method->path;
  int rv = cgrpc_nvbuf_add_static(&nv, ":method", "POST");
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, ":scheme", ch->tls != NULL ? "https" : "http");
  rv = rv ? rv : cgrpc_nvbuf_add(&nv, ":path", 5, path, strlen(path));
  rv = rv ? rv : cgrpc_nvbuf_add(&nv, ":authority", 10, ch->authority, strlen(ch->authority));
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, "te", "trailers");
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, "content-type", "application/grpc");
  rv = rv ? rv : cgrpc_nvbuf_add(&nv, "user-agent", 10, ch->user_agent, strlen(ch->user_agent));
  rv = rv ? rv : cgrpc_nvbuf_add_static(&nv, "grpc-accept-encoding", CGRPC_ACCEPT_ENCODING);
  if (rv == 0 && call->send_enc != CGRPC_ENCODING_IDENTITY)
    rv = cgrpc_nvbuf_add_static(&nv, "grpc-encoding", cgrpc_encoding_name(call->send_enc));
  if (rv == 0 && call->deadline != CGRPC_TIME_INFINITE)
    rv = cgrpc_nvbuf_add_timeout(&nv, call->deadline - cgrpc_now());
  char prev[12]; /* nv points at it until nghttp2 copies it in the submit below */
  if (rv == 0 && call->attempts > 1) {
    snprintf(prev, sizeof prev, "%d", call->attempts - 1);
    rv = cgrpc_nvbuf_add(&nv, "grpc-previous-rpc-attempts", 26, prev, strlen(prev));
  }
  rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, call->md);
  if (rv != 0) {
    cgrpc_nvbuf_clear(&nv);
    cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL, "out of memory building headers");
    return;
  }
  nghttp2_data_provider prd;
  prd.source.ptr = &call->sendq;
  prd.read_callback = attempt_read_cb;
  int32_t id = nghttp2_submit_request(conn->ng, NULL, nv.nv, nv.n, &prd, call);
  cgrpc_nvbuf_clear(&nv);
  if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
    /* This connection has used up its stream ids: retire it, use another. */
    cgrpc_subchannel_retire(conn->owner, conn);
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
  conn->nstreams++;
  cgrpc_conn_kick(conn);
}

/* ---- starting -------------------------------------------------------------------------------- */

void cgrpc_attempt_start(cgrpc_call *call)
{
  call->attempt_active = 1;
  call->attempts++;
  if (__atomic_load_n(&call->cancel_requested, __ATOMIC_ACQUIRE)) {
    call->final = 1;
    cgrpc_client_call_abort(call, CGRPC_STATUS_CANCELLED, "Cancelled");
    return;
  }
  if (call->fail_code != 0) {
    call->final = 1;
    cgrpc_client_call_abort(call, (cgrpc_code)call->fail_code, "%s", call->fail_why);
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
  if (call->streaming) {
    cgrpc_retry_buffer_resend(call); /* what earlier attempts sent, if this is a retry */
    cgrpc_attempt_take_outgoing(call); /* what was written before the start */
  }
  cgrpc_channel_start_attempt(call->ch, call);
}

static void attempt_start_task(void *ud)
{
  cgrpc_attempt_start(ud);
}

void cgrpc_attempt_reset(cgrpc_call *call)
{
  cgrpc_sendq_init(&call->sendq, call->streaming ? attempt_sendbuf_done : NULL);
  if (call->req != NULL) {
    /* A unary or server-streaming request: all the client sends. */
    call->sendbuf.data = call->req;
    call->sendbuf.len = call->req_len;
    call->sendbuf.off = 0;
    cgrpc_sendq_push(&call->sendq, &call->sendbuf);
    call->send_closed = 1;
  }
  call->data_deferred = 0;
  cgrpc_frame_decoder_init(&call->dec, call->alloc, call->ch->max_recv);
  call->http_status = 0;
  call->got_content_type = 0;
  call->grpc_status = -1;
  call->recv_enc = CGRPC_ENCODING_IDENTITY;
  call->n_messages = 0;
  call->header_bytes = 0;
  call->committed = 0;
  call->refused = 0;
  call->pushback_ms = CGRPC_PUSHBACK_NONE;
  cgrpc_status_clear(&call->rx);
}

void cgrpc_attempt_begin(cgrpc_call *call)
{
  cgrpc_attempt_reset(call);
  cgrpc_loop_post(call->ch->loop, &call->start_task);
}

void cgrpc_attempt_init(cgrpc_call *call)
{
  /* Once per call: a task may be queued whenever an attempt starts. */
  cgrpc_timer_init(&call->deadline_timer, attempt_on_deadline, call);
  cgrpc_task_init(&call->start_task, attempt_start_task, call);
  cgrpc_task_init(&call->send_task, attempt_send_task, call);
  cgrpc_task_init(&call->credit_task, attempt_credit_task, call);
  cgrpc_task_init(&call->ready_task, attempt_ready_task, call);
  cgrpc_retry_init(call);
}

/* ---- receiving ---------------------------------------------------------------------------- */

static cgrpc_call *attempt_of_stream(nghttp2_session *ng, int32_t stream_id)
{
  cgrpc_call *call = nghttp2_session_get_stream_user_data(ng, stream_id);
  return call != NULL && call->attempt_active ? call : NULL;
}

static int attempt_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                             size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                             void *ud)
{
  (void)flags;
  (void)ud;
  if (frame->hd.type != NGHTTP2_HEADERS)
    return 0;
  cgrpc_call *call = attempt_of_stream(ng, frame->hd.stream_id);
  if (call == NULL)
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
  case CGRPC_HDR_GRPC_ENCODING:
    call->recv_enc = cgrpc_encoding_parse((const char *)value, valuelen);
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
  case CGRPC_HDR_GRPC_OTHER:
    if (trailers && namelen == 22 && memcmp(name, "grpc-retry-pushback-ms", 22) == 0)
      call->pushback_ms = cgrpc_retry_parse_pushback((const char *)value, valuelen);
    return 0;
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

static int attempt_on_message(void *ud, const uint8_t *msg, size_t len, int compressed)
{
  cgrpc_call *call = ud;
  uint8_t *plain = NULL;
  size_t wire = CGRPC_FRAME_PREFIX + len; /* what counts for flow control */
  if (compressed) {
    if (call->recv_enc <= CGRPC_ENCODING_IDENTITY) {
      cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL,
                              "compressed message without a grpc-encoding we support");
      return -1;
    }
    int rv = cgrpc_decompress((cgrpc_encoding)call->recv_enc, call->alloc, msg, len,
                              call->ch->max_recv, &plain, &len);
    if (rv != 0) {
      cgrpc_client_call_abort(call, rv == CGRPC_ERR_TOO_LARGE ? CGRPC_STATUS_RESOURCE_EXHAUSTED
                                                              : CGRPC_STATUS_INTERNAL,
                              rv == CGRPC_ERR_TOO_LARGE ? "decompressed message larger than max (%lld)"
                                                        : "cannot decompress a message (%lld)",
                              (long long)call->ch->max_recv);
      return -1;
    }
    msg = plain;
  }
  if (!call->streaming && ++call->n_messages > 1) {
    cgrpc_free(call->alloc, plain);
    cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL,
                            "unary call received more than one response message");
    return -1;
  }
  ProtobufCMessage *m = protobuf_c_message_unpack(call->method->response, &call->pb, len, msg);
  cgrpc_free(call->alloc, plain);
  if (m == NULL) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL, "failed to parse response message (%s)",
                            call->method->response->name);
    return -1;
  }
  call->committed = 1; /* the application may have it: no retry from here */
  cgrpc_retry_buffer_clear(call);
  /* A blocking stream's reader tells in cgrpc_call_recv, on its own thread. */
  if (!call->streaming || call->has_callbacks)
    call->last_compressed = compressed;
  if (!call->streaming)
    call->response = m;
  else if (!call->has_callbacks)
    cgrpc_pipe_deliver(&call->pipe, m, wire, compressed);
  else if (call->cbs.on_message != NULL)
    call->cbs.on_message(call, m, call->cbs_user_data);
  else
    protobuf_c_message_free_unpacked(m, &call->pb);
  return 0;
}

static int attempt_on_data(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                           const uint8_t *data, size_t len, void *ud)
{
  (void)flags;
  (void)ud;
  /* The connection's window always comes back: one slow stream must not
   * stall the others. */
  nghttp2_session_consume_connection(ng, len);
  cgrpc_call *call = attempt_of_stream(ng, stream_id);
  if (call == NULL || call->http_status != 200 || !call->got_content_type)
    return 0; /* not (or no longer) a gRPC body; the status comes from :status */
  cgrpc_call_ref(call); /* a message may end the call inside the feed */
  int rv = cgrpc_frame_decoder_feed(&call->dec, data, len, attempt_on_message, call);
  if (rv == CGRPC_ERR_TOO_LARGE)
    cgrpc_client_call_abort(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                            "received message larger than max (%u vs. %lld)",
                            call->dec.too_large_len, (long long)call->ch->max_recv);
  else if (rv == CGRPC_ERR_PROTO)
    cgrpc_client_call_abort(call, CGRPC_STATUS_INTERNAL, "malformed message prefix");
  else if (rv == CGRPC_ERR_NOMEM)
    cgrpc_client_call_abort(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  if (call->attempt_active) {
    /* The stream's window comes back as the application takes messages. */
    size_t now = call->streaming && !call->has_callbacks ? cgrpc_pipe_received(&call->pipe, len)
                                                         : len;
    if (now > 0)
      nghttp2_session_consume_stream(ng, stream_id, now);
  }
  cgrpc_call_unref(call);
  return 0;
}

/* The server ended its side: settle the attempt's status. */
static void attempt_remote_end(cgrpc_call *call)
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
  } else if (code == CGRPC_STATUS_OK && !call->streaming && call->response == NULL) {
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
    protobuf_c_message_free_unpacked(call->response, &call->pb);
    call->response = NULL;
  }
  /* If our side is still sending, stop it: the call is decided. */
  if (nghttp2_session_get_stream_local_close(call->conn->ng, call->stream_id) == 0) {
    nghttp2_submit_rst_stream(call->conn->ng, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
    cgrpc_conn_kick(call->conn);
  }
  attempt_end(call);
}

static int attempt_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  cgrpc_conn *conn = ud;
  if (frame->hd.stream_id == 0) {
    cgrpc_conn_on_frame(conn, frame);
    return 0;
  }
  if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    /* Response headers (not Trailers-Only) commit the call: A6. */
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
      cgrpc_call *call = attempt_of_stream(ng, frame->hd.stream_id);
      if (call != NULL) {
        call->committed = 1;
        cgrpc_retry_buffer_clear(call);
      }
    }
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
    return 0;
  cgrpc_call *call = attempt_of_stream(ng, frame->hd.stream_id);
  if (call != NULL)
    attempt_remote_end(call);
  return 0;
}

static int attempt_on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code,
                                   void *ud)
{
  cgrpc_conn *conn = ud;
  cgrpc_call *call = nghttp2_session_get_stream_user_data(ng, stream_id);
  if (call == NULL) {
    cgrpc_conn_bury(conn, stream_id);
    return 0;
  }
  if (!call->attempt_active)
    return 0;
  if (error_code == NGHTTP2_REFUSED_STREAM) {
    call->refused = 1; /* the server never saw it: safe to send again */
    cgrpc_client_call_abort(call, CGRPC_STATUS_UNAVAILABLE, "stream refused by the server");
  } else {
    cgrpc_client_call_abort(call, cgrpc_code_from_rst_stream(error_code),
                            "stream reset by the server (HTTP/2 error %s)",
                            nghttp2_http2_strerror(error_code));
  }
  return 0;
}

void cgrpc_client_conn_setup(nghttp2_session_callbacks *cbs)
{
  nghttp2_session_callbacks_set_on_header_callback(cbs, attempt_on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, attempt_on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, attempt_on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, attempt_on_stream_close);
}

void cgrpc_client_conn_fail_streams(cgrpc_conn *conn)
{
  while (!cgrpc_list_empty(&conn->streams)) {
    cgrpc_call *call = cgrpc_container_of(conn->streams.next, cgrpc_call, node);
    cgrpc_client_call_abort(call, CGRPC_STATUS_UNAVAILABLE, "connection to %s lost: %s",
                            conn->peer, conn->error);
  }
}
