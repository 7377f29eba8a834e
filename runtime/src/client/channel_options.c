/* Channel options: setters over one defaults object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "client/options.h"
#include "client/service_config.h"
#include "transport/tls.h"
#include "wire/compress.h"

const cgrpc_channel_options cgrpc_channel_options_defaults = {
    .max_recv = 4 * 1024 * 1024, /* gRPC's default */
    .max_send = -1,
    .compression = CGRPC_ENCODING_IDENTITY,
    .connect_backoff = {1000, 1.6, 0.2, 120000, 20000}, /* doc/connection-backoff.md */
    .lb_policy = CGRPC_LB_PICK_FIRST,
    .pool_size = 1,
    .pool_max = 8,
};

int cgrpc_channel_options_new(cgrpc_channel_options **out)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_channel_options *o = malloc(sizeof *o);
  if (o == NULL)
    return CGRPC_ERR_NOMEM;
  *o = cgrpc_channel_options_defaults;
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
  cgrpc_call_creds c = {fn, user_data, allow_insecure != 0};
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

int cgrpc_channel_options_set_max_pings_without_data(cgrpc_channel_options *o, int max_pings)
{
  if (o == NULL || max_pings < 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->keepalive.max_pings_without_data = max_pings > 0 ? max_pings : -1;
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
  if (alloc != NULL)
    o->alloc_copy = *alloc;
  o->alloc = alloc != NULL ? &o->alloc_copy : NULL;
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
  cgrpc_client_interceptor_hooks hooks = {.start = fn};
  return cgrpc_channel_options_add_interceptor_hooks(o, &hooks, user_data);
}

int cgrpc_channel_options_add_interceptor_hooks(cgrpc_channel_options *o,
                                                const cgrpc_client_interceptor_hooks *hooks,
                                                void *user_data)
{
  if (o == NULL || hooks == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_client_interceptor ic = {*hooks, user_data};
  return cgrpc_array_append((void **)&o->interceptors, &o->ninterceptors, sizeof ic, &ic);
}
