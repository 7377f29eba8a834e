/* Channels: the settings, the I/O thread, the load balancer and the queue of attempts, the
 * connectivity state as other threads see it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cgrpc/version.h>

#include "base/alloc.h"
#include "base/rand.h"
#include "client/call.h"
#include "client/channel_core.h"
#include "transport/tls.h"

/* ---- the loop's side ------------------------------------------------------------------------- */

/* Copies the states where other threads read them, and tells the watcher. */
static void channel_publish(cgrpc_channel *ch)
{
  cgrpc_connectivity_state s = ch->lb.state;
  pthread_mutex_lock(&ch->state_mu);
  int changed = s != ch->pub_state;
  ch->pub_state = s;
  ch->pub_naddrs = ch->lb.nsub;
  for (int i = 0; i < ch->lb.nsub; i++) {
    const char *name;
    ch->pub_addr_state[i] = cgrpc_lb_address_state(&ch->lb, i, &name);
    snprintf(ch->pub_addr_name[i], sizeof ch->pub_addr_name[i], "%s", name);
  }
  if (changed)
    pthread_cond_broadcast(&ch->state_cv);
  pthread_mutex_unlock(&ch->state_mu);
  if (changed && ch->watcher != NULL)
    ch->watcher(ch, s, ch->watcher_user_data);
}

/* The load balancer says picks may go otherwise: waiting attempts ask again. */
static void channel_on_lb_change(void *owner)
{
  cgrpc_channel *ch = owner;
  channel_publish(ch);
  if (ch->shutting_down) {
    if (ch->lb.cfg.env.live_conns == 0)
      cgrpc_loop_stop(ch->loop);
    return;
  }
  cgrpc_attempt_dispatch(&ch->attempts);
}

static size_t channel_waiting(void *owner)
{
  cgrpc_channel *ch = owner;
  return ch->attempts.nqueued;
}

static void channel_shutdown_task(void *ud)
{
  cgrpc_channel *ch = ud;
  ch->shutting_down = 1;
  cgrpc_call_fail_backoffs(ch, CGRPC_STATUS_CANCELLED, "channel closed");
  cgrpc_attempt_fail_queued(&ch->attempts, CGRPC_STATUS_CANCELLED, "channel closed");
  cgrpc_lb_shutdown(&ch->lb); /* on_change stops the loop once no connection is left */
}

static void channel_connect_task(void *ud)
{
  cgrpc_channel *ch = ud;
  cgrpc_lb_connect(&ch->lb);
}

/* ---- connectivity state (any thread) ------------------------------------------------------ */

const char *cgrpc_connectivity_state_name(cgrpc_connectivity_state state)
{
  static const char *const names[] = {"IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE",
                                      "SHUTDOWN"};
  return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "UNKNOWN";
}

cgrpc_connectivity_state cgrpc_channel_get_state(cgrpc_channel *ch, int try_to_connect)
{
  if (ch == NULL)
    return CGRPC_CHANNEL_SHUTDOWN;
  pthread_mutex_lock(&ch->state_mu);
  cgrpc_connectivity_state s = ch->pub_state;
  pthread_mutex_unlock(&ch->state_mu);
  if (try_to_connect && s == CGRPC_CHANNEL_IDLE)
    cgrpc_loop_post(ch->loop, &ch->connect_task);
  return s;
}

int cgrpc_channel_wait_for_state_change(cgrpc_channel *ch, cgrpc_connectivity_state last,
                                        cgrpc_time deadline)
{
  if (ch == NULL)
    return 0;
  struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
  pthread_mutex_lock(&ch->state_mu);
  int rv = 0;
  while (ch->pub_state == last && rv != ETIMEDOUT)
    rv = deadline == CGRPC_TIME_INFINITE ? pthread_cond_wait(&ch->state_cv, &ch->state_mu)
                                         : pthread_cond_timedwait(&ch->state_cv, &ch->state_mu, &ts);
  int changed = ch->pub_state != last;
  pthread_mutex_unlock(&ch->state_mu);
  return changed;
}

