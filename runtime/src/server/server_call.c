/* Server calls on the I/O thread: parse the request stream, dispatch it, send the answer. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cgrpc/extension.h>

#include "base/alloc.h"
#include "base/log.h"
#include "server/server_call.h"
#include "server/server_peers.h"
#include "wire/compress.h"
#include "wire/frame.h"
#include "wire/headers.h"
#include "wire/message.h"
#include "wire/metadata_internal.h"
#include "wire/status_map.h"
#include "wire/timeout.h"

/* The send buffer of a streaming handler, and what may wait unread (decoded). */
#define SERVER_STREAM_SEND_LIMIT (64 * 1024)
#define SERVER_STREAM_RECV_LIMIT (64 * 1024)

_Static_assert(offsetof(cgrpc_server_call, links) == 0, "client calls find the links first");

/* ---- the state machine ----------------------------------------------------------------------- */

#define MOVE(s) (1u << (s))
static const unsigned call_moves[] = {
    [CGRPC_SCALL_HEADERS] = MOVE(CGRPC_SCALL_OPEN) | MOVE(CGRPC_SCALL_ANSWERED) |
                            MOVE(CGRPC_SCALL_CLOSED),
    [CGRPC_SCALL_OPEN] = MOVE(CGRPC_SCALL_ANSWERED) | MOVE(CGRPC_SCALL_CLOSED),
    [CGRPC_SCALL_ANSWERED] = MOVE(CGRPC_SCALL_CLOSED),
    [CGRPC_SCALL_CLOSED] = 0,
};

static void call_set_state(cgrpc_server_call *call, cgrpc_server_call_state to)
{
  assert(call_moves[call->state] & MOVE(to));
  call->state = to;
}

/* Nonzero once our answer is submitted or the stream is gone: nothing more to send. */
static int call_over(const cgrpc_server_call *call)
{
  return call->state == CGRPC_SCALL_ANSWERED || call->state == CGRPC_SCALL_CLOSED;
}

/* ---- life ------------------------------------------------------------------------------------ */

static void call_unref(cgrpc_server_call *call)
{
  if (--call->refs > 0)
    return;
  cgrpc_server *srv = call->srv;
  cgrpc_link_parent_release(&call->links);
  cgrpc_loop_timer_stop(srv->loop, &call->deadline_timer);
  cgrpc_stream_clear(&call->stream); /* buffers not sent are freed (call_stream_buf_done) */
  if (call->req.streams_in || call->req.streams_out) {
    if (call->last_recv != NULL)
      protobuf_c_message_free_unpacked((ProtobufCMessage *)call->last_recv, &srv->pb);
    cgrpc_budget *unsent = call->pipe.out_budget;
    cgrpc_pipe_clear(&call->pipe); /* gives back what its queue took */
    cgrpc_budget_unref(unsent);
    cgrpc_budget_give(call->inflated, call->inflated_held);
    cgrpc_budget_unref(call->inflated);
  }
  for (cgrpc_server_attachment *a = call->attachments; a != NULL; a = a->next)
    if (a->free_fn != NULL)
      a->free_fn(a->data);
  cgrpc_arena_clear(&call->arena);
  cgrpc_free(&srv->alloc, call);
  cgrpc_server_call_released(srv);
}

/* The call can no longer succeed: tell the handler, however it listens. */
static void call_cancel(cgrpc_server_call *call)
{
  if (!cgrpc_link_cancel(&call->links)) /* and the calls it made on its behalf */
    return;
  if (call->req.streams_in || call->req.streams_out)
    cgrpc_pipe_set_over(&call->pipe);
  if (cgrpc_server_call_callbacks_live(call) && call->cbs.on_cancel != NULL)
    call->cbs.on_cancel(call, call->cbs_user_data);
}

/* The stream side has settled the status a dispatched call ends with (its on_done hooks run
 * once the handler's side has finished too). */
static void call_settle(cgrpc_server_call *call, cgrpc_code code, const char *message)
{
  if (!call->dispatched || call->final_known || call->srv->ninterceptors == 0)
    return;
  call->final_known = 1;
  call->final_code = code;
  snprintf(call->final_msg, sizeof call->final_msg, "%.127s", message != NULL ? message : "");
  cgrpc_server_call_party_done(call);
}

/* The stream is gone (closed, or the connection died). */
static void call_detach(cgrpc_server_call *call)
{
  if (call->state == CGRPC_SCALL_CLOSED)
    return;
  call_settle(call, CGRPC_STATUS_CANCELLED, "the client went away");
  call_set_state(call, CGRPC_SCALL_CLOSED);
  /* A call still waiting for a handler thread will never be answered: take it out of the
   * queue now rather than keep its request in memory. */
  if (call->dispatched && call->conn != NULL &&
      cgrpc_server_workers_cancel(call->srv, call->conn, &call->dispatch_task))
    call->refs--; /* the handler's; the stream's goes below */
  if (cgrpc_list_linked(&call->node))
    cgrpc_list_remove(&call->node);
  if (call->conn != NULL && !call->conn->dead)
    nghttp2_session_set_stream_user_data(call->conn->ng, call->stream.id, NULL);
  call->conn = NULL;
  cgrpc_stream_detach(&call->stream);
  cgrpc_loop_timer_stop(call->srv->loop, &call->deadline_timer);
  call_unref(call);
}

