/* Channels: the target, the I/O thread, and the connection calls go out on. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrpc/version.h>

#include "alloc.h"
#include "channel_internal.h"
#include "client_call.h"
#include "compress.h"
#include "tls.h"

/* ---- options ------------------------------------------------------------------ */

static const cgrpc_connect_backoff default_connect_backoff = CGRPC_CONNECT_BACKOFF_DEFAULT;

int cgrpc_channel_options_new(cgrpc_channel_options **out)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_channel_options *o = calloc(1, sizeof *o);
  if (o == NULL)
    return CGRPC_ERR_NOMEM;
  o->max_recv = CGRPC_DEFAULT_MAX_RECV;
  o->max_send = -1;
  o->connect_backoff = default_connect_backoff;
  o->pool_size = 1;
  o->pool_max = CGRPC_POOL_MAX_DEFAULT;
  *out = o;
  return 0;
}

void cgrpc_channel_options_free(cgrpc_channel_options *o)
{
  if (o == NULL)
    return;
  cgrpc_tls_ctx_unref(o->tls);
  free(o->authority);
  free(o->user_agent);
  free(o->interceptors);
  free(o->service_config);
  free(o);
}

int cgrpc_channel_options_set_connect_backoff(cgrpc_channel_options *o, int64_t initial_ms,
                                              double multiplier, double jitter, int64_t max_ms,
                                              int64_t min_connect_timeout_ms)
{
  if (o == NULL || initial_ms <= 0 || !(multiplier >= 1.0) || !(jitter >= 0 && jitter < 1) ||
      max_ms < initial_ms || min_connect_timeout_ms <= 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_connect_backoff b = {initial_ms, multiplier, jitter, max_ms, min_connect_timeout_ms};
  o->connect_backoff = b;
  return 0;
}

int cgrpc_channel_options_set_tls(cgrpc_channel_options *o, const cgrpc_tls_options *tls,
                                  char *err, size_t errlen)
{
  if (errlen > 0)
    err[0] = 0;
  if (o == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_tls_ctx *ctx = NULL;
  if (tls != NULL) {
    int rv = cgrpc_tls_ctx_new(&ctx, tls, 0, err, errlen);
    if (rv != 0)
      return rv;
  }
  cgrpc_tls_ctx_unref(o->tls);
  o->tls = ctx;
  return 0;
}

void cgrpc_channel_options_set_call_credentials(cgrpc_channel_options *o,
                                                cgrpc_call_credentials_fn fn, void *user_data,
                                                int allow_insecure)
{
  if (o == NULL)
    return;
  cgrpc_call_creds c = {fn != NULL, fn, user_data, allow_insecure != 0};
  o->creds = c;
}

int cgrpc_channel_options_set_lb_policy(cgrpc_channel_options *o, const char *policy)
{
  if (o == NULL || policy == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (strcmp(policy, "pick_first") == 0)
    o->lb_policy = CGRPC_LB_PICK_FIRST;
  else if (strcmp(policy, "round_robin") == 0)
    o->lb_policy = CGRPC_LB_ROUND_ROBIN;
  else
    return CGRPC_ERR_INVALID_ARGUMENT;
  return 0;
}

int cgrpc_channel_options_set_pool(cgrpc_channel_options *o, int size, int max)
{
  if (o == NULL || size < 1 || max < size || max > 65536)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->pool_size = size;
  o->pool_max = max;
  return 0;
}

void cgrpc_channel_options_set_state_watcher(cgrpc_channel_options *o, cgrpc_channel_state_fn fn,
                                             void *user_data)
{
  if (o == NULL)
    return;
  o->watcher = fn;
  o->watcher_user_data = user_data;
}

int cgrpc_channel_options_set_keepalive(cgrpc_channel_options *o, int64_t time_ms,
                                        int64_t timeout_ms, int permit_without_calls)
{
  if (o == NULL || time_ms < 0 || timeout_ms < 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->keepalive.time_ms = time_ms;
  o->keepalive.timeout_ms = timeout_ms > 0 ? timeout_ms : CGRPC_KEEPALIVE_TIMEOUT_MS_DEFAULT;
  o->keepalive.permit_without_calls = permit_without_calls != 0;
  return 0;
}

int cgrpc_channel_options_set_service_config(cgrpc_channel_options *o, const char *json,
                                             char *err, size_t errlen)
{
  if (o == NULL) {
    if (errlen > 0)
      snprintf(err, errlen, "no options");
    return CGRPC_ERR_INVALID_ARGUMENT;
  }
  if (json != NULL) {
    cgrpc_allocator a; /* only to validate it: the channel parses it again */
    cgrpc_alloc_init(&a, NULL);
    cgrpc_service_config sc;
    int rv = cgrpc_service_config_parse(&sc, &a, json, err, errlen);
    if (rv != 0)
      return rv;
    cgrpc_service_config_clear(&sc, &a);
  }
  return cgrpc_replace_string(&o->service_config, json);
}

void cgrpc_channel_options_set_max_recv_message_size(cgrpc_channel_options *o, int64_t bytes)
{
  if (o != NULL)
    o->max_recv = bytes < 0 ? -1 : bytes;
}

void cgrpc_channel_options_set_max_send_message_size(cgrpc_channel_options *o, int64_t bytes)
{
  if (o != NULL)
    o->max_send = bytes < 0 ? -1 : bytes;
}

int cgrpc_channel_options_set_authority(cgrpc_channel_options *o, const char *authority)
{
  return o == NULL ? CGRPC_ERR_INVALID_ARGUMENT : cgrpc_replace_string(&o->authority, authority);
}

int cgrpc_channel_options_set_user_agent(cgrpc_channel_options *o, const char *prefix)
{
  return o == NULL ? CGRPC_ERR_INVALID_ARGUMENT : cgrpc_replace_string(&o->user_agent, prefix);
}

void cgrpc_channel_options_set_allocator(cgrpc_channel_options *o, const cgrpc_allocator *alloc)
{
  if (o == NULL)
    return;
  cgrpc_alloc_init(&o->alloc, alloc);
  o->has_alloc = alloc != NULL;
}

int cgrpc_channel_options_set_compression(cgrpc_channel_options *o, const char *encoding)
{
  cgrpc_encoding e = encoding != NULL ? cgrpc_encoding_parse(encoding, strlen(encoding))
                                      : CGRPC_ENCODING_IDENTITY;
  if (o == NULL || e == CGRPC_ENCODING_UNKNOWN)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->compression = e;
  return 0;
}

int cgrpc_channel_options_set_retry_throttling(cgrpc_channel_options *o, int max_tokens,
                                               double token_ratio)
{
  if (o == NULL || max_tokens < 0 || max_tokens > 1000 ||
      (max_tokens > 0 && !(token_ratio > 0 && token_ratio <= 1000)))
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->throttle_max_tokens = max_tokens;
  o->throttle_token_ratio = token_ratio;
  return 0;
}

int cgrpc_channel_options_add_interceptor(cgrpc_channel_options *o, cgrpc_client_interceptor_fn fn,
                                          void *user_data)
{
  if (o == NULL || fn == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_client_interceptor ic = {fn, user_data};
  return cgrpc_array_append((void **)&o->interceptors, &o->ninterceptors, sizeof ic, &ic);
}

/* ---- targets ------------------------------------------------------------------- */

/* "ipv4:a:p,b:p" or "ipv6:[a]:p,[b]:p": a fixed list of numeric addresses of family af. */
static int channel_parse_list(cgrpc_channel *ch, const char *list, int af)
{
  char entry[300];
  while (*list != 0) {
    size_t len = strcspn(list, ",");
    if (len == 0 || len >= sizeof entry || ch->naddrs == CGRPC_CHANNEL_MAX_ADDRS ||
        (list[len] == ',' && list[len + 1] == 0))
      return CGRPC_ERR_BAD_TARGET;
    memcpy(entry, list, len);
    entry[len] = 0;
    list += len + (list[len] == ',');
    char host[INET6_ADDRSTRLEN];
    const char *port;
    uint8_t bin[sizeof(struct in6_addr)];
    if (cgrpc_sock_split_host_port(entry, host, sizeof host, &port) != 0 ||
        strlen(port) >= sizeof ch->port || inet_pton(af, host, bin) != 1 ||
        cgrpc_sock_resolve(host, port, &ch->addrs[ch->naddrs], 1) != 1)
      return CGRPC_ERR_BAD_TARGET;
    if (ch->naddrs++ == 0) { /* the first names the authority */
      strcpy(ch->host, host);
      strcpy(ch->port, port);
    }
  }
  return ch->naddrs > 0 ? 0 : CGRPC_ERR_BAD_TARGET;
}

static int channel_parse_target(cgrpc_channel *ch, const char *target)
{
  const char *port;
  if (strncmp(target, "unix:", 5) == 0) {
    const char *path = target + 5;
    if (strncmp(path, "//", 2) == 0)
      path += 2; /* unix:///abs/path */
    if (*path == 0 || cgrpc_sock_unix_addr(path, &ch->addrs[0]) != 0)
      return CGRPC_ERR_BAD_TARGET;
    ch->naddrs = 1;
    ch->fixed_addrs = 1;
    return 0;
  }
  if (strncmp(target, "ipv4:", 5) == 0 || strncmp(target, "ipv6:", 5) == 0) {
    ch->fixed_addrs = 1;
    return channel_parse_list(ch, target + 5, target[3] == '4' ? AF_INET : AF_INET6);
  }
  if (strncmp(target, "dns:///", 7) == 0)
    target += 7;
  else if (strncmp(target, "dns://", 6) == 0)
    return CGRPC_ERR_BAD_TARGET; /* a DNS server of its own: not supported */
  else if (strncmp(target, "dns:", 4) == 0)
    target += 4;
  if (cgrpc_sock_split_host_port(target, ch->host, sizeof ch->host, &port) != 0 ||
      strlen(port) >= sizeof ch->port)
    return CGRPC_ERR_BAD_TARGET;
  strcpy(ch->port, port);
  return 0;
}

static void channel_shutdown_task(void *ud)
{
  cgrpc_channel *ch = ud;
  cgrpc_retry_fail_backoffs(ch, CGRPC_STATUS_CANCELLED, "channel closed");
  cgrpc_lb_shutdown(ch);
}

static void channel_connect_task(void *ud)
{
  cgrpc_channel *ch = ud;
  if (ch->state == CGRPC_CHANNEL_IDLE)
    cgrpc_lb_exit_idle(ch);
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

/* ---- the channel --------------------------------------------------------------------- */

int cgrpc_channel_new(cgrpc_channel **out, const char *target, const cgrpc_channel_options *opts)
{
  if (out == NULL || target == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_allocator a;
  cgrpc_alloc_init(&a, opts != NULL && opts->has_alloc ? &opts->alloc : NULL);
  cgrpc_channel *ch = cgrpc_calloc(&a, 1, sizeof *ch);
  if (ch == NULL)
    return CGRPC_ERR_NOMEM;
  ch->alloc = a;
  cgrpc_alloc_protobuf(&ch->pb_alloc, &ch->alloc);
  ch->pb_alloc_default = cgrpc_alloc_is_default(&ch->alloc);
  cgrpc_list_init(&ch->pending);
  cgrpc_list_init(&ch->backoff);
  ch->rng = cgrpc_retry_seed();
  if (opts != NULL)
    cgrpc_retry_throttle_init(&ch->throttle, opts->throttle_max_tokens,
                              opts->throttle_token_ratio);
  if (opts != NULL && opts->service_config != NULL) {
    int rv = cgrpc_service_config_parse(&ch->config, &a, opts->service_config, NULL, 0);
    if (rv != 0) {
      cgrpc_free(&a, ch);
      return rv;
    }
    if (ch->config.throttle_max_tokens > 0) /* the operator's over the program's */
      cgrpc_retry_throttle_init(&ch->throttle, ch->config.throttle_max_tokens,
                                ch->config.throttle_token_ratio);
  }
  cgrpc_task_init(&ch->shutdown_task, channel_shutdown_task, ch);
  cgrpc_task_init(&ch->connect_task, channel_connect_task, ch);
  cgrpc_lb_init_tasks(ch);
  ch->selected = -1;
  ch->pf_next = -1;
  ch->lb_policy = opts != NULL ? opts->lb_policy : CGRPC_LB_PICK_FIRST;
  if (ch->config.lb_policy != NULL) /* the operator's over the program's */
    ch->lb_policy = strcmp(ch->config.lb_policy, "round_robin") == 0 ? CGRPC_LB_ROUND_ROBIN
                                                                     : CGRPC_LB_PICK_FIRST;
  ch->pool_size = opts != NULL ? opts->pool_size : 1;
  ch->pool_max = opts != NULL ? opts->pool_max : CGRPC_POOL_MAX_DEFAULT;
  if (opts != NULL) {
    ch->watcher = opts->watcher;
    ch->watcher_user_data = opts->watcher_user_data;
    ch->creds = opts->creds;
    ch->tls = opts->tls;
    if (ch->tls != NULL)
      cgrpc_tls_ctx_ref(ch->tls);
  }
  ch->max_recv = opts != NULL ? opts->max_recv : CGRPC_DEFAULT_MAX_RECV;
  ch->max_send = opts != NULL ? opts->max_send : -1;
  ch->compression = opts != NULL ? opts->compression : CGRPC_ENCODING_IDENTITY;
  ch->connect_backoff = opts != NULL ? opts->connect_backoff : default_connect_backoff;
  if (opts != NULL)
    ch->keepalive = opts->keepalive;

  int rv = channel_parse_target(ch, target);
  if (rv != 0)
    goto fail;
  rv = CGRPC_ERR_NOMEM;
  if (opts != NULL && opts->authority != NULL)
    ch->authority = cgrpc_strdup(&a, opts->authority);
  else if (ch->host[0] == 0)
    ch->authority = cgrpc_strdup(&a, "localhost"); /* unix: */
  else {
    char buf[300];
    snprintf(buf, sizeof buf, strchr(ch->host, ':') ? "[%s]:%s" : "%s:%s", ch->host, ch->port);
    ch->authority = cgrpc_strdup(&a, buf);
  }
  char ua[256];
  snprintf(ua, sizeof ua, "%s%scgrpc-c/%s", opts != NULL && opts->user_agent ? opts->user_agent : "",
           opts != NULL && opts->user_agent ? " " : "", CGRPC_VERSION);
  ch->user_agent = cgrpc_strdup(&a, ua);
  if (ch->authority == NULL || ch->user_agent == NULL)
    goto fail;
  if (opts != NULL && opts->ninterceptors > 0) {
    ch->interceptors = cgrpc_malloc(&a, opts->ninterceptors * sizeof *ch->interceptors);
    if (ch->interceptors == NULL)
      goto fail;
    memcpy(ch->interceptors, opts->interceptors, opts->ninterceptors * sizeof *ch->interceptors);
    ch->ninterceptors = opts->ninterceptors;
  }
  rv = cgrpc_loop_new(&ch->loop, &ch->alloc);
  if (rv != 0)
    goto fail;
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
    goto fail;
  }
  *out = ch;
  return 0;
fail:
  cgrpc_tls_ctx_unref(ch->tls);
  cgrpc_service_config_clear(&ch->config, &a);
  cgrpc_loop_free(ch->loop);
  cgrpc_free(&a, ch->interceptors);
  cgrpc_free(&a, ch->authority);
  cgrpc_free(&a, ch->user_agent);
  cgrpc_free(&a, ch);
  return rv;
}

void cgrpc_channel_free(cgrpc_channel *ch)
{
  if (ch == NULL)
    return;
  cgrpc_loop_post(ch->loop, &ch->shutdown_task);
  cgrpc_loop_join(ch->loop);
  cgrpc_lb_free(ch);
  cgrpc_loop_free(ch->loop);
  pthread_mutex_destroy(&ch->state_mu);
  pthread_cond_destroy(&ch->state_cv);
  cgrpc_allocator a = ch->alloc;
  cgrpc_tls_ctx_unref(ch->tls);
  cgrpc_service_config_clear(&ch->config, &a);
  cgrpc_free(&a, ch->interceptors);
  cgrpc_free(&a, ch->authority);
  cgrpc_free(&a, ch->user_agent);
  cgrpc_free(&a, ch);
}

ProtobufCAllocator *cgrpc_channel_protobuf_allocator(cgrpc_channel *ch)
{
  if (ch == NULL || ch->pb_alloc_default)
    return NULL;
  return &ch->pb_alloc;
}
