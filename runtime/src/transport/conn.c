/* An HTTP/2 connection: nghttp2 does the protocol; this file moves its bytes. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "transport/conn.h"
#include "transport/tls.h"
#include "wire/headers.h"

#define CONN_MAX_READS_PER_ROUND 16

/* ---- writing ------------------------------------------------------------- */

static void conn_update_events(cgrpc_conn *conn)
{
  uint32_t ev = EPOLLIN;
  if (conn->connecting || conn->read_wants_write ||
      (conn->pend_len > conn->pend_off && !conn->write_wants_read))
    ev |= EPOLLOUT;
  if (cgrpc_loop_mod_fd(conn->loop, &conn->fdh, ev) != 0)
    cgrpc_conn_fail(conn, "epoll_ctl: %s", strerror(errno));
}

/* Keeps what the socket did not take; returns 0 or -1 on no memory. */
static int conn_keep_pending(cgrpc_conn *conn, const uint8_t *data, size_t len)
{
  size_t live = conn->pend_len - conn->pend_off;
  if (conn->pend_off > 0) {
    memmove(conn->pend, conn->pend + conn->pend_off, live);
    conn->pend_off = 0;
    conn->pend_len = live;
  }
  if (live + len > conn->pend_cap) {
    size_t cap = conn->pend_cap ? conn->pend_cap : 16384;
    while (cap < live + len)
      cap *= 2;
    uint8_t *p = cgrpc_realloc(conn->alloc, conn->pend, cap);
    if (p == NULL)
      return -1;
    conn->pend = p;
    conn->pend_cap = cap;
  }
  memcpy(conn->pend + conn->pend_len, data, len);
  conn->pend_len += len;
  return 0;
}

/* The transport failed: the connection dies saying why, in words. */
static void conn_fail_transport(cgrpc_conn *conn, const char *op)
{
  const char *why = conn->tp->vt->error != NULL ? conn->tp->vt->error(conn->tp) : NULL;
  if (why != NULL)
    cgrpc_conn_fail(conn, "%s", why);
  else
    cgrpc_conn_fail(conn, "%s: %s", op, strerror(conn->tp->last_errno));
}

/* Writes as much of data as the socket takes.  Returns bytes written, or -1
 * when the connection failed. */
static ssize_t conn_write_some(cgrpc_conn *conn, const uint8_t *data, size_t len)
{
  size_t done = 0;
  while (done < len) {
    ssize_t n = conn->tp->vt->write(conn->tp, data + done, len - done);
    if (n > 0) {
      done += (size_t)n;
    } else if (n == CGRPC_TRANSPORT_WANT_WRITE || n == CGRPC_TRANSPORT_WANT_READ) {
      /* TLS: a write may wait for the peer's handshake bytes; readable, not writable, then. */
      conn->write_wants_read = n == CGRPC_TRANSPORT_WANT_READ;
      break;
    } else {
      conn_fail_transport(conn, "write");
      return -1;
    }
  }
  return (ssize_t)done;
}

/* Sends what is pending from earlier rounds.  Returns nonzero while some remains. */
static int conn_drain_pending(cgrpc_conn *conn)
{
  if (conn->pend_len == conn->pend_off)
    return 0;
  ssize_t n = conn_write_some(conn, conn->pend + conn->pend_off, conn->pend_len - conn->pend_off);
  if (n < 0)
    return 1;
  conn->pend_off += (size_t)n;
  if (conn->pend_off == conn->pend_len) {
    /* Drained: give the memory back, an idle connection holds none. */
    cgrpc_free(conn->alloc, conn->pend);
    conn->pend = NULL;
    conn->pend_len = conn->pend_off = conn->pend_cap = 0;
    return 0;
  }
  return 1;
}