int cgrpc_channel_address_count(cgrpc_channel *ch)
{
  if (ch == NULL)
    return 0;
  pthread_mutex_lock(&ch->state_mu);
  int n = ch->pub_naddrs;
  pthread_mutex_unlock(&ch->state_mu);
  return n;
}

cgrpc_connectivity_state cgrpc_channel_address_state(cgrpc_channel *ch, int i, char *name,
                                                     size_t cap)
{
  cgrpc_connectivity_state s = CGRPC_CHANNEL_SHUTDOWN;
  if (name != NULL && cap > 0)
    name[0] = 0;
  if (ch == NULL)
    return s;
  pthread_mutex_lock(&ch->state_mu);
  if (i >= 0 && i < ch->pub_naddrs) {
    s = ch->pub_addr_state[i];
    if (name != NULL && cap > 0)
      snprintf(name, cap, "%s", ch->pub_addr_name[i]);
  }
  pthread_mutex_unlock(&ch->state_mu);
  return s;
}

/* ---- the channel --------------------------------------------------------------------------- */

/* The user agent: the application's prefix, then ours. */
static char *channel_user_agent(const cgrpc_allocator *a, const char *prefix)
{
  char ua[256];
  snprintf(ua, sizeof ua, "%s%scgrpc-c/%s", prefix != NULL ? prefix : "", prefix != NULL ? " " : "",
           CGRPC_VERSION);
  return cgrpc_strdup(a, ua);
}

static void channel_free_parts(cgrpc_channel *ch)
{
  const cgrpc_allocator *a = &ch->alloc;
  cgrpc_tls_ctx_unref(ch->tls);
  cgrpc_service_config_clear(&ch->config, a);
  cgrpc_loop_free(ch->loop);
  cgrpc_free(a, ch->interceptors);
  cgrpc_free(a, ch->authority);
  cgrpc_free(a, ch->user_agent);
}

/* Settings from o, over which the service config's win. */
static int channel_configure(cgrpc_channel *ch, const cgrpc_channel_options *o,
                             const cgrpc_target *target)
{
  const cgrpc_allocator *a = &ch->alloc;
  cgrpc_throttle_init(&ch->throttle, o->throttle_max_tokens, o->throttle_token_ratio);
  cgrpc_lb_policy lb_policy = o->lb_policy;
  if (o->service_config != NULL) {
    int rv = cgrpc_service_config_parse(&ch->config, a, o->service_config, NULL, 0);
    if (rv != 0)
      return rv;
    if (ch->config.throttle_max_tokens > 0) /* the operator's over the program's */
      cgrpc_throttle_init(&ch->throttle, ch->config.throttle_max_tokens,
                          ch->config.throttle_token_ratio);
    if (ch->config.lb_policy != NULL)
      lb_policy = strcmp(ch->config.lb_policy, "round_robin") == 0 ? CGRPC_LB_ROUND_ROBIN
                                                                   : CGRPC_LB_PICK_FIRST;
  }
  ch->watcher = o->watcher;
  ch->watcher_user_data = o->watcher_user_data;
  ch->creds = o->creds;
  ch->tls = o->tls;
  if (ch->tls != NULL)
    cgrpc_tls_ctx_ref(ch->tls);
  ch->max_send = o->max_send;
  ch->compression = o->compression;

  char authority[300];
  cgrpc_target_authority(target, authority, sizeof authority);
  ch->authority = cgrpc_strdup(a, o->authority != NULL ? o->authority : authority);
  ch->user_agent = channel_user_agent(a, o->user_agent);
  if (ch->authority == NULL || ch->user_agent == NULL)
    return CGRPC_ERR_NOMEM;
  if (o->ninterceptors > 0) {
    ch->interceptors = cgrpc_malloc(a, o->ninterceptors * sizeof *ch->interceptors);
    if (ch->interceptors == NULL)
      return CGRPC_ERR_NOMEM;
    memcpy(ch->interceptors, o->interceptors, o->ninterceptors * sizeof *ch->interceptors);
    ch->ninterceptors = o->ninterceptors;
  }

  cgrpc_attempt_env_init(&ch->attempts);
  ch->attempts.lb = &ch->lb;
  ch->attempts.authority = ch->authority;
  ch->attempts.user_agent = ch->user_agent;
  ch->attempts.secure = ch->tls != NULL;
  ch->attempts.max_recv = o->max_recv;

  cgrpc_lb_config lc = {
      .policy = lb_policy,
      .env =
          {
              .loop = ch->loop,
              .alloc = a,
              .pool_size = o->pool_size,
              .pool_max = o->pool_max,
              .backoff = o->connect_backoff,
              .keepalive = o->keepalive,
              .tls = ch->tls,
              .conn_setup = cgrpc_attempt_conn_setup,
              .end_streams = cgrpc_attempt_end_streams,
          },
      .on_change = channel_on_lb_change,
      .waiting = channel_waiting,
      .owner = ch,
  };
  cgrpc_lb_init(&ch->lb, &lc, target);
  /* The name the server's certificate must carry. */
  ch->lb.cfg.env.tls_host = ch->lb.target.host[0] != 0 ? ch->lb.target.host : "localhost";
  return 0;
}

