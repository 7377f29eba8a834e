/* Internal: one attempt of a client call -- one HTTP/2 stream: its request headers, the stream
 * engine that carries its messages, and its outcome.  An attempt knows nothing of calls: its
 * owner says what to send (cgrpc_attempt_req, and buffers pushed into a->stream) and hears
 * what happens through cgrpc_attempt_ops.  Attempts waiting for a connection wait in the
 * channel's queue, which belongs here.  Loop thread only. */
#ifndef CGRPC_ATTEMPT_H
#define CGRPC_ATTEMPT_H

#include <nghttp2/nghttp2.h>

#include <cgrpc/metadata.h>
#include <cgrpc/status.h>

#include "base/list.h"
#include "base/loop.h"
#include "client/lb.h"
#include "stream/stream.h"

typedef struct cgrpc_attempt cgrpc_attempt;

/* What every attempt of a channel shares. */
typedef struct cgrpc_attempt_env {
  cgrpc_lb *lb;
  const char *authority;
  const char *user_agent;
  int secure;       /* TLS: :scheme https */
  int64_t max_recv; /* largest response message; -1: no limit */
  cgrpc_list queue; /* attempts waiting for a connection */
  size_t nqueued;
  cgrpc_list ending; /* attempts whose server side is over, handing over what was held */
} cgrpc_attempt_env;

/* What each attempt of one call sends. */
typedef struct cgrpc_attempt_req {
  const char *path;         /* :path */
  const cgrpc_metadata *md; /* custom metadata, or NULL */
  cgrpc_time deadline;      /* grpc-timeout from it; CGRPC_TIME_INFINITE: none */
  int send_enc;             /* grpc-encoding of the messages (a cgrpc_encoding) */
  int wait_for_ready;       /* waits out TRANSIENT_FAILURE instead of failing */
} cgrpc_attempt_req;

/* What an attempt tells its owner.  Callbacks may end the attempt (cgrpc_attempt_abort). */
typedef struct cgrpc_attempt_ops {
  /* Response headers arrived (not a Trailers-Only answer): a->rx.initial_metadata holds
   * their metadata.  Under gRFC A6 this commits the call. */
  void (*on_headers)(cgrpc_attempt *a);
  /* A response message, as cgrpc_stream_ops.on_message. */
  int (*on_message)(cgrpc_attempt *a, const uint8_t *msg, size_t len, int compressed);
  /* The server ended its side while messages still wait for room: the outcome is known (it
   * follows through on_end once they are handed over, or cgrpc_attempt_drop_held). */
  void (*on_server_done)(cgrpc_attempt *a);
  /* An outgoing buffer went out whole, or was dropped (the attempt ended first). */
  void (*on_buf_done)(cgrpc_attempt *a, cgrpc_buf *b);
  /* The attempt is over; a->result says how.  Runs exactly once per start. */
  void (*on_end)(cgrpc_attempt *a);
  /* Keep the owner alive while nghttp2 may still point into it (a stream reset waits
   * behind frames in flight), and let it go. */
  void (*ref)(cgrpc_attempt *a);
  void (*unref)(cgrpc_attempt *a);
} cgrpc_attempt_ops;

typedef enum cgrpc_attempt_state {
  CGRPC_ATTEMPT_IDLE,    /* not started, or over */
  CGRPC_ATTEMPT_PICKING, /* asking the load balancer for a connection */
  CGRPC_ATTEMPT_QUEUED,  /* waiting in env->queue for a connection */
  CGRPC_ATTEMPT_OPEN    /* its stream is open on a connection */
} cgrpc_attempt_state;

struct cgrpc_attempt {
  const cgrpc_attempt_ops *ops;
  cgrpc_attempt_env *env;
  const cgrpc_attempt_req *req;
  const cgrpc_allocator *alloc;
  cgrpc_attempt_state state;
  int started;         /* started once at least: a reset has something to undo */
  int previous;        /* attempts of the call before this one (grpc-previous-rpc-attempts) */
  cgrpc_stream stream; /* the owner pushes the request's buffers here before starting */
  cgrpc_list node;     /* in conn->streams, or env->queue */

  /* What came back. */
  int http_status;
  int got_content_type;
  int grpc_status; /* -1 until received */
  size_t header_bytes;
  int refused;         /* the server never saw the stream: safe to send again */
  int64_t pushback_ms; /* CGRPC_PUSHBACK_*, or the server's delay */
  cgrpc_status rx;     /* message and metadata as received */
  cgrpc_status result; /* the outcome, once on_end runs */
};

void cgrpc_attempt_env_init(cgrpc_attempt_env *env);

void cgrpc_attempt_init(cgrpc_attempt *a, const cgrpc_attempt_ops *ops, cgrpc_attempt_env *env,
                        const cgrpc_attempt_req *req, const cgrpc_allocator *alloc);
void cgrpc_attempt_clear(cgrpc_attempt *a);

/* Gets a for a new try: what came back before is dropped, and the stream's queue is empty
 * (buffers still in it go to on_buf_done).  The owner then pushes the request. */
void cgrpc_attempt_reset(cgrpc_attempt *a);
/* Starts a, after previous attempts of the same call: goes out on a connection the load
 * balancer picks, waits for one, or ends at once (on_end) when none can be had. */
void cgrpc_attempt_start(cgrpc_attempt *a, int previous);
/* Ends a now with a status of our own; a stream still open is reset (CANCEL).  Nothing if
 * a is not running. */
void cgrpc_attempt_abort(cgrpc_attempt *a, cgrpc_code code, const char *fmt, ...)
    CGRPC_PRINTF(3, 4);
/* New buffers were pushed, or the sending side was closed: they go out. */
void cgrpc_attempt_flush(cgrpc_attempt *a);
/* The owner wants no more messages (it stopped reading): an attempt whose server side is over
 * drops what it held and ends now with the server's status. */
void cgrpc_attempt_drop_held(cgrpc_attempt *a);

/* The nghttp2 callbacks of the client role. */
void cgrpc_attempt_conn_setup(nghttp2_session_callbacks *cbs);
/* Ends every attempt on conn (it died, or the channel closes) with code and why. */
void cgrpc_attempt_end_streams(cgrpc_conn *conn, cgrpc_code code, const char *why);
/* Waiting attempts ask the load balancer again (it said things changed). */
void cgrpc_attempt_dispatch(cgrpc_attempt_env *env);
/* Ends every waiting attempt, and every one still handing over what it held (the channel
 * closes). */
void cgrpc_attempt_fail_queued(cgrpc_attempt_env *env, cgrpc_code code, const char *why);

#endif