/* Writes the loop's shared buffer out; keeps the rest if the socket is full. */
static void conn_write_shared(cgrpc_conn *conn)
{
  if (conn->wlen == 0)
    return;
  ssize_t n = conn_write_some(conn, conn->wbuf, conn->wlen);
  if (n >= 0 && (size_t)n < conn->wlen &&
      conn_keep_pending(conn, conn->wbuf + n, conn->wlen - (size_t)n) != 0)
    cgrpc_conn_fail(conn, "out of memory");
  conn->wlen = 0;
}

static int conn_room(cgrpc_conn *conn, size_t need)
{
  if (conn->dead || conn->pend_len > conn->pend_off)
    return 0;
  if (conn->wlen + need > conn->wcap) {
    conn_write_shared(conn);
    if (conn->dead || conn->pend_len > conn->pend_off)
      return 0;
  }
  return need <= conn->wcap;
}

static ssize_t conn_send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
                            void *ud)
{
  cgrpc_conn *conn = ud;
  (void)ng;
  (void)flags;
  /* nghttp2 hands over one frame (or CONTINUATION) at a time, from its 9-byte header, and
   * we take all or nothing (WOULDBLOCK: the same bytes come again).  Keepalive wants to
   * know of HEADERS and connection WINDOW_UPDATEs going out (DATA: conn_send_data_cb). */
  if (len >= 9 && (data[3] == NGHTTP2_HEADERS ||
                   (data[3] == NGHTTP2_WINDOW_UPDATE && (data[5] | data[6] | data[7] | data[8]) == 0)))
    cgrpc_keepalive_on_send(conn);
  if (!conn_room(conn, len)) {
    if (conn->dead)
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (conn->pend_len > conn->pend_off)
      return NGHTTP2_ERR_WOULDBLOCK;
    /* Bigger than the whole buffer: straight to the socket. */
    ssize_t n = conn_write_some(conn, data, len);
    if (n < 0)
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    if ((size_t)n < len && conn_keep_pending(conn, data + n, len - (size_t)n) != 0)
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
  }
  memcpy(conn->wbuf + conn->wlen, data, len);
  conn->wlen += len;
  return (ssize_t)len;
}

static int conn_send_data_cb(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *framehd,
                             size_t length, nghttp2_data_source *source, void *ud)
{
  cgrpc_conn *conn = ud;
  cgrpc_conn_source *src = source->ptr;
  (void)ng;
  if (src->stream_id != frame->hd.stream_id || src->q.bytes < length)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* abandoned: reset it */
  cgrpc_keepalive_on_send(conn);
  if (!conn_room(conn, 9 + length))
    return conn->dead ? NGHTTP2_ERR_CALLBACK_FAILURE : NGHTTP2_ERR_WOULDBLOCK;
  memcpy(conn->wbuf + conn->wlen, framehd, 9);
  cgrpc_bufq_take(&src->q, conn->wbuf + conn->wlen + 9, length);
  conn->wlen += 9 + length;
  return 0;
}

static void conn_check_done(cgrpc_conn *conn)
{
  if (!conn->dead && !conn->connecting && conn->pend_len == conn->pend_off &&
      !nghttp2_session_want_read(conn->ng) && !nghttp2_session_want_write(conn->ng))
    cgrpc_conn_fail(conn, "connection closed");
}

static void conn_flush(void *ud)
{
  cgrpc_conn *conn = ud;
  if (conn->dead || conn->connecting)
    return;
  if (conn_drain_pending(conn)) {
    conn_update_events(conn);
    return;
  }
  conn->wbuf = cgrpc_loop_read_buffer(conn->loop, &conn->wcap);
  conn->wcap /= 2; /* the first half is for reading... */
  conn->wbuf += conn->wcap; /* ...this one for writing */
  conn->wlen = 0;
  conn->flushing = 1;
  int rv = nghttp2_session_send(conn->ng);
  if (!conn->dead)
    conn_write_shared(conn);
  conn->flushing = 0;
  conn->wbuf = NULL;
  if (conn->dead)
    return;
  if (rv != 0) {
    cgrpc_conn_fail(conn, "http2: %s", nghttp2_strerror(rv));
    return;
  }
  conn_update_events(conn);
  conn_check_done(conn);
}

