/* Internal: the channel's state, shared by channel.c and client_call.c. */
#ifndef CGRPC_CHANNEL_INTERNAL_H
#define CGRPC_CHANNEL_INTERNAL_H

#include <cgrpc/channel.h>

#include "conn.h"
#include "list.h"
#include "loop.h"
#include "retry.h"
#include "service_config.h"
#include "sock.h"

#define CGRPC_DEFAULT_MAX_RECV (4 * 1024 * 1024)
#define CGRPC_CHANNEL_MAX_ADDRS 8

/* gRPC's connection backoff (doc/connection-backoff.md). */
typedef struct cgrpc_connect_backoff {
  int64_t initial_ms;             /* 1 s */
  double multiplier;              /* 1.6 */
  double jitter;                  /* 0.2 */
  int64_t max_ms;                 /* 120 s */
  int64_t min_connect_timeout_ms; /* 20 s */
} cgrpc_connect_backoff;

#define CGRPC_CONNECT_BACKOFF_DEFAULT {1000, 1.6, 0.2, 120000, 20000}

typedef struct cgrpc_client_interceptor {
  cgrpc_client_interceptor_fn fn;
  void *user_data;
} cgrpc_client_interceptor;

struct cgrpc_channel_options {
  int64_t max_recv;
  int64_t max_send;
  char *authority;
  char *user_agent;
  cgrpc_allocator alloc;
  int has_alloc;
  cgrpc_client_interceptor *interceptors;
  size_t ninterceptors;
  int compression; /* a cgrpc_encoding */
  int throttle_max_tokens; /* 0: no retry throttling */
  double throttle_token_ratio;
  char *service_config; /* JSON, validated; or NULL */
  cgrpc_keepalive_config keepalive;
  cgrpc_connect_backoff connect_backoff;
};

struct cgrpc_call_options {
  int64_t timeout_ms; /* INT64_MIN: not set */
  cgrpc_time deadline; /* 0: not set */
  cgrpc_metadata *md;
  int compression; /* a cgrpc_encoding; -1: the channel's */
  int has_retry;   /* retry replaces the method's policy */
  cgrpc_retry_policy retry;
  char *idempotency_key; /* the caller's, or NULL */
  const cgrpc_server_call *parent; /* the incoming call this one serves, or NULL */
};

struct cgrpc_channel {
  cgrpc_allocator alloc;
  ProtobufCAllocator pb_alloc;
  int pb_alloc_default;
  cgrpc_loop *loop;

  char *authority;
  char *user_agent;
  int64_t max_recv;
  int64_t max_send;
  cgrpc_client_interceptor *interceptors;
  size_t ninterceptors;
  int compression; /* requests' cgrpc_encoding */

  /* Where to connect. */
  int is_unix;
  char host[256];
  char port[8];
  char unix_path[108];

  /* Loop thread only. */
  cgrpc_sockaddr addrs[CGRPC_CHANNEL_MAX_ADDRS];
  int naddrs;
  int next_addr;
  cgrpc_conn *conn;   /* the connection new calls go to, or NULL */
  cgrpc_list conns;   /* every live connection */
  cgrpc_list pending; /* calls waiting for conn to connect */
  cgrpc_list backoff; /* calls waiting to retry */
  cgrpc_service_config config; /* over the methods' baked policy */
  cgrpc_keepalive_config keepalive; /* loop thread: too_many_pings doubles time_ms */

  /* Reconnecting (loop thread).  After every address failed to connect the channel is in
   * TRANSIENT_FAILURE until reconnect_at: calls fail fast with tf_why. */
  cgrpc_connect_backoff connect_backoff;
  int64_t cur_backoff_ms;
  cgrpc_time reconnect_at; /* 0: connect when needed */
  char tf_why[320];
  cgrpc_timer connect_timer; /* the connect attempt's timeout */
  cgrpc_retry_throttle throttle;
  uint64_t rng;       /* jitter */
  int shutting_down;
  cgrpc_task shutdown_task;
};

/* No new calls on conn (out of stream ids): a GOAWAY tells the server, and
 * it closes once its calls are done.  Loop thread. */
void cgrpc_channel_retire_conn(cgrpc_channel *ch, cgrpc_conn *conn);

/* Starts the attempt of call on a connection, connecting if needed.  Loop thread. */
void cgrpc_channel_start_attempt(cgrpc_channel *ch, cgrpc_call *call);

#endif
