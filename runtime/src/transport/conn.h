/* Internal: one HTTP/2 connection (client or server): an nghttp2 session over a transport. */
#ifndef CGRPC_CONN_H
#define CGRPC_CONN_H

#include <nghttp2/nghttp2.h>

#include <cgrpc/common.h>

#include "base/budget.h"
#include "base/bufq.h"
#include "base/list.h"
#include "base/loop.h"
#include "base/rate.h"
#include "base/workers.h"
#include "transport/conn_age.h"
#include "transport/frame_watch.h"
#include "transport/keepalive.h"
#include "transport/sock.h"
#include "transport/transport.h"

typedef struct cgrpc_conn cgrpc_conn;

/* What a stream's data provider points source.ptr at: its outgoing bytes, which the
 * connection copies straight from the queue into the socket buffer (the provider answers
 * NGHTTP2_DATA_FLAG_NO_COPY).  A source whose stream_id is no longer the frame's (0 once its
 * owner abandoned it) resets that stream instead. */
typedef struct cgrpc_conn_source {
  cgrpc_bufq q;
  int32_t stream_id;
} cgrpc_conn_source;

/* What a connection tells the one who owns it. */
typedef struct cgrpc_conn_events {
  /* Client: the connect finished (err 0) or failed (an errno). */
  void (*connected)(cgrpc_conn *conn, int err);
  /* The peer sent GOAWAY: no new streams on this connection. */
  void (*goaway)(cgrpc_conn *conn, uint32_t error_code);
  /* The connection is over (error, EOF, or drained after GOAWAY).  Its
   * streams have been told; the owner must cgrpc_conn_free it. */
  void (*dead)(cgrpc_conn *conn);
  /* Role hook run before dead: fail or cancel every stream in conn->streams. */
  void (*fail_streams)(cgrpc_conn *conn);
  /* Client: the server's first SETTINGS arrived: the connection is READY. */
  void (*ready)(cgrpc_conn *conn);
} cgrpc_conn_events;

/* A stream its owner has given up on but nghttp2 has not closed yet (a reset
 * may wait behind frames already in flight).  The connection keeps the owner
 * alive until the stream closes or the connection dies. */
typedef struct cgrpc_conn_zombie {
  int32_t stream_id;
  void *obj;
  void (*release)(void *obj);
} cgrpc_conn_zombie;

struct cgrpc_conn {
  const cgrpc_allocator *alloc;
  cgrpc_loop *loop;
  cgrpc_transport *tp;
  cgrpc_loop_fd fdh;
  nghttp2_session *ng;
  int is_server;
  const cgrpc_conn_events *events;
  void *owner;      /* the channel or the server */
  cgrpc_list owner_node; /* in the owner's list of connections */
  cgrpc_list streams;    /* client attempts or server calls on this connection */
  uint32_t nstreams;     /* client: how many attempts are in streams */

  int connecting;
  int established; /* client: the connect succeeded */
  int ready;       /* the peer's SETTINGS arrived */
  int dead;
  int goaway_received;
  int goaway_sent_calm; /* server: GOAWAY ENHANCE_YOUR_CALM too_many_pings went out */
  const char *drain_debug; /* graceful GOAWAY sent, the final one waits for the PING ack */
  int draining;
  int write_wants_read; /* the transport's write waits for bytes from the peer (TLS) */
  int read_wants_write; /* its read waits for room to write (TLS) */
  cgrpc_workers_lane lanes[2]; /* server: its calls' turns at the unary and streaming handlers */
  cgrpc_budget *inflated;      /* server: what its readers hold inflated (server_call.c) */
  cgrpc_budget *unsent;        /* server: what its writers have queued (stream/pipe.h) */
  cgrpc_rate glitches; /* server: see server/server_peers.h */
  int glitched;        /* told to go away for them */
  cgrpc_keepalive ka;
  cgrpc_conn_age age; /* server: idle and age limits */
  char error[256]; /* why it died, for statuses */
  char peer[96];

  cgrpc_task flush_task;
  cgrpc_task read_task;  /* reads what the transport holds (TLS) after a capped round */
  cgrpc_timer timer;     /* server: the handshake's deadline, then the graceful GOAWAY's */
  /* Server: a frame or header block the client began must arrive whole within
   * frame_timeout_ms (0: no limit); frame_since is when the one still open began. */
  cgrpc_frame_watch frames;
  int64_t frame_timeout_ms;
  cgrpc_time frame_since; /* 0: between frames */
  cgrpc_timer frame_timer;
  int frame_timer_on;
  cgrpc_task dead_task;
  int flushing; /* inside conn_flush: send callbacks write to the loop's buffer */
  uint8_t *wbuf; /* the loop's shared write buffer while flushing */
  size_t wlen;
  size_t wcap;
  cgrpc_conn_zombie *zombies;
  size_t nzombies;
  size_t zombies_cap;
  uint8_t *pend; /* bytes the socket did not take yet; allocated only then */
  size_t pend_len;
  size_t pend_off;
  size_t pend_cap;
};