void cgrpc_conn_kick(cgrpc_conn *conn)
{
  if (!conn->dead)
    cgrpc_loop_defer(conn->loop, &conn->flush_task);
}

/* ---- slow frames ------------------------------------------------------------- */

static void conn_frame_timer_arm(cgrpc_conn *conn, cgrpc_time at)
{
  if (cgrpc_loop_timer_start(conn->loop, &conn->frame_timer, at) == 0)
    conn->frame_timer_on = 1;
}

static void conn_on_frame_timer(void *ud)
{
  cgrpc_conn *conn = ud;
  conn->frame_timer_on = 0;
  if (conn->dead || conn->frame_since == 0)
    return; /* the frame came whole meanwhile: wait for the next one to begin */
  cgrpc_time due = conn->frame_since + CGRPC_MS_TO_NS(conn->frame_timeout_ms);
  if (cgrpc_now() < due) {
    conn_frame_timer_arm(conn, due); /* another frame, begun later */
    return;
  }
  snprintf(conn->error, sizeof conn->error, "a frame took the client over %lld ms",
           (long long)conn->frame_timeout_ms);
  cgrpc_conn_terminate(conn, NGHTTP2_ENHANCE_YOUR_CALM);
}

void cgrpc_conn_set_frame_timeout(cgrpc_conn *conn, int64_t ms)
{
  cgrpc_frame_watch_init(&conn->frames, NGHTTP2_CLIENT_MAGIC_LEN);
  conn->frame_timeout_ms = ms;
}

/* The client's bytes as frames: one left open starts the clock, one ended stops it. */
static void conn_follow_frames(cgrpc_conn *conn, const uint8_t *buf, size_t n)
{
  if (!cgrpc_frame_watch_feed(&conn->frames, buf, n)) {
    conn->frame_since = 0;
    return;
  }
  if (conn->frame_since != 0)
    return; /* the same one still */
  conn->frame_since = cgrpc_now();
  if (!conn->frame_timer_on)
    conn_frame_timer_arm(conn, conn->frame_since + CGRPC_MS_TO_NS(conn->frame_timeout_ms));
}

/* ---- reading ------------------------------------------------------------------ */

int cgrpc_conn_recv(cgrpc_conn *conn, const uint8_t *data, size_t len)
{
  ssize_t rv = nghttp2_session_mem_recv(conn->ng, data, len);
  if (rv < 0) {
    /* nghttp2 queued a GOAWAY where the protocol calls for one; try to send
     * it before the connection goes. */
    cgrpc_conn_kick(conn);
    conn_flush(conn);
    cgrpc_conn_fail(conn, "http2: %s", nghttp2_strerror((int)rv));
    return CGRPC_ERR_PROTO;
  }
  return 0;
}

static void conn_read(cgrpc_conn *conn)
{
  size_t cap;
  uint8_t *buf = cgrpc_loop_read_buffer(conn->loop, &cap);
  cap /= 2; /* the first half; conn_flush writes from the second */
  for (int i = 0; i < CONN_MAX_READS_PER_ROUND && !conn->dead; i++) {
    ssize_t n = conn->tp->vt->read(conn->tp, buf, cap);
    if (n > 0) {
      if (!conn->is_server && !conn->ready && buf[0] >= 0x14 && buf[0] <= 0x17 && n > 1 &&
          buf[1] == 0x03 && !conn->tp->secure) {
        /* A TLS record where the server's SETTINGS should be (no valid frame starts so). */
        cgrpc_conn_fail(conn, "the server speaks TLS on this port; the channel has no TLS");
        return;
      }
      if (i == 0)
        cgrpc_keepalive_on_read(&conn->ka, cgrpc_now());
      if (conn->frame_timeout_ms > 0)
        conn_follow_frames(conn, buf, (size_t)n);
      if (cgrpc_conn_recv(conn, buf, (size_t)n) != 0)
        return;
      if ((size_t)n < cap)
        break;
    } else if (n == 0) {
      cgrpc_conn_fail(conn, "connection closed by peer");
      return;
    } else if (n == CGRPC_TRANSPORT_WANT_READ || n == CGRPC_TRANSPORT_WANT_WRITE) {
      conn->read_wants_write = n == CGRPC_TRANSPORT_WANT_WRITE; /* TLS handshake */
      break;
    } else {
      conn_fail_transport(conn, "read");
      return;
    }
  }
  conn->write_wants_read = 0; /* what a write waited for may have come */
  if (!conn->dead && conn->tp->vt->pending != NULL && conn->tp->vt->pending(conn->tp))
    cgrpc_loop_defer(conn->loop, &conn->read_task); /* no event will say it is there */
  cgrpc_conn_kick(conn);
}

