/* Internal: the channel's state, shared by channel.c and client_call.c. */
#ifndef CGRPC_CHANNEL_INTERNAL_H
#define CGRPC_CHANNEL_INTERNAL_H

#include <pthread.h>

#include <cgrpc/channel.h>

#include "conn.h"
#include "list.h"
#include "loop.h"
#include "retry.h"
#include "service_config.h"
#include "sock.h"

typedef struct cgrpc_subchannel cgrpc_subchannel;

#define CGRPC_DEFAULT_MAX_RECV (4 * 1024 * 1024)
#define CGRPC_CHANNEL_MAX_ADDRS 32
#define CGRPC_POOL_MAX_DEFAULT 8

/* gRPC's connection backoff (doc/connection-backoff.md). */
typedef struct cgrpc_connect_backoff {
  int64_t initial_ms;             /* 1 s */
  double multiplier;              /* 1.6 */
  double jitter;                  /* 0.2 */
  int64_t max_ms;                 /* 120 s */
  int64_t min_connect_timeout_ms; /* 20 s */
} cgrpc_connect_backoff;

#define CGRPC_CONNECT_BACKOFF_DEFAULT {1000, 1.6, 0.2, 120000, 20000}

/* Per-call credentials (cgrpc_*_options_set_call_credentials). */
typedef struct cgrpc_call_creds {
  int set; /* call options: these replace the channel's */
  cgrpc_call_credentials_fn fn;
  void *user_data;
  int allow_insecure;
} cgrpc_call_creds;

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
  int lb_policy;
  int pool_size;
  int pool_max;
  cgrpc_channel_state_fn watcher;
  void *watcher_user_data;
  struct cgrpc_tls_ctx *tls; /* a reference, or NULL: plaintext */
  cgrpc_call_creds creds;
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
  int has_wait_for_ready; /* set: over the service config's waitForReady */
  cgrpc_call_creds creds;
  int wait_for_ready;
};

enum { CGRPC_LB_PICK_FIRST, CGRPC_LB_ROUND_ROBIN };

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
  struct cgrpc_tls_ctx *tls; /* a reference, or NULL: plaintext */
  cgrpc_call_creds creds;

  /* Where to connect: a name to resolve (host, port), or a fixed list of addresses
   * (ipv4:/ipv6: lists and unix:). */
  int fixed_addrs;
  char host[256];
  char port[8];
  cgrpc_sockaddr addrs[CGRPC_CHANNEL_MAX_ADDRS];
  int naddrs;

  /* Load balancing (lb.c); loop thread only. */
  int lb_policy;       /* CGRPC_LB_* */
  int pool_size;       /* connections each address keeps open */
  int pool_max;        /* connections an address may open when the others are full */
  cgrpc_subchannel **subchannels; /* one per address, in the resolver's order */
  int nsub;
  int active;          /* left IDLE: round_robin keeps every address connected */
  int selected;        /* pick_first: the subchannel in use, or -1 */
  int pf_next;         /* pick_first: the next address a pass tries; -1: no pass */
  int pf_failed;       /* pick_first: the last pass found no address: TRANSIENT_FAILURE */
  int rr_next;         /* round_robin: where the next pick starts */
  int live_conns;      /* connections of every subchannel, until they are freed */
  char resolve_why[320]; /* why resolving failed, or "" */
  cgrpc_time resolve_at;  /* after a failure: not again before */
  cgrpc_timer resolve_timer; /* ... and then again */
  cgrpc_connectivity_state state;
  cgrpc_list pending; /* calls waiting for a connection */
  cgrpc_list backoff; /* calls waiting to retry */
  cgrpc_service_config config; /* over the methods' baked policy */
  cgrpc_keepalive_config keepalive; /* loop thread: too_many_pings doubles time_ms */
  cgrpc_connect_backoff connect_backoff;
  cgrpc_retry_throttle throttle;
  uint64_t rng;       /* jitter */
  int shutting_down;
  cgrpc_task shutdown_task;
  cgrpc_task connect_task; /* cgrpc_channel_get_state(ch, 1) */
  cgrpc_task dispatch_task; /* cgrpc_lb_stream_freed */

  /* The state as other threads see it (cgrpc_channel_get_state and friends). */
  pthread_mutex_t state_mu;
  pthread_cond_t state_cv;
  cgrpc_connectivity_state pub_state;
  int pub_naddrs;
  cgrpc_connectivity_state pub_addr_state[CGRPC_CHANNEL_MAX_ADDRS];
  char pub_addr_name[CGRPC_CHANNEL_MAX_ADDRS][64];
  cgrpc_channel_state_fn watcher;
  void *watcher_user_data;
};

/* Starts the attempt of call on a connection the policy picks, connecting if needed, or
 * fails it fast (TRANSIENT_FAILURE without wait_for_ready).  Loop thread. */
void cgrpc_channel_start_attempt(cgrpc_channel *ch, cgrpc_call *call);

/* A subchannel's state or capacity changed: the policy reacts, waiting calls go out,
 * the channel's state is recomputed and published.  Loop thread. */
void cgrpc_lb_update(cgrpc_channel *ch, cgrpc_subchannel *sc);

/* Once, when the channel is made. */
void cgrpc_lb_init_tasks(cgrpc_channel *ch);

/* A stream ended: calls waiting for room (a pool growing) may go out now. */
void cgrpc_lb_stream_freed(cgrpc_channel *ch);

/* Leaves IDLE: resolves the target if needed and starts connecting as the policy says. */
void cgrpc_lb_exit_idle(cgrpc_channel *ch);

/* Closing: fails waiting calls, closes every connection; the loop stops once they are gone. */
void cgrpc_lb_shutdown(cgrpc_channel *ch);

/* Frees the subchannels (after the loop stopped). */
void cgrpc_lb_free(cgrpc_channel *ch);

#endif