/* ---- answering ------------------------------------------------------------------------------- */

static int call_add_common_headers(cgrpc_nvbuf *nv, int http_status)
{
  static const char *const statuses[] = {"200", "405", "415"};
  const char *s = http_status == 405 ? statuses[1] : http_status == 415 ? statuses[2] : statuses[0];
  int rv = cgrpc_nvbuf_add_static(nv, ":status", s);
  rv = rv ? rv : cgrpc_nvbuf_add_static(nv, "content-type", "application/grpc");
  return rv ? rv : cgrpc_nvbuf_add_static(nv, "grpc-accept-encoding", CGRPC_ACCEPT_ENCODING);
}

/* with_md: also send the handler's metadata, which only the handler's side may touch until
 * it has finished. */
static int call_submit_trailers_only(cgrpc_server_call *call, int http_status, cgrpc_code code,
                                     const char *message, int with_md)
{
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, &call->srv->alloc);
  int rv = call_add_common_headers(&nv, http_status);
  rv = rv ? rv : cgrpc_nvbuf_add_status(&nv, code, message);
  if (with_md && !call->md_dropped) {
    rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, call->ans.initial_md);
    rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, call->ans.trailing_md);
  }
  if (rv == 0)
    rv = nghttp2_submit_response(call->conn->ng, call->stream.id, nv.nv, nv.n, NULL);
  cgrpc_nvbuf_clear(&nv);
  return rv;
}

/* The trailers after the last message (the engine's on_send_end): the runtime's own status if
 * it ended the call mid-stream, else the handler's with its trailing metadata. */
static int call_stream_send_end(cgrpc_stream *s)
{
  cgrpc_server_call *call = cgrpc_container_of(s, cgrpc_server_call, stream);
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, &call->srv->alloc);
  int rv = call->rejected ? cgrpc_nvbuf_add_status(&nv, call->reject_code, call->reject_msg)
                          : cgrpc_nvbuf_add_status(&nv, call->ans.code, call->ans.message);
  if (rv == 0 && !call->rejected && !call->md_dropped)
    rv = cgrpc_nvbuf_add_metadata(&nv, call->ans.trailing_md);
  if (rv == 0)
    rv = nghttp2_submit_trailer(s->conn->ng, s->id, nv.nv, nv.n);
  cgrpc_nvbuf_clear(&nv);
  return rv;
}

/* Response headers (with the initial metadata) and the data provider. */
static int call_submit_headers(cgrpc_server_call *call)
{
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, &call->srv->alloc);
  int rv = call_add_common_headers(&nv, 200);
  if (rv == 0 && call->ans.send_enc != CGRPC_ENCODING_IDENTITY)
    rv = cgrpc_nvbuf_add_static(&nv, "grpc-encoding", cgrpc_encoding_name(call->ans.send_enc));
  rv = rv ? rv : cgrpc_nvbuf_add_metadata(&nv, call->ans.initial_md);
  if (rv == 0) {
    nghttp2_data_provider prd;
    cgrpc_stream_provider(&call->stream, &prd);
    rv = nghttp2_submit_response(call->conn->ng, call->stream.id, nv.nv, nv.n, &prd);
  }
  cgrpc_nvbuf_clear(&nv);
  call->headers_sent = rv == 0;
  return rv;
}

static void call_reject(cgrpc_server_call *call, int http_status, cgrpc_code code,
                        const char *fmt, ...) CGRPC_PRINTF(4, 5);

/* Response headers now, ahead of any message: a failure resets the stream, and headers the
 * client would not take end the call. */
static void call_send_headers_now(cgrpc_server_call *call)
{
  size_t limit = cgrpc_conn_send_header_limit(call->conn);
  size_t size = CGRPC_OWN_HEADERS_SIZE + cgrpc_metadata_list_size(call->ans.initial_md);
  if (size > limit) {
    call_reject(call, 200, CGRPC_STATUS_INTERNAL,
                "response headers too large for the client (%zu bytes, it takes %zu)", size, limit);
    return;
  }
  if (call_submit_headers(call) != 0)
    nghttp2_submit_rst_stream(call->conn->ng, NGHTTP2_FLAG_NONE, call->stream.id,
                              NGHTTP2_INTERNAL_ERROR);
  cgrpc_conn_kick(call->conn);
}

/* The answer is submitted (rv: how that went): write it. */
static void call_submitted(cgrpc_server_call *call, int rv)
{
  if (rv != 0)
    nghttp2_submit_rst_stream(call->conn->ng, NGHTTP2_FLAG_NONE, call->stream.id,
                              NGHTTP2_INTERNAL_ERROR);
  /* Answered before the client finished sending: stop its upload once our END_STREAM is out
   * (a reset before it would lose the status). */
  if (!call->shut_rd)
    call->rst_after_send = 1;
  cgrpc_conn_kick(call->conn);
}

/* Frees a buffer that went out or never will (below, with the streaming tasks). */
static void call_stream_buf_done(cgrpc_stream *s, cgrpc_buf *b);