int cgrpc_channel_new(cgrpc_channel **out, const char *target, const cgrpc_channel_options *opts)
{
  if (out == NULL || target == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  const cgrpc_channel_options *o = opts != NULL ? opts : &cgrpc_channel_options_defaults;
  cgrpc_target t;
  int rv = cgrpc_target_parse(&t, target);
  if (rv != 0)
    return rv;
  cgrpc_allocator a;
  cgrpc_alloc_init(&a, o->alloc);
  cgrpc_channel *ch = cgrpc_calloc(&a, 1, sizeof *ch);
  if (ch == NULL)
    return CGRPC_ERR_NOMEM;
  ch->alloc = a;
  cgrpc_alloc_protobuf(&ch->pb_alloc, &ch->alloc);
  ch->pb_alloc_default = cgrpc_alloc_is_default(&ch->alloc);
  cgrpc_list_init(&ch->backoff);
  ch->rng = cgrpc_rand_seed();
  cgrpc_task_init(&ch->shutdown_task, channel_shutdown_task, ch);
  cgrpc_task_init(&ch->connect_task, channel_connect_task, ch);
  rv = cgrpc_loop_new(&ch->loop, &ch->alloc);
  if (rv == 0)
    rv = channel_configure(ch, o, &t);
  if (rv != 0) {
    channel_free_parts(ch);
    cgrpc_free(&a, ch);
    return rv;
  }
  pthread_mutex_init(&ch->state_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* cgrpc_now's clock */
  pthread_cond_init(&ch->state_cv, &ca);
  pthread_condattr_destroy(&ca);
  rv = cgrpc_loop_start_thread(ch->loop, "cgrpc-channel");
  if (rv != 0) {
    pthread_mutex_destroy(&ch->state_mu);
    pthread_cond_destroy(&ch->state_cv);
    channel_free_parts(ch);
    cgrpc_free(&a, ch);
    return rv;
  }
  *out = ch;
  return 0;
}

const char *cgrpc_channel_authority(const cgrpc_channel *ch)
{
  return ch != NULL ? ch->authority : NULL;
}

void cgrpc_channel_free(cgrpc_channel *ch)
{
  if (ch == NULL)
    return;
  cgrpc_loop_post(ch->loop, &ch->shutdown_task);
  cgrpc_loop_join(ch->loop);
  cgrpc_lb_free(&ch->lb);
  pthread_mutex_destroy(&ch->state_mu);
  pthread_cond_destroy(&ch->state_cv);
  cgrpc_allocator a = ch->alloc;
  channel_free_parts(ch);
  cgrpc_free(&a, ch);
}

ProtobufCAllocator *cgrpc_channel_protobuf_allocator(cgrpc_channel *ch)
{
  if (ch == NULL || ch->pb_alloc_default)
    return NULL;
  return &ch->pb_alloc;
}
