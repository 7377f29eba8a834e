/* Internal: channel and call options as their setters fill them.  Each options type has one
 * defaults object; a channel starts from it (or from options made from it), and call options
 * say which of their fields are set in a mask, over what the method and the service config
 * give (see client/policy.h for the precedence). */
#ifndef CGRPC_OPTIONS_H
#define CGRPC_OPTIONS_H

#include <cgrpc/channel.h>
#include <cgrpc/interceptor.h>

#include "client/lb.h"
#include "transport/keepalive.h"

/* Per-call credentials (cgrpc_*_options_set_call_credentials). */
typedef struct cgrpc_call_creds {
  cgrpc_call_credentials_fn fn; /* NULL: none */
  void *user_data;
  int allow_insecure;
} cgrpc_call_creds;

typedef struct cgrpc_client_interceptor {
  cgrpc_client_interceptor_hooks hooks;
  void *user_data;
} cgrpc_client_interceptor;

struct cgrpc_channel_options {
  int64_t max_recv; /* -1: no limit */
  int64_t max_send; /* -1: no limit */
  char *authority;  /* NULL: the target's */
  char *user_agent; /* NULL: cgrpc's alone */
  const cgrpc_allocator *alloc; /* &alloc_copy, or NULL: malloc */
  cgrpc_allocator alloc_copy;
  cgrpc_client_interceptor *interceptors;
  size_t ninterceptors;
  int compression; /* a cgrpc_encoding */
  int throttle_max_tokens; /* 0: no retry throttling */
  double throttle_token_ratio;
  char *service_config; /* JSON, validated; or NULL */
  cgrpc_keepalive_config keepalive;
  cgrpc_connect_backoff connect_backoff;
  cgrpc_lb_policy lb_policy;
  int pool_size;
  int pool_max;
  cgrpc_channel_state_fn watcher;
  void *watcher_user_data;
  struct cgrpc_tls_ctx *tls; /* a reference, or NULL: plaintext */
  cgrpc_call_creds creds;
};

/* Every channel option's default, in one place. */
extern const cgrpc_channel_options cgrpc_channel_options_defaults;

/* Which fields of call options are set. */
enum {
  CGRPC_CALL_OPT_TIMEOUT = 1u << 0,
  CGRPC_CALL_OPT_DEADLINE = 1u << 1,
  CGRPC_CALL_OPT_COMPRESSION = 1u << 2,
  CGRPC_CALL_OPT_RETRY = 1u << 3,
  CGRPC_CALL_OPT_WAIT_FOR_READY = 1u << 4,
  CGRPC_CALL_OPT_CREDENTIALS = 1u << 5
};

struct cgrpc_call_options {
  unsigned set; /* CGRPC_CALL_OPT_* */
  int64_t timeout_ms;   /* <= 0: no deadline */
  cgrpc_time deadline;  /* absolute; wins over timeout_ms */
  int compression;      /* a cgrpc_encoding */
  cgrpc_retry_policy retry;
  int wait_for_ready;
  cgrpc_call_creds creds;
  cgrpc_metadata *md;             /* or NULL */
  char *idempotency_key;          /* the caller's, or NULL */
  const cgrpc_server_call *parent; /* the incoming call this one serves, or NULL */
};

#endif