/* Creates a connection over an established transport (server side, or
 * tests).  setup fills the role's nghttp2 callbacks.  Takes tp on success. */
int cgrpc_conn_new(cgrpc_conn **out, cgrpc_loop *loop, const cgrpc_allocator *alloc,
                   cgrpc_transport *tp, int is_server,
                   void (*setup)(nghttp2_session_callbacks *cbs),
                   const cgrpc_conn_events *events, void *owner);

/* Client: starts connecting to addr -- over TLS with tls (not NULL), checking the server's
 * certificate for hostname; events->connected reports.  Returns 0, CGRPC_ERR_NOMEM or
 * CGRPC_ERR_SYSTEM (errno set). */
typedef struct cgrpc_tls_ctx cgrpc_tls_ctx;
int cgrpc_conn_connect(cgrpc_conn *conn, const cgrpc_sockaddr *addr, cgrpc_tls_ctx *tls,
                       const char *hostname);

/* Sends the connection preface and SETTINGS, and starts reading. */
int cgrpc_conn_start(cgrpc_conn *conn, const nghttp2_settings_entry *settings, size_t n);

/* Server: fails the connection unless the client's SETTINGS (after TLS, if any) arrive
 * within ms. */
void cgrpc_conn_set_handshake_deadline(cgrpc_conn *conn, int64_t ms);

/* Server, before any byte is read: a frame or header block the client begins (a byte of
 * it) must arrive whole within ms, or the connection ends with GOAWAY ENHANCE_YOUR_CALM. */
void cgrpc_conn_set_frame_timeout(cgrpc_conn *conn, int64_t ms);

/* Schedules a write round (after nghttp2 submissions). */
void cgrpc_conn_kick(cgrpc_conn *conn);

/* Marks the connection dead with a reason; the dead event follows (not
 * from inside this call). */
void cgrpc_conn_fail(cgrpc_conn *conn, const char *fmt, ...) CGRPC_PRINTF(2, 3);

/* Sends GOAWAY and lets streams finish; dead follows once drained. */
void cgrpc_conn_goaway(cgrpc_conn *conn, uint32_t error_code, const char *debug);

/* Server: the two-step GOAWAY (as gRPC servers do): first one that names no stream (2^31-1)
 * and a PING; when the client acks the PING, every stream it opened before it saw the first
 * GOAWAY has arrived, and the real GOAWAY (NO_ERROR, debug: static text) names the last.
 * So no call racing the shutdown is refused. */
void cgrpc_conn_goaway_graceful(cgrpc_conn *conn, const char *debug);

/* Frees the session and closes the transport.  Loop thread. */
void cgrpc_conn_free(cgrpc_conn *conn);

/* Ends the connection: GOAWAY with error_code, then closed once it is out. */
void cgrpc_conn_terminate(cgrpc_conn *conn, uint32_t error_code);

/* The largest header list the peer takes from us (its SETTINGS_MAX_HEADER_LIST_SIZE), and
 * never more than nghttp2 can send (CGRPC_MAX_SEND_HEADER_LIST, wire/headers.h). */
size_t cgrpc_conn_send_header_limit(cgrpc_conn *conn);

/* Keeps obj alive (release runs later) while stream_id is open.  Returns 0
 * or CGRPC_ERR_NOMEM (then obj is released at once... by the caller). */
int cgrpc_conn_add_zombie(cgrpc_conn *conn, int32_t stream_id, void *obj,
                          void (*release)(void *obj));
/* From on_stream_close: releases the zombie of stream_id, if there is one. */
void cgrpc_conn_bury(cgrpc_conn *conn, int32_t stream_id);

/* For the roles' on_frame_recv: connection-level frames (GOAWAY, PING). */
void cgrpc_conn_on_frame(cgrpc_conn *conn, const nghttp2_frame *frame);

/* Feeds received bytes (what the read path does; tests call it directly).
 * Returns 0 or CGRPC_ERR_PROTO. */
int cgrpc_conn_recv(cgrpc_conn *conn, const uint8_t *data, size_t len);

#endif