/* Takes what a streaming handler sent into the stream. */
static void call_take_outgoing(cgrpc_server_call *call)
{
  cgrpc_queue q;
  cgrpc_queue_init(&q);
  int closed;
  cgrpc_pipe_take_out(&call->pipe, &q, &closed);
  int over = call_over(call);
  for (cgrpc_qnode *n; (n = cgrpc_queue_pop(&q)) != NULL;) {
    cgrpc_buf *b = cgrpc_queue_entry(n, cgrpc_buf, node);
    if (over)
      call_stream_buf_done(&call->stream, b); /* nobody will read it */
    else
      cgrpc_stream_push(&call->stream, b);
  }
  if (over)
    return;
  if (call->stream.out.q.bytes == 0)
    return;
  if (!call->headers_sent)
    call_send_headers_now(call);
  else
    cgrpc_stream_flush(&call->stream);
}

/* Sends the status after what went out already (response headers are out). */
static void call_end_after_messages(cgrpc_server_call *call)
{
  cgrpc_stream_end_send(&call->stream);
  cgrpc_stream_flush(&call->stream);
  if (!call->shut_rd)
    call->rst_after_send = 1;
}

/* Whether the answer's header blocks fit what the client takes; if not, why not in why. */
static int call_answer_fits(cgrpc_server_call *call, const char *message, int with_response,
                            char *why, size_t why_len)
{
  size_t limit = cgrpc_conn_send_header_limit(call->conn);
  size_t trailers = CGRPC_OWN_HEADERS_SIZE + cgrpc_status_list_size(message) +
                    cgrpc_metadata_list_size(call->ans.trailing_md);
  size_t need = trailers;
  if (!call->headers_sent) {
    size_t initial = cgrpc_metadata_list_size(call->ans.initial_md);
    if (with_response)
      need = CGRPC_OWN_HEADERS_SIZE + initial > trailers ? CGRPC_OWN_HEADERS_SIZE + initial
                                                         : trailers;
    else
      need = trailers + initial; /* Trailers-Only: one block */
  }
  if (need <= limit)
    return 1;
  snprintf(why, why_len, "response metadata too large for the client (%zu bytes, it takes %zu)",
           need, limit);
  return 0;
}

/* Answers with what the handler's side decided (it has finished). */
static void call_respond(cgrpc_server_call *call)
{
  if (call->req.streams_out)
    call_take_outgoing(call);
  if (call_over(call))
    return;
  call_set_state(call, CGRPC_SCALL_ANSWERED);
  cgrpc_loop_timer_stop(call->srv->loop, &call->deadline_timer);
  /* Too late, whatever the handler said: the client's deadline has passed. */
  int late = call->req.deadline != CGRPC_TIME_INFINITE && cgrpc_now() >= call->req.deadline;
  cgrpc_code code = late ? CGRPC_STATUS_DEADLINE_EXCEEDED : call->ans.code;
  const char *message = late ? "Deadline Exceeded" : call->ans.message;
  int with_response = !late && code == CGRPC_STATUS_OK && call->ans.resp_buf.data != NULL;
  /* Metadata the client would not take: the answer says so, without it. */
  char too_large[128];
  if (!late && !call_answer_fits(call, message, with_response, too_large, sizeof too_large)) {
    call->md_dropped = 1;
    code = CGRPC_STATUS_INTERNAL;
    message = too_large;
    with_response = 0;
  }
  call_settle(call, code, message);
  if (call->headers_sent) {
    /* Headers (and maybe messages) went out: the response and the status follow them. */
    if (late || call->md_dropped) {
      call->rejected = 1;
      call->reject_code = code;
      snprintf(call->reject_msg, sizeof call->reject_msg, "%s", message);
    }
    if (with_response)
      cgrpc_stream_push(&call->stream, &call->ans.resp_buf);
    call_end_after_messages(call);
    return;
  }
  if (!with_response) {
    call_submitted(call, call_submit_trailers_only(call, 200, code, message, 1));
    return;
  }
  cgrpc_stream_push(&call->stream, &call->ans.resp_buf);
  cgrpc_stream_end_send(&call->stream);
  call_submitted(call, call_submit_headers(call));
}

/* Ends the call now with a status of the runtime's own.  Once dispatched, the call's arena,
 * status and metadata belong to the handler's side, so only what is passed here goes out
 * (and the handler sees a cancellation). */
static void call_reject(cgrpc_server_call *call, int http_status, cgrpc_code code,
                        const char *fmt, ...)
{
  if (call_over(call))
    return;
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  call_set_state(call, CGRPC_SCALL_ANSWERED);
  call_cancel(call);
  cgrpc_loop_timer_stop(call->srv->loop, &call->deadline_timer);
  call_settle(call, code, buf);
  if (call->headers_sent) {
    /* Mid-stream: what is queued still goes (nghttp2 may be sending from it), then trailers
     * carrying our status; the handler sends no more. */
    call->rejected = 1;
    call->reject_code = code;
    snprintf(call->reject_msg, sizeof call->reject_msg, "%.127s", buf);
    call_end_after_messages(call);
    return;
  }
  call_submitted(call, call_submit_trailers_only(call, http_status, code, buf, !call->dispatched));
}

static void call_respond_task(void *ud)
{
  cgrpc_server_call *call = ud;
  call_respond(call);
  call_unref(call); /* the handler's reference */
}

