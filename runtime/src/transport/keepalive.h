/* Internal: HTTP/2 keepalive (gRFC A8) on one connection -- pings after keepalive_time
 * without reads, the connection closed when keepalive_timeout passes without an answer --
 * and, on servers, the policing of clients' pings (too_many_pings). */
#ifndef CGRPC_KEEPALIVE_H
#define CGRPC_KEEPALIVE_H

#include <stdint.h>

#include "base/loop.h"

typedef struct cgrpc_conn cgrpc_conn;

/* gRFC A8's defaults. */
#define CGRPC_KEEPALIVE_TIMEOUT_MS_DEFAULT 20000
#define CGRPC_SERVER_KEEPALIVE_TIME_MS_DEFAULT (2 * 3600 * 1000LL)
#define CGRPC_SERVER_MIN_PING_INTERVAL_MS_DEFAULT (5 * 60 * 1000LL)
#define CGRPC_SERVER_MAX_PING_STRIKES 2
/* Without calls, a client that may not ping then may do so this often (grpc-core). */
#define CGRPC_SERVER_IDLE_PING_INTERVAL_MS (2 * 3600 * 1000LL)
/* Client: at most this many pings until we send HEADERS, DATA or a connection WINDOW_UPDATE
 * again (grpc-core's GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA default; the channel option
 * cgrpc_channel_options_set_max_pings_without_data changes it).  A server polices
 * pings that come without its own headers or data (above): a client pinging a quiet call
 * every keepalive_time would be told too_many_pings by the third strike. */
#define CGRPC_KEEPALIVE_MAX_PINGS_WITHOUT_DATA 2

typedef struct cgrpc_keepalive_config {
  int64_t time_ms;          /* ping after this long without reading anything; 0: never */
  int64_t timeout_ms;       /* ... and give up on the connection this long after */
  int permit_without_calls; /* client: ping with no calls open; server: allow that */
  int64_t min_ping_interval_ms; /* server: pings closer than this are strikes; 0: no policing */
  int max_pings_without_data;   /* client: 0 the default (2 pings), < 0 no limit */
} cgrpc_keepalive_config;

typedef struct cgrpc_keepalive {
  cgrpc_keepalive_config cfg;
  cgrpc_timer timer;
  cgrpc_time last_read;      /* anything arrived */
  cgrpc_time ping_sent;      /* 0: no ping awaiting its answer */
  cgrpc_time last_ping_recv; /* server: 0 when reset by sending headers or data */
  int strikes;
  int pings_without_data; /* client: pings sent since we last sent headers or data */
  int too_many_pings; /* client: the server sent GOAWAY ENHANCE_YOUR_CALM "too_many_pings" */
} cgrpc_keepalive;

/* Starts keepalive on conn (after cgrpc_conn_start).  Loop thread. */
void cgrpc_keepalive_start(cgrpc_conn *conn, const cgrpc_keepalive_config *cfg);
/* Stops its timer (the connection is going away).  Loop thread. */
void cgrpc_keepalive_stop(cgrpc_conn *conn);
/* Bytes arrived. */
static inline void cgrpc_keepalive_on_read(cgrpc_keepalive *ka, cgrpc_time now)
{
  ka->last_read = now;
}
/* A PING frame arrived (ack or not). */
void cgrpc_keepalive_on_ping(cgrpc_conn *conn, int ack);
/* Our side is sending HEADERS, DATA or a connection-level WINDOW_UPDATE (where grpc-core
 * resets its ping clock): a server clears the client's strikes, a client may ping again. */
void cgrpc_keepalive_on_send(cgrpc_conn *conn);

#endif
