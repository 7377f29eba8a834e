/* Internal: a subchannel -- one address of a channel's target and its pool of HTTP/2
 * connections, with its own connectivity state and reconnect backoff.  What the state means
 * for the channel is the load balancer's business: every change is reported to it through
 * env->on_update.  Loop thread only. */
#ifndef CGRPC_SUBCHANNEL_H
#define CGRPC_SUBCHANNEL_H

#include <nghttp2/nghttp2.h>

#include <cgrpc/channel.h>

#include "base/list.h"
#include "base/loop.h"
#include "transport/conn.h"
#include "transport/keepalive.h"
#include "transport/sock.h"

typedef struct cgrpc_subchannel cgrpc_subchannel;
typedef struct cgrpc_tls_ctx cgrpc_tls_ctx;

/* gRPC's connection backoff (doc/connection-backoff.md). */
typedef struct cgrpc_connect_backoff {
  int64_t initial_ms;             /* 1 s */
  double multiplier;              /* 1.6 */
  double jitter;                  /* 0.2 */
  int64_t max_ms;                 /* 120 s */
  int64_t min_connect_timeout_ms; /* 20 s */
} cgrpc_connect_backoff;

/* What every subchannel of a channel shares. */
typedef struct cgrpc_subchannel_env {
  cgrpc_loop *loop;
  const cgrpc_allocator *alloc;
  int pool_size; /* connections each address keeps open */
  int pool_max;  /* connections an address may open when the others are full */
  cgrpc_connect_backoff backoff;
  cgrpc_keepalive_config keepalive; /* too_many_pings doubles time_ms for later connections */
  cgrpc_tls_ctx *tls;               /* or NULL: plaintext */
  const char *tls_host;             /* the name the server's certificate must carry */
  /* The role above the connections: its nghttp2 callbacks, and what ends the streams of a
   * connection that goes away (code and why say how). */
  void (*conn_setup)(nghttp2_session_callbacks *cbs);
  void (*end_streams)(cgrpc_conn *conn, cgrpc_code code, const char *why);
  /* A subchannel's state or capacity changed. */
  void (*on_update)(cgrpc_subchannel *sc, void *user_data);
  void *user_data;
  uint64_t rng;      /* backoff jitter */
  int live_conns;    /* connections of every subchannel, until they are freed */
  int shutting_down;
} cgrpc_subchannel_env;

struct cgrpc_subchannel {
  cgrpc_subchannel_env *env;
  int index; /* in the load balancer's list */
  cgrpc_sockaddr addr;
  char name[64]; /* "127.0.0.1:5001", for statuses and the state API */
  cgrpc_connectivity_state state;
  cgrpc_list conns;       /* its live connections, connecting, ready or draining */
  cgrpc_conn *connecting; /* at most one connect at a time */
  int nconns;             /* in conns, not draining (GOAWAY) */
  int nready;             /* in conns, READY and not draining: usable */

  /* Reconnect backoff: after a connect fails, none before reconnect_at. */
  int64_t cur_backoff_ms;
  cgrpc_time reconnect_at; /* 0: may connect now */
  char why[352];           /* the last connect failure */
  cgrpc_time grow_at;      /* a READY pool failed to grow: not again before (0: now) */
  cgrpc_timer connect_timer; /* the connect attempt's time limit */
  cgrpc_timer backoff_timer; /* reports the end of the backoff */
};

cgrpc_subchannel *cgrpc_subchannel_new(cgrpc_subchannel_env *env, int index,
                                       const cgrpc_sockaddr *addr);
/* Only once it has no connections left. */
void cgrpc_subchannel_free(cgrpc_subchannel *sc);

/* Starts a connection unless one is connecting already or the backoff runs.  Returns 1 when
 * a connect is under way after the call. */
int cgrpc_subchannel_connect(cgrpc_subchannel *sc);

/* A ready connection with room for one more stream: the least busy one.  When all are full
 * (the peer's MAX_CONCURRENT_STREAMS) and the pool may grow, opens another and returns NULL
 * (the attempt waits for it); when it may not, the least busy one (nghttp2 queues the
 * stream).  NULL when none is ready. */
cgrpc_conn *cgrpc_subchannel_pick(cgrpc_subchannel *sc);

/* Shutting down: ends every connection's streams (CANCELLED) and fails the connections. */
void cgrpc_subchannel_shutdown(cgrpc_subchannel *sc);

/* The connection no longer takes new streams (a GOAWAY, or out of stream ids). */
void cgrpc_subchannel_retire(cgrpc_subchannel *sc, cgrpc_conn *conn);

#endif