/* Nonzero while a task the handler posted (holding no reference) waits to run. */
static int call_handler_tasks_queued(cgrpc_server_call *call)
{
  const cgrpc_task *const tasks[] = {&call->send_task, &call->resume_task, &call->callbacks_task,
                                     &call->headers_task, &call->fail_recv_task};
  return cgrpc_loop_any_queued(call->srv->loop, tasks, sizeof tasks / sizeof tasks[0]);
}

void cgrpc_server_call_answer(cgrpc_server_call *call)
{
  cgrpc_server *srv = call->srv;
  /* Deferred answers may come from any thread; only the loop's may answer directly, and only
   * when nothing the handler posted still waits (the answer comes after it, in order). */
  if (!cgrpc_server_call_may_block(call) && cgrpc_loop_on_thread(srv->loop) &&
      !call_handler_tasks_queued(call))
    call_respond_task(call);
  else
    cgrpc_loop_post(srv->loop, &call->respond_task);
}

static void call_on_deadline(void *ud)
{
  call_reject(ud, 200, CGRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded");
}

/* ---- streaming handlers' tasks ------------------------------------------------------------------ */

/* Tasks posted by a handler hold no reference: the handler's keeps the call alive until its
 * answer is handled, and that comes after them (the loop runs posted tasks in order). */

static void call_stream_buf_done(cgrpc_stream *s, cgrpc_buf *b)
{
  cgrpc_server_call *call = cgrpc_container_of(s, cgrpc_server_call, stream);
  if (b == &call->ans.resp_buf)
    return; /* the single response, in the arena */
  size_t len = b->len;
  cgrpc_free(&call->srv->alloc, b);
  if (cgrpc_pipe_sent(&call->pipe, len) && call->has_callbacks &&
      call->state != CGRPC_SCALL_CLOSED && cgrpc_loop_defer(call->srv->loop, &call->ready_task))
    call->refs++; /* the queued task's: the answer may come first */
}

static void call_send_task(void *ud)
{
  call_take_outgoing(ud);
}

static void call_resume_task(void *ud)
{
  cgrpc_server_call *call = ud;
  if (call->state == CGRPC_SCALL_OPEN)
    cgrpc_stream_resume_recv(&call->stream);
}

static void call_ready_task(void *ud)
{
  cgrpc_server_call *call = ud;
  if (call->cbs.on_send_ready != NULL && !call_over(call) && cgrpc_server_call_callbacks_live(call))
    call->cbs.on_send_ready(call, call->cbs_user_data);
  call_unref(call);
}

/* The handler sends its headers before its first message (cgrpc_server_call_send_headers). */
static void call_headers_task(void *ud)
{
  cgrpc_server_call *call = ud;
  if (!call_over(call) && !call->headers_sent)
    call_send_headers_now(call);
}

/* A request message the reader could not decode ends the call with the reader's status. */
static void call_fail_recv(cgrpc_server_call *call)
{
  char why[sizeof call->pipe.fail_why];
  cgrpc_code code = cgrpc_pipe_read_failure(&call->pipe, why, sizeof why);
  call_reject(call, 200, code, "%s", why);
}

static void call_fail_recv_task(void *ud)
{
  call_fail_recv(ud);
}

void cgrpc_server_call_post_fail_recv(cgrpc_server_call *call)
{
  cgrpc_loop_post(call->srv->loop, &call->fail_recv_task);
}

/* Every request message has been handed to the callbacks: on_recv_done, once. */
static void call_tell_recv_done(cgrpc_server_call *call)
{
  if (call->recv_done_told || !cgrpc_server_call_callbacks_live(call))
    return;
  call->recv_done_told = 1;
  if (call->cbs.on_recv_done != NULL)
    call->cbs.on_recv_done(call, call->cbs_user_data);
}

/* The handler switched to callbacks: deliver what already waits, then go on so. */
static void call_callbacks_task(void *ud)
{
  cgrpc_server_call *call = ud;
  call->has_callbacks = 1;
  void *m;
  int resume, compressed = 0;
  int rv;
  while (call->req.streams_in &&
         (rv = cgrpc_pipe_read(&call->pipe, &m, 0, &resume, &compressed)) != 0 &&
         rv != CGRPC_ERR_AGAIN) {
    if (rv == CGRPC_ERR_PROTO) {
      call_fail_recv(call);
      return;
    }
    call->req.last_compressed = compressed;
    if (call->cbs.on_message != NULL && cgrpc_server_call_callbacks_live(call)) {
      cgrpc_server_call_hook_recv(call, m);
      call->cbs.on_message(call, m, call->cbs_user_data);
    }
    protobuf_c_message_free_unpacked(m, &call->srv->pb);
  }
  if (call->req.streams_in && call->state == CGRPC_SCALL_OPEN)
    cgrpc_stream_resume_recv(&call->stream); /* from now on nothing waits */
  if (!cgrpc_server_call_callbacks_live(call))
    return;
  if (cgrpc_server_call_cancelled(call)) {
    if (call->cbs.on_cancel != NULL)
      call->cbs.on_cancel(call, call->cbs_user_data);
  } else if (call->req.streams_in && call->shut_rd && !call->stream.end_pending) {
    call_tell_recv_done(call);
  }
}

/* ---- the request ----------------------------------------------------------------------------- */

static void call_dispatch(cgrpc_server_call *call)
{
  cgrpc_server *srv = call->srv;
  const ProtobufCMessageDescriptor *rd = call->req.entry->desc->response;
  call->ans.response = cgrpc_arena_alloc(&call->arena, rd->sizeof_message);
  call->nstages = srv->ninterceptors + 1;
  call->stages = cgrpc_arena_alloc(&call->arena, call->nstages * sizeof *call->stages);
  if (call->ans.response == NULL || call->stages == NULL) {
    call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  rd->message_init(call->ans.response);
  call->dispatched = 1;
  call->done_parties = 2; /* the stream side and the handler's side: on_done after both */
  call->refs++; /* the handler's, until its answer is handled on the loop */
  cgrpc_server_dispatch(srv, call->conn, &call->dispatch_task,
                        call->req.streams_in || call->req.streams_out);
}

static cgrpc_server_call *server_stream_call(nghttp2_session *ng, int32_t stream_id)
{
  return nghttp2_session_get_stream_user_data(ng, stream_id);
}

static const cgrpc_stream_ops call_stream_ops;

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
  call->state = CGRPC_SCALL_HEADERS;
  call->start_time = cgrpc_now();
  cgrpc_arena_init(&call->arena, &srv->alloc, call->arena_mem, sizeof call->arena_mem);
  cgrpc_arena_allocator(&call->arena, &call->arena_alloc);
  call->conn = conn;
  cgrpc_stream_init(&call->stream, &call_stream_ops, &srv->alloc, srv->max_recv);
  cgrpc_stream_attach(&call->stream, conn, frame->hd.stream_id);
  cgrpc_list_init(&call->node);
  cgrpc_link_parent_init(&call->links, CGRPC_TIME_INFINITE);
  cgrpc_list_push_back(&conn->streams, &call->node);
  cgrpc_timer_init(&call->deadline_timer, call_on_deadline, call);
  cgrpc_task_init(&call->dispatch_task, cgrpc_server_call_run, call);
  cgrpc_task_init(&call->respond_task, call_respond_task, call);
  cgrpc_task_init(&call->headers_task, call_headers_task, call);
  call->req.deadline = CGRPC_TIME_INFINITE;
  call->req.path = "";
  call->req.authority = "";
  call->req.peer = cgrpc_arena_strndup(&call->arena, conn->peer, strlen(conn->peer));
  const char *id = conn->tp->vt->peer_identity != NULL ? conn->tp->vt->peer_identity(conn->tp)
                                                       : NULL;
  if (id != NULL) { /* copied: a handler may outlive the connection */
    size_t len = 0;
    while (id[len] != 0)
      len += strlen(id + len) + 1;
    char *copy = cgrpc_arena_alloc(&call->arena, len + 1);
    if (copy != NULL)
      memcpy(copy, id, len + 1);
    call->req.peer_identity = copy;
  }
  srv->ncalls++;
  nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, call);
  return 0;
}