static void conn_read_task(void *ud)
{
  cgrpc_conn *conn = ud;
  if (!conn->dead && !conn->connecting)
    conn_read(conn);
}

/* The server's one timer: first the handshake's deadline, then (draining) how long the
 * graceful GOAWAY's PING may go unanswered. */
#define CONN_DRAIN_ACK_MS 20000

static void conn_on_timer(void *ud)
{
  cgrpc_conn *conn = ud;
  if (conn->dead)
    return;
  if (conn->draining)
    cgrpc_conn_goaway(conn, NGHTTP2_NO_ERROR, conn->drain_debug); /* no ack: step two now */
  else if (!conn->ready)
    cgrpc_conn_fail(conn, "handshake timed out");
}

void cgrpc_conn_set_handshake_deadline(cgrpc_conn *conn, int64_t ms)
{
  if (cgrpc_loop_timer_start(conn->loop, &conn->timer, cgrpc_now() + CGRPC_MS_TO_NS(ms)) != 0)
    cgrpc_conn_fail(conn, "out of memory (handshake timer)");
}

static void conn_on_events(void *ud, uint32_t events)
{
  cgrpc_conn *conn = ud;
  if (conn->connecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
      int err = cgrpc_sock_connect_result(conn->tp->fd);
      conn->connecting = 0;
      if (err != 0) {
        cgrpc_conn_fail(conn, "connect: %s", strerror(err));
        return;
      }
      cgrpc_sock_name(conn->tp->fd, 1, conn->peer, sizeof conn->peer);
      conn->established = 1;
      conn->events->connected(conn, 0);
    }
    return;
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || (conn->read_wants_write && (events & EPOLLOUT)))
    conn_read(conn);
  if (!conn->dead && (events & EPOLLOUT))
    conn_flush(conn);
}

/* ---- life ---------------------------------------------------------------------- */

static void conn_dead_task(void *ud)
{
  cgrpc_conn *conn = ud;
  cgrpc_log(CGRPC_LOG_INFO, "%s %s: connection closed: %s", conn->is_server ? "client" : "server",
            conn->peer, conn->error);
  conn->events->fail_streams(conn);
  conn->events->dead(conn);
}

void cgrpc_conn_fail(cgrpc_conn *conn, const char *fmt, ...)
{
  if (conn->dead)
    return;
  conn->dead = 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(conn->error, sizeof conn->error, fmt, ap);
  va_end(ap);
  if (conn->tp != NULL && conn->fdh.cb != NULL)
    cgrpc_loop_del_fd(conn->loop, &conn->fdh);
  cgrpc_loop_defer(conn->loop, &conn->dead_task);
}

static void conn_mem(nghttp2_mem *mem, const cgrpc_allocator *a)
{
  mem->mem_user_data = a->user_data;
  mem->malloc = a->malloc;
  mem->free = a->free;
  mem->calloc = a->calloc;
  mem->realloc = a->realloc;
}

