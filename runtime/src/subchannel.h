/* Internal: a subchannel -- one address of a channel's target and its pool of HTTP/2
 * connections, with its own connectivity state and reconnect backoff.  Loop thread only. */
#ifndef CGRPC_SUBCHANNEL_H
#define CGRPC_SUBCHANNEL_H

#include <cgrpc/channel.h>

#include "conn.h"
#include "list.h"
#include "loop.h"
#include "sock.h"

typedef struct cgrpc_subchannel {
  cgrpc_channel *ch;
  int index;            /* in ch->subchannels */
  cgrpc_sockaddr addr;
  char name[64];        /* "127.0.0.1:5001", for statuses and the state API */
  cgrpc_connectivity_state state;
  cgrpc_list conns;     /* its live connections, connecting, ready or draining */
  cgrpc_conn *connecting; /* at most one connect at a time */
  int nconns;           /* in conns, not draining (GOAWAY) */
  int nready;           /* in conns, READY and not draining: usable */

  /* Reconnect backoff: after a connect fails, none before reconnect_at. */
  int64_t cur_backoff_ms;
  cgrpc_time reconnect_at; /* 0: may connect now */
  char why[352];           /* the last connect failure */
  cgrpc_time grow_at;      /* a READY pool failed to grow: not again before (0: now) */
  cgrpc_timer connect_timer; /* the connect attempt's time limit */
  cgrpc_timer backoff_timer; /* reports the end of the backoff */
} cgrpc_subchannel;

cgrpc_subchannel *cgrpc_subchannel_new(cgrpc_channel *ch, int index, const cgrpc_sockaddr *addr);
/* Only once it has no connections left. */
void cgrpc_subchannel_free(cgrpc_subchannel *sc);

/* Starts a connection unless one is connecting already or the backoff runs.  Returns 1 when
 * a connect is under way after the call. */
int cgrpc_subchannel_connect(cgrpc_subchannel *sc);

/* A ready connection with room for one more stream: the least busy one.  When all are full
 * (the peer's MAX_CONCURRENT_STREAMS) and the pool may grow, opens another and returns NULL
 * (the call waits for it); when it may not, the least busy one (nghttp2 queues the stream).
 * NULL when none is ready. */
cgrpc_conn *cgrpc_subchannel_pick(cgrpc_subchannel *sc);

/* Shutting down: fails every connection. */
void cgrpc_subchannel_shutdown(cgrpc_subchannel *sc);

/* The connection no longer takes new streams (a GOAWAY, or out of stream ids). */
void cgrpc_subchannel_retire(cgrpc_subchannel *sc, cgrpc_conn *conn);

#endif
