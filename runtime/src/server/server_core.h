/* Internal: the server's state and options, shared by server.c and the call it serves. */
#ifndef CGRPC_SERVER_CORE_H
#define CGRPC_SERVER_CORE_H

#include <pthread.h>

#include <cgrpc/server.h>

#include "base/list.h"
#include "base/loop.h"
#include "base/workers.h"
#include "server/registry.h"
#include "transport/conn.h"

#define CGRPC_SERVER_MAX_LISTENERS 8
/* Request metadata beyond this ends the call with RESOURCE_EXHAUSTED. */
#define CGRPC_SERVER_MAX_HEADER_BYTES (16 * 1024)

typedef struct cgrpc_server_interceptor {
  cgrpc_server_interceptor_hooks hooks;
  void *user_data;
} cgrpc_server_interceptor;

struct cgrpc_server_options {
  int64_t max_recv; /* -1: no limit */
  int64_t max_send; /* -1: no limit */
  int handler_threads; /* -1: max(4, 2 x CPUs); 0: handlers on the I/O thread */
  int stream_handler_threads; /* the most streaming handlers running at once */
  int stream_handlers_per_conn; /* ... for one connection's streams */
  cgrpc_stream_start stream_start; /* when handlers of client streams get their thread */
  uint32_t max_concurrent_streams;
  const cgrpc_allocator *alloc; /* &alloc_copy, or NULL: malloc */
  cgrpc_allocator alloc_copy;
  cgrpc_server_interceptor *interceptors;
  size_t ninterceptors;
  cgrpc_keepalive_config keepalive;
  cgrpc_conn_age_config age;
  uint32_t max_connections; /* 0: no limit */
  double glitch_burst; /* server/server_peers.h */
  double glitch_rate;
  size_t inflate_budget; /* per connection (server_call.c) */
  size_t unsent_budget;  /* per connection (stream/pipe.h) */
  int64_t frame_timeout_ms; /* 0: none (transport/conn.h) */
};

/* Every server option's default, in one place. */
extern const cgrpc_server_options cgrpc_server_options_defaults;

typedef struct cgrpc_listener {
  cgrpc_server *srv;
  int fd;
  cgrpc_loop_fd h;
  cgrpc_timer retry; /* resumes accepting after running out of fds */
  char unix_path[108]; /* removed at shutdown */
  struct cgrpc_tls_ctx *tls;          /* TLS: the current context (srv->mu), or NULL */
  struct cgrpc_tls_options *tls_opts; /* TLS: what cgrpc_server_reload_tls reads again */
} cgrpc_listener;

struct cgrpc_server {
  cgrpc_allocator alloc;
  ProtobufCAllocator pb; /* alloc for protobuf-c: streamed request messages */
  cgrpc_loop *loop;
  cgrpc_workers *workers;        /* unary handlers; NULL: handlers on the loop thread */
  cgrpc_workers *stream_workers; /* streaming handlers, a pool of their own */
  int stream_handler_threads;
  int stream_handlers_per_conn;
  cgrpc_stream_start stream_start;
  int said_busy;        /* atomic: the log said the handler threads ran out */
  int said_stream_busy; /* atomic: ... the streaming ones */
  int said_conn_busy;   /* atomic: ... a connection's share of the streaming ones */
  cgrpc_registry registry;
  int64_t max_recv;
  int64_t max_send;
  int handler_threads;
  uint32_t max_concurrent_streams;
  cgrpc_keepalive_config keepalive;
  cgrpc_conn_age_config age;
  uint64_t age_seed; /* loop thread: jitter of connections' ages */
  cgrpc_server_interceptor *interceptors;
  size_t ninterceptors;

  cgrpc_listener listeners[CGRPC_SERVER_MAX_LISTENERS];
  int nlisteners;
  int started;

  /* Loop thread only. */
  cgrpc_list conns;
  uint32_t max_connections; /* 0: no limit */
  uint32_t nconns;          /* in conns: accepted and not yet freed */
  double glitch_burst;      /* server/server_peers.h */
  double glitch_rate;
  size_t inflate_budget;    /* per connection: what handler threads hold inflated */
  size_t unsent_budget;     /* per connection: what handler threads have queued unsent */
  int64_t frame_timeout_ms; /* a frame or header block begun must arrive whole within it */
  struct cgrpc_server_peers *peers; /* allocated at the first glitch */
  cgrpc_rate glitch_log;
  int accept_paused;        /* at max_connections: listeners not watched */
  int draining;
  int ncalls; /* calls not yet freed */
  cgrpc_timer grace_timer;
  int grace_expired; /* calls were cancelled; next: drop connections */
  cgrpc_task shutdown_task;

  /* Shutdown handshake with the caller of cgrpc_server_shutdown. */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int64_t grace_ms;
  int stopped;
};

/* Opens a server connection on an accepted transport, which it takes whatever happens (loop
 * thread).  Returns the connection, or NULL when it could not start (it is gone). */
cgrpc_conn *cgrpc_server_adopt(cgrpc_server *srv, cgrpc_transport *tp);

/* A call ended and was freed (loop thread): shutdown may be waiting for it. */
void cgrpc_server_call_released(cgrpc_server *srv);

/* Runs a call's handler task: on a thread of the unary pool, or (streaming) of the streaming
 * pool, or (no handler threads) right here on the loop.  Calls waiting for a thread wait in
 * their connection's lane: connections take turns. */
void cgrpc_server_dispatch(cgrpc_server *srv, cgrpc_conn *conn, cgrpc_task *t, int streaming);
/* Takes a dispatched task back if no thread has picked it up.  Returns 1 when it did. */
int cgrpc_server_workers_cancel(cgrpc_server *srv, cgrpc_conn *conn, cgrpc_task *t);

#endif