int cgrpc_conn_new(cgrpc_conn **out, cgrpc_loop *loop, const cgrpc_allocator *alloc,
                   cgrpc_transport *tp, int is_server,
                   void (*setup)(nghttp2_session_callbacks *cbs),
                   const cgrpc_conn_events *events, void *owner)
{
  cgrpc_conn *conn = cgrpc_calloc(alloc, 1, sizeof *conn);
  if (conn == NULL)
    return CGRPC_ERR_NOMEM;
  conn->alloc = alloc;
  conn->loop = loop;
  conn->tp = tp;
  conn->is_server = is_server;
  conn->events = events;
  conn->owner = owner;
  cgrpc_list_init(&conn->owner_node);
  cgrpc_list_init(&conn->streams);
  cgrpc_task_init(&conn->flush_task, conn_flush, conn);
  cgrpc_task_init(&conn->read_task, conn_read_task, conn);
  cgrpc_timer_init(&conn->timer, conn_on_timer, conn);
  cgrpc_timer_init(&conn->frame_timer, conn_on_frame_timer, conn);
  cgrpc_task_init(&conn->dead_task, conn_dead_task, conn);
  snprintf(conn->peer, sizeof conn->peer, "unknown");
  cgrpc_workers_lane_init(&conn->lanes[0], 0);
  cgrpc_workers_lane_init(&conn->lanes[1], 0); /* the server sets its cap */

  nghttp2_session_callbacks *cbs;
  nghttp2_option *opt;
  if (nghttp2_session_callbacks_new(&cbs) != 0) {
    cgrpc_free(alloc, conn);
    return CGRPC_ERR_NOMEM;
  }
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    cgrpc_free(alloc, conn);
    return CGRPC_ERR_NOMEM;
  }
  setup(cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, conn_send_cb);
  nghttp2_session_callbacks_set_send_data_callback(cbs, conn_send_data_cb);
  /* Peers differ on white space around header values; take it. */
  nghttp2_option_set_no_rfc9113_leading_and_trailing_ws_validation(opt, 1);
  /* Window is given back as the application consumes data (streams). */
  nghttp2_option_set_no_auto_window_update(opt, 1);
  /* gRPC does not use stream priorities: no need to keep closed streams. */
  nghttp2_option_set_no_closed_streams(opt, 1);
#if HAVE_DECL_NGHTTP2_OPTION_SET_STREAM_RESET_RATE_LIMIT
  /* nghttp2's guard against rapid reset (CVE-2023-44487) closes a connection
   * after 1000 client resets and 33/s after that: gRPC clients cancel that
   * often under load (every passed deadline is a reset).  A reset call costs
   * us no more than any request -- it leaves the handler queue at once -- so
   * keep the guard for floods only. */
  if (is_server)
    nghttp2_option_set_stream_reset_rate_limit(opt, 20000, 5000);
#endif
  /* The other flood guards, at nghttp2's own defaults, said here so that a reader knows:
   * a header block of more than 8 CONTINUATION frames (CVE-2024-28182), more than 1000
   * queued SETTINGS/PING ACKs the peer does not read (CVE-2019-9512/9515), a SETTINGS frame
   * of more than 32 entries, each end the connection. */
#if HAVE_DECL_NGHTTP2_OPTION_SET_MAX_CONTINUATIONS
  nghttp2_option_set_max_continuations(opt, 8);
#endif
#if HAVE_DECL_NGHTTP2_OPTION_SET_MAX_OUTBOUND_ACK
  nghttp2_option_set_max_outbound_ack(opt, 1000);
#endif
#if HAVE_DECL_NGHTTP2_OPTION_SET_MAX_SETTINGS
  nghttp2_option_set_max_settings(opt, 32);
#endif
  nghttp2_mem mem;
  conn_mem(&mem, alloc);
  int rv = is_server ? nghttp2_session_server_new3(&conn->ng, cbs, conn, opt, &mem)
                     : nghttp2_session_client_new3(&conn->ng, cbs, conn, opt, &mem);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    cgrpc_free(alloc, conn);
    return CGRPC_ERR_NOMEM;
  }
  if (tp != NULL)
    cgrpc_sock_name(tp->fd, 1, conn->peer, sizeof conn->peer);
  *out = conn;
  return 0;
}