static void call_header_error(cgrpc_server_call *call, cgrpc_code code, const char *msg)
{
  if (call->req.header_error == CGRPC_STATUS_OK) {
    call->req.header_error = code;
    call->req.header_error_msg = msg;
  }
}

static int server_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                            size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                            void *ud)
{
  (void)flags;
  (void)ud;
  cgrpc_server_call *call = server_stream_call(ng, frame->hd.stream_id);
  if (call == NULL || call->state != CGRPC_SCALL_HEADERS)
    return 0; /* request trailers carry nothing for gRPC */
  call->req.header_bytes += namelen + valuelen + 32;
  if (call->req.header_bytes > CGRPC_SERVER_MAX_HEADER_BYTES) {
    /* Refused the moment the limit passes: nghttp2 skips the rest of the block (decoding
     * it for the table's sake, without checking or handing over each field -- a block of
     * references to one large table entry would cost the I/O thread far more than the
     * peer).  The client sees RESOURCE_EXHAUSTED. */
    call_header_error(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "request metadata too large");
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                              NGHTTP2_ENHANCE_YOUR_CALM);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  switch (cgrpc_header_classify(name, namelen)) {
  case CGRPC_HDR_METHOD:
    call->req.bad_method = !(valuelen == 4 && memcmp(value, "POST", 4) == 0);
    break;
  case CGRPC_HDR_PATH:
    call->req.path = cgrpc_arena_strndup(&call->arena, (const char *)value, valuelen);
    break;
  case CGRPC_HDR_AUTHORITY:
    call->req.authority = cgrpc_arena_strndup(&call->arena, (const char *)value, valuelen);
    break;
  case CGRPC_HDR_CONTENT_TYPE:
    call->req.got_content_type = cgrpc_content_type_is_grpc(value, valuelen);
    break;
  case CGRPC_HDR_GRPC_TIMEOUT: {
    int64_t ns;
    if (cgrpc_timeout_parse((const char *)value, valuelen, &ns) != 0)
      call_header_error(call, CGRPC_STATUS_INTERNAL, "malformed grpc-timeout");
    else
      call->req.deadline =
          ns >= CGRPC_TIME_INFINITE - cgrpc_now() ? CGRPC_TIME_INFINITE : cgrpc_now() + ns;
    break;
  }
  case CGRPC_HDR_GRPC_ENCODING:
    call->stream.recv_enc = cgrpc_encoding_parse((const char *)value, valuelen);
    if (call->stream.recv_enc == CGRPC_ENCODING_UNKNOWN)
      call_header_error(call, CGRPC_STATUS_UNIMPLEMENTED,
                        "grpc-encoding not supported (" CGRPC_ACCEPT_ENCODING " are)");
    break;
  case CGRPC_HDR_GRPC_OTHER:
    if (namelen == 26 && memcmp(name, "grpc-previous-rpc-attempts", 26) == 0) {
      int n = 0;
      for (size_t i = 0; i < valuelen && i < 4 && value[i] >= '0' && value[i] <= '9'; i++)
        n = n * 10 + (value[i] - '0');
      call->req.previous_attempts = n;
    }
    break;
  case CGRPC_HDR_OTHER: {
    int rv = cgrpc_metadata_ensure(&call->req.md, &call->arena_alloc);
    if (rv == 0)
      rv = cgrpc_metadata_append_wire(call->req.md, (const char *)name, namelen, (const char *)value,
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

static void call_free_msg(void *msg, void *user_data)
{
  cgrpc_server_call *call = user_data;
  protobuf_c_message_free_unpacked(msg, &call->srv->pb);
}

/* How often a reader waiting for the connection's inflate budget looks whether its call is
 * still on. */
#define CALL_BUDGET_POLL_MS 50

static int call_budget_stop(void *user_data)
{
  return cgrpc_server_call_cancelled(user_data);
}

/* Decodes a request message as it came: inflated (if it came compressed) and unpacked with the
 * server's allocator, on the thread that reads it.  What handler threads hold inflated counts
 * against their connection's budget until their next read (or the call's end): the reader
 * first waits for room for the largest message it may get twice (inflated, then unpacked
 * beside it), then keeps what this one took inflated.
 * (On the I/O thread, which must not wait, the message is gone before the next one.) */
static cgrpc_code call_decode_msg(void *user_data, int encoding, const uint8_t *bytes, size_t len,
                                  void **msg, char *why, size_t why_len)
{
  cgrpc_server_call *call = user_data;
  cgrpc_budget *b = call->inflated;
  int64_t max = call->stream.max_recv;
  ProtobufCMessage *m;
  if (cgrpc_loop_on_thread(call->srv->loop)) {
    cgrpc_code code = cgrpc_message_decode("request", call->req.entry->desc->request,
                                           &call->srv->pb, &call->srv->alloc, encoding, bytes, len,
                                           max, &m, NULL, why, why_len);
    *msg = m;
    return code;
  }
  size_t room = max >= 0 && (uint64_t)max < b->limit / 2 ? 2 * (size_t)max : b->limit;
  if (cgrpc_budget_take(b, room, CALL_BUDGET_POLL_MS, call_budget_stop, call) != 0) {
    *msg = NULL;
    snprintf(why, why_len, "cancelled while waiting for the connection's inflate budget");
    return CGRPC_STATUS_CANCELLED;
  }
  size_t plain = 0;
  cgrpc_code code = cgrpc_message_decode("request", call->req.entry->desc->request, &call->srv->pb,
                                         &call->srv->alloc, encoding, bytes, len, max, &m, &plain,
                                         why, why_len);
  call->inflated_held = code != CGRPC_STATUS_OK ? 0 : plain < room ? plain : room;
  cgrpc_budget_give(b, room - call->inflated_held);
  *msg = m;
  return code;
}

/* The request headers are complete: decide whether the call can go on. */
static void call_headers_done(cgrpc_server_call *call)
{
  cgrpc_server *srv = call->srv;
  if (call->req.path == NULL || call->req.authority == NULL || call->req.peer == NULL) {
    call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  if (call->req.bad_method) {
    call_reject(call, 405, CGRPC_STATUS_INTERNAL, "gRPC requires POST");
    return;
  }
  if (!call->req.got_content_type) {
    call_reject(call, 415, CGRPC_STATUS_INTERNAL, "content-type is not application/grpc");
    return;
  }
  if (call->req.header_error != CGRPC_STATUS_OK) {
    call_reject(call, 200, call->req.header_error, "%s", call->req.header_error_msg);
    return;
  }
  if (srv->draining) {
    call_reject(call, 200, CGRPC_STATUS_UNAVAILABLE, "server is shutting down");
    return;
  }
  call->req.entry = cgrpc_registry_find(&srv->registry, call->req.path, strlen(call->req.path));
  if (call->req.entry == NULL) {
    call_reject(call, 200, CGRPC_STATUS_UNIMPLEMENTED, "Method not found: %s", call->req.path);
    return;
  }
  if (call->req.entry->handler == NULL || call->req.entry->desc->invoke_handler == NULL) {
    call_reject(call, 200, CGRPC_STATUS_UNIMPLEMENTED, "Method not implemented: %s", call->req.path);
    return;
  }
  cgrpc_method_kind kind = call->req.entry->desc->kind;
  call->req.streams_in = kind == CGRPC_METHOD_CLIENT_STREAMING || kind == CGRPC_METHOD_BIDI_STREAMING;
  call->req.streams_out = kind == CGRPC_METHOD_SERVER_STREAMING || kind == CGRPC_METHOD_BIDI_STREAMING;
  /* Compressed requests are inflated on the thread that reads them, not here (one I/O thread
   * serves every connection): by the handler's thread, or the reader of a stream. */
  call->stream.pass_compressed = call->req.streams_in || cgrpc_server_call_may_block(call);
  if (call->req.streams_in || call->req.streams_out) {
    cgrpc_pipe_init(&call->pipe, &srv->alloc, SERVER_STREAM_SEND_LIMIT, SERVER_STREAM_RECV_LIMIT,
                    call_free_msg, call);
    call->pipe.decode = call_decode_msg;
    call->inflated = cgrpc_budget_ref(call->conn->inflated);
    call->pipe.out_budget = cgrpc_budget_ref(call->conn->unsent);
    cgrpc_task_init(&call->send_task, call_send_task, call);
    cgrpc_task_init(&call->resume_task, call_resume_task, call);
    cgrpc_task_init(&call->ready_task, call_ready_task, call);
    cgrpc_task_init(&call->callbacks_task, call_callbacks_task, call);
    cgrpc_task_init(&call->fail_recv_task, call_fail_recv_task, call);
  }
  call->links.deadline = call->req.deadline; /* for the calls it makes (before the handler runs) */
  if (call->req.deadline != CGRPC_TIME_INFINITE &&
      cgrpc_loop_timer_start(srv->loop, &call->deadline_timer, call->req.deadline) != 0) {
    call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  call_set_state(call, CGRPC_SCALL_OPEN);
  /* The handler reads the requests as they come.  On a thread, it may start with the first of
   * them (or the client's end) instead: a stream that never sends holds no thread. */
  if (call->req.streams_in) {
    cgrpc_stream_start when = srv->stream_start;
    if (when == CGRPC_STREAM_START_DEFAULT)
      when = call->req.streams_out ? CGRPC_STREAM_START_AT_ONCE
                                   : CGRPC_STREAM_START_ON_FIRST_MESSAGE;
    if (srv->workers == NULL || when == CGRPC_STREAM_START_AT_ONCE)
      call_dispatch(call);
  }
}

/* A streaming request's first message, or its end, has come: its handler's thread is due. */
static int call_dispatch_late(cgrpc_server_call *call)
{
  if (!call->dispatched)
    call_dispatch(call);
  return call->state == CGRPC_SCALL_OPEN;
}

/* A request message (the stream engine's on_message). */
static int call_stream_message(cgrpc_stream *s, const uint8_t *msg, size_t len, int compressed)
{
  cgrpc_server_call *call = cgrpc_container_of(s, cgrpc_server_call, stream);
  cgrpc_server *srv = call->srv;
  const ProtobufCMessageDescriptor *rd = call->req.entry->desc->request;
  if (call->req.streams_in) {
    if (!call_dispatch_late(call))
      return -1;
    if (compressed && !call->has_callbacks) {
      int rv = cgrpc_pipe_deliver_compressed(&call->pipe, msg, len, call->stream.recv_enc);
      if (rv == CGRPC_ERR_NOMEM)
        call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
      return rv == CGRPC_ERR_NOMEM ? -1 : rv;
    }
    ProtobufCMessage *m;
    char why[128];
    cgrpc_code code = cgrpc_message_decode("request", rd, &srv->pb, &srv->alloc,
                                           compressed ? call->stream.recv_enc
                                                      : CGRPC_ENCODING_IDENTITY,
                                           msg, len, s->max_recv, &m, NULL, why, sizeof why);
    if (code != CGRPC_STATUS_OK) {
      call_reject(call, 200, code, "%s", why);
      return -1;
    }
    if (!call->has_callbacks) {
      int rv = cgrpc_pipe_deliver(&call->pipe, m, CGRPC_FRAME_PREFIX + len, compressed);
      if (rv == CGRPC_ERR_NOMEM) {
        call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
      }
      return rv;
    }
    call->req.last_compressed = compressed;
    if (call->cbs.on_message != NULL && cgrpc_server_call_callbacks_live(call)) {
      cgrpc_server_call_hook_recv(call, m);
      call->cbs.on_message(call, m, call->cbs_user_data);
    }
    protobuf_c_message_free_unpacked(m, &srv->pb);
    return 0;
  }
  if (call->req.request != NULL || call->req.raw != NULL) {
    call_reject(call, 200, CGRPC_STATUS_INTERNAL, "method %s takes one request message, got more",
                call->req.path);
    return -1;
  }
  call->req.last_compressed = compressed;
  if (compressed && s->pass_compressed) {
    /* Kept as it came, for the handler's thread to inflate (cgrpc_server_call_run). */
    call->req.raw = cgrpc_arena_alloc(&call->arena, len > 0 ? len : 1);
    if (call->req.raw == NULL) {
      call_reject(call, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
      return -1;
    }
    memcpy(call->req.raw, msg, len);
    call->req.raw_len = len;
    call->req.raw_encoding = call->stream.recv_enc;
    return 0;
  }
  /* Decoded into the call's arena: no allocation of its own, freed with it. */
  call->req.request = protobuf_c_message_unpack(rd, &call->arena.pb, len, msg);
  if (call->req.request == NULL) {
    call_reject(call, 200, CGRPC_STATUS_INTERNAL, "failed to parse request message (%s)", rd->name);
    return -1;
  }
  return 0;
}

static void call_stream_error(cgrpc_stream *s, cgrpc_code code, const char *msg)
{
  call_reject(cgrpc_container_of(s, cgrpc_server_call, stream), 200, code, "%s", msg);
}

/* The client ended its side and every message it sent has been handed over. */
static void call_request_done(cgrpc_server_call *call)
{
  if (call->state != CGRPC_SCALL_OPEN)
    return;
  if (cgrpc_stream_partial(&call->stream)) {
    call_reject(call, 200, CGRPC_STATUS_INTERNAL, "request ended in the middle of a message");
  } else if (call->req.streams_in) {
    if (!call_dispatch_late(call))
      return;
    cgrpc_pipe_in_done(&call->pipe);
    /* Before the switch to callbacks, callbacks_task tells it after what the pipe holds. */
    if (call->has_callbacks)
      call_tell_recv_done(call);
  } else if (call->req.request == NULL && call->req.raw == NULL) {
    call_reject(call, 200, CGRPC_STATUS_INTERNAL, "method %s received no request message",
                call->req.path);
  } else {
    call_dispatch(call);
  }
}

static void call_stream_recv_end(cgrpc_stream *s)
{
  call_request_done(cgrpc_container_of(s, cgrpc_server_call, stream));
}

static const cgrpc_stream_ops call_stream_ops = {
    .on_message = call_stream_message,
    .on_recv_error = call_stream_error,
    .on_buf_done = call_stream_buf_done,
    .on_recv_end = call_stream_recv_end,
    .on_send_end = call_stream_send_end,
};

static int server_on_data(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                          const uint8_t *data, size_t len, void *ud)
{
  (void)flags;
  cgrpc_server_call *call = server_stream_call(ng, stream_id);
  if (call == NULL || call->state != CGRPC_SCALL_OPEN) {
    cgrpc_stream_discard(ud, stream_id, len);
    return 0;
  }
  cgrpc_stream_recv(&call->stream, data, len);
  return 0;
}

static int server_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  cgrpc_conn *conn = ud;
  if (frame->hd.stream_id == 0) {
    cgrpc_conn_on_frame(conn, frame);
    return 0;
  }
  /* Resets and empty DATA frames serve no request: past a limit they end the connection. */
  if ((frame->hd.type == NGHTTP2_RST_STREAM ||
       (frame->hd.type == NGHTTP2_DATA && frame->hd.length == 0 &&
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))) &&
      !cgrpc_server_glitch(conn->owner, conn))
    return 0;
  cgrpc_server_call *call = server_stream_call(ng, frame->hd.stream_id);
  if (call == NULL)
    return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
    call_headers_done(call);
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    call->shut_rd = 1;
    /* Messages the handler had no room for yet are decoded first (on_recv_end). */
    if (cgrpc_stream_end_recv(&call->stream))
      call_request_done(call);
  }
  return 0;
}

/* A reset of ours that the client made us send (it broke a rule), as opposed to ending a
 * stream we answered or gave up on. */
static int server_rst_is_clients_fault(uint32_t error_code)
{
  return error_code != NGHTTP2_NO_ERROR && error_code != NGHTTP2_CANCEL &&
         error_code != NGHTTP2_INTERNAL_ERROR;
}

static int server_on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  if (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)
    cgrpc_keepalive_on_send(ud); /* A8: the client may ping again */
  if (frame->hd.type == NGHTTP2_RST_STREAM &&
      server_rst_is_clients_fault(frame->rst_stream.error_code)) {
    cgrpc_conn *conn = ud;
    cgrpc_server_glitch(conn->owner, conn);
    return 0;
  }
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  cgrpc_server_call *call = server_stream_call(ng, frame->hd.stream_id);
  if (call != NULL && call->rst_after_send && !call->shut_rd)
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
  if (error_code != NGHTTP2_NO_ERROR || call->state != CGRPC_SCALL_ANSWERED)
    call_cancel(call); /* the client went away before the answer */
  call_detach(call);
  return 0;
}

/* nghttp2 would not send a header block of ours (one too large for it, say): the stream could
 * not end as it should, so it ends now, reset (the client sees INTERNAL). */
static int server_on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error,
                                    void *ud)
{
  (void)ud;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id == 0)
    return 0;
  cgrpc_server_call *call = server_stream_call(ng, frame->hd.stream_id);
  if (call != NULL)
    call_settle(call, CGRPC_STATUS_INTERNAL, "response headers could not be sent");
  cgrpc_log(CGRPC_LOG_WARNING, "stream %d: response headers could not be sent (%s): reset",
            (int)frame->hd.stream_id, nghttp2_strerror(lib_error));
  nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
  return 0;
}

void cgrpc_server_conn_setup(nghttp2_session_callbacks *cbs)
{
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, server_on_frame_not_send);
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

/* ---- what the handler's side asks of the stream (any thread) ------------------------------ */

void cgrpc_server_call_post_send(cgrpc_server_call *call)
{
  cgrpc_loop_post(call->srv->loop, &call->send_task);
}

void cgrpc_server_call_post_resume(cgrpc_server_call *call)
{
  cgrpc_loop_post(call->srv->loop, &call->resume_task);
}

void cgrpc_server_call_post_callbacks(cgrpc_server_call *call)
{
  cgrpc_loop_post(call->srv->loop, &call->callbacks_task);
}

void cgrpc_server_call_post_headers(cgrpc_server_call *call)
{
  cgrpc_loop_post(call->srv->loop, &call->headers_task);
}
