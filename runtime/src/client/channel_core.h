/* Internal: a channel's state as its calls see it -- settings copied from the options, the
 * service config, the load balancer and the queue of attempts, retry throttling -- and the
 * state other threads read.  The public channel functions live in channel.c. */
#ifndef CGRPC_CHANNEL_CORE_H
#define CGRPC_CHANNEL_CORE_H

#include <pthread.h>

#include <cgrpc/channel.h>

#include "base/list.h"
#include "base/loop.h"
#include "client/attempt.h"
#include "client/lb.h"
#include "client/options.h"
#include "client/service_config.h"
#include "client/throttle.h"

struct cgrpc_channel {
  cgrpc_allocator alloc;
  ProtobufCAllocator pb_alloc;
  int pb_alloc_default;
  cgrpc_loop *loop;

  /* Settings, from the options. */
  char *authority;
  char *user_agent;
  int64_t max_send;
  int compression; /* requests' cgrpc_encoding */
  cgrpc_client_interceptor *interceptors;
  size_t ninterceptors;
  struct cgrpc_tls_ctx *tls; /* a reference, or NULL: plaintext */
  cgrpc_call_creds creds;
  cgrpc_service_config config; /* over the methods' baked policy */

  /* Loop thread only. */
  cgrpc_lb lb;
  cgrpc_attempt_env attempts; /* what attempts share, and the queue of waiting ones */
  cgrpc_list backoff;         /* calls waiting between attempts */
  cgrpc_throttle throttle;
  uint64_t rng; /* retry jitter */
  int shutting_down;
  cgrpc_task shutdown_task;
  cgrpc_task connect_task; /* cgrpc_channel_get_state(ch, 1) */

  /* The state as other threads see it (cgrpc_channel_get_state and friends). */
  pthread_mutex_t state_mu;
  pthread_cond_t state_cv;
  cgrpc_connectivity_state pub_state;
  int pub_naddrs;
  cgrpc_connectivity_state pub_addr_state[CGRPC_TARGET_MAX_ADDRS];
  char pub_addr_name[CGRPC_TARGET_MAX_ADDRS][64];
  cgrpc_channel_state_fn watcher;
  void *watcher_user_data;
};

#endif