int cgrpc_conn_connect(cgrpc_conn *conn, const cgrpc_sockaddr *addr, cgrpc_tls_ctx *tls,
                       const char *hostname)
{
  int fd = cgrpc_sock_connect(addr);
  if (fd < 0)
    return CGRPC_ERR_SYSTEM;
  conn->tp = tls != NULL ? cgrpc_tls_transport_new(fd, tls, hostname)
                         : cgrpc_sock_transport_new(fd, conn->alloc);
  if (conn->tp == NULL) {
    close(fd);
    return CGRPC_ERR_NOMEM;
  }
  conn->connecting = 1;
  if (cgrpc_loop_add_fd(conn->loop, &conn->fdh, fd, EPOLLOUT, conn_on_events, conn) != 0) {
    conn->connecting = 0;
    return CGRPC_ERR_SYSTEM;
  }
  return 0;
}

int cgrpc_conn_start(cgrpc_conn *conn, const nghttp2_settings_entry *settings, size_t n)
{
  int rv = nghttp2_submit_settings(conn->ng, NGHTTP2_FLAG_NONE, settings, n);
  if (rv != 0)
    return CGRPC_ERR_NOMEM;
  /* A large connection window; streams are limited by their own. */
  nghttp2_session_set_local_window_size(conn->ng, NGHTTP2_FLAG_NONE, 0, 16 * 1024 * 1024);
  if (conn->tp != NULL && conn->fdh.cb == NULL &&
      cgrpc_loop_add_fd(conn->loop, &conn->fdh, conn->tp->fd, EPOLLIN, conn_on_events, conn) != 0)
    return CGRPC_ERR_SYSTEM;
  cgrpc_conn_kick(conn);
  return 0;
}

/* The opaque data of the graceful GOAWAY's PING. */
static const uint8_t conn_drain_ping[8] = {'c', 'g', 'r', 'p', 'c', '-', 'g', 'a'};

void cgrpc_conn_on_frame(cgrpc_conn *conn, const nghttp2_frame *frame)
{
  if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK) &&
      !conn->ready) {
    conn->ready = 1;
    if (conn->is_server && !conn->draining)
      cgrpc_loop_timer_stop(conn->loop, &conn->timer); /* the handshake is done */
    if (conn->events->ready != NULL)
      conn->events->ready(conn);
    return;
  }
  if (frame->hd.type == NGHTTP2_PING) {
    if ((frame->hd.flags & NGHTTP2_FLAG_ACK) && conn->draining &&
        memcmp(frame->ping.opaque_data, conn_drain_ping, 8) == 0) {
      cgrpc_loop_timer_stop(conn->loop, &conn->timer);
      cgrpc_conn_goaway(conn, NGHTTP2_NO_ERROR, conn->drain_debug); /* step two */
      return;
    }
    cgrpc_keepalive_on_ping(conn, (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0);
    return;
  }
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM &&
      frame->goaway.opaque_data_len == 14 &&
      memcmp(frame->goaway.opaque_data, "too_many_pings", 14) == 0)
    conn->ka.too_many_pings = 1; /* A8: the client pings half as often from now on */
  if (frame->hd.type == NGHTTP2_GOAWAY && !conn->goaway_received) {
    conn->goaway_received = 1;
    cgrpc_log(frame->goaway.error_code == NGHTTP2_NO_ERROR ? CGRPC_LOG_INFO : CGRPC_LOG_WARNING,
              "%s %s: GOAWAY %s \"%.*s\"", conn->is_server ? "client" : "server", conn->peer,
              nghttp2_http2_strerror(frame->goaway.error_code),
              (int)(frame->goaway.opaque_data_len < 64 ? frame->goaway.opaque_data_len : 64),
              (const char *)frame->goaway.opaque_data);
    if (conn->events->goaway != NULL)
      conn->events->goaway(conn, frame->goaway.error_code);
  }
}

void cgrpc_conn_goaway_graceful(cgrpc_conn *conn, const char *debug)
{
  if (conn->dead || conn->draining)
    return;
  conn->draining = 1;
  conn->drain_debug = debug;
  cgrpc_loop_timer_stop(conn->loop, &conn->timer);
  if (cgrpc_loop_timer_start(conn->loop, &conn->timer,
                             cgrpc_now() + CGRPC_MS_TO_NS(CONN_DRAIN_ACK_MS)) != 0 ||
      nghttp2_submit_shutdown_notice(conn->ng) != 0 ||
      nghttp2_submit_ping(conn->ng, NGHTTP2_FLAG_NONE, conn_drain_ping) != 0) {
    cgrpc_conn_goaway(conn, NGHTTP2_NO_ERROR, debug);
    return;
  }
  cgrpc_conn_kick(conn);
}

void cgrpc_conn_goaway(cgrpc_conn *conn, uint32_t error_code, const char *debug)
{
  if (conn->dead)
    return;
  size_t dlen = debug != NULL ? strlen(debug) : 0;
  nghttp2_submit_goaway(conn->ng, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(conn->ng), error_code,
                        (const uint8_t *)debug, dlen);
  cgrpc_conn_kick(conn);
}

void cgrpc_conn_terminate(cgrpc_conn *conn, uint32_t error_code)
{
  if (conn->dead)
    return;
  nghttp2_session_terminate_session(conn->ng, error_code);
  cgrpc_conn_kick(conn);
}

int cgrpc_conn_add_zombie(cgrpc_conn *conn, int32_t stream_id, void *obj,
                          void (*release)(void *obj))
{
  if (conn->nzombies == conn->zombies_cap) {
    size_t cap = conn->zombies_cap ? conn->zombies_cap * 2 : 4;
    cgrpc_conn_zombie *z = cgrpc_realloc(conn->alloc, conn->zombies, cap * sizeof *z);
    if (z == NULL)
      return CGRPC_ERR_NOMEM;
    conn->zombies = z;
    conn->zombies_cap = cap;
  }
  cgrpc_conn_zombie *z = &conn->zombies[conn->nzombies++];
  z->stream_id = stream_id;
  z->obj = obj;
  z->release = release;
  return 0;
}

size_t cgrpc_conn_send_header_limit(cgrpc_conn *conn)
{
  uint32_t peer = nghttp2_session_get_remote_settings(conn->ng, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE);
  return peer < CGRPC_MAX_SEND_HEADER_LIST ? peer : CGRPC_MAX_SEND_HEADER_LIST;
}

void cgrpc_conn_bury(cgrpc_conn *conn, int32_t stream_id)
{
  for (size_t i = 0; i < conn->nzombies; i++) {
    if (conn->zombies[i].stream_id == stream_id) {
      cgrpc_conn_zombie z = conn->zombies[i];
      conn->zombies[i] = conn->zombies[--conn->nzombies];
      z.release(z.obj);
      return;
    }
  }
}

void cgrpc_conn_free(cgrpc_conn *conn)
{
  if (conn == NULL)
    return;
  cgrpc_keepalive_stop(conn);
  cgrpc_conn_age_stop(conn);
  cgrpc_loop_timer_stop(conn->loop, &conn->timer);
  cgrpc_loop_timer_stop(conn->loop, &conn->frame_timer);
  for (size_t i = 0; i < conn->nzombies; i++)
    conn->zombies[i].release(conn->zombies[i].obj);
  cgrpc_free(conn->alloc, conn->zombies);
  if (!conn->dead && conn->tp != NULL && conn->fdh.cb != NULL)
    cgrpc_loop_del_fd(conn->loop, &conn->fdh);
  nghttp2_session_del(conn->ng);
  if (conn->tp != NULL)
    conn->tp->vt->destroy(conn->tp);
  cgrpc_free(conn->alloc, conn->pend);
  cgrpc_free(conn->alloc, conn);
}
