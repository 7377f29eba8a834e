/* Server options: setters over one defaults object. */
#include <stdlib.h>

#include "base/alloc.h"
#include "server/server_core.h"

const cgrpc_server_options cgrpc_server_options_defaults = {
    .max_recv = 4 * 1024 * 1024, /* gRPC's default */
    .max_send = -1,
    .handler_threads = -1,
    .stream_handler_threads = 1024,
    /* Below max_concurrent_streams: one connection takes at most 1/16 of the pool. */
    .stream_handlers_per_conn = 64,
    .max_concurrent_streams = 100,
    /* Generous for clients that cancel a lot (every passed deadline is a reset); a flood
     * of resets across reconnects is held to this. */
    .glitch_burst = 20000,
    .glitch_rate = 5000,
    /* Per connection: eight messages of the default largest size held inflated (four being
     * inflated), or queued unsent. */
    .inflate_budget = 32 * 1024 * 1024,
    .unsent_budget = 32 * 1024 * 1024,
    /* A 16 KiB frame at 820 bytes/s; a header block a byte a second is cut off. */
    .frame_timeout_ms = 20000,
    .keepalive =
        {
            .time_ms = CGRPC_SERVER_KEEPALIVE_TIME_MS_DEFAULT,
            .timeout_ms = CGRPC_KEEPALIVE_TIMEOUT_MS_DEFAULT,
            .min_ping_interval_ms = CGRPC_SERVER_MIN_PING_INTERVAL_MS_DEFAULT,
        },
};

int cgrpc_server_options_new(cgrpc_server_options **out)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_server_options *o = malloc(sizeof *o);
  if (o == NULL)
    return CGRPC_ERR_NOMEM;
  *o = cgrpc_server_options_defaults;
  *out = o;
  return 0;
}

void cgrpc_server_options_free(cgrpc_server_options *o)
{
  if (o == NULL)
    return;
  free(o->interceptors);
  free(o);
}

void cgrpc_server_options_set_max_recv_message_size(cgrpc_server_options *o, int64_t bytes)
{
  if (o != NULL)
    o->max_recv = bytes < 0 ? -1 : bytes;
}

void cgrpc_server_options_set_max_send_message_size(cgrpc_server_options *o, int64_t bytes)
{
  if (o != NULL)
    o->max_send = bytes < 0 ? -1 : bytes;
}

void cgrpc_server_options_set_handler_threads(cgrpc_server_options *o, int threads)
{
  if (o != NULL)
    o->handler_threads = threads < 0 ? -1 : threads;
}

int cgrpc_server_options_set_keepalive(cgrpc_server_options *o, int64_t time_ms,
                                       int64_t timeout_ms)
{
  if (o == NULL || time_ms < 0 || timeout_ms < 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->keepalive.time_ms = time_ms;
  o->keepalive.timeout_ms = timeout_ms > 0 ? timeout_ms : CGRPC_KEEPALIVE_TIMEOUT_MS_DEFAULT;
  return 0;
}

int cgrpc_server_options_set_max_connection_idle(cgrpc_server_options *o, int64_t ms)
{
  if (o == NULL || ms < 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->age.idle_ms = ms;
  return 0;
}

int cgrpc_server_options_set_max_connection_age(cgrpc_server_options *o, int64_t age_ms,
                                                int64_t grace_ms)
{
  if (o == NULL || age_ms < 0 || grace_ms < 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->age.age_ms = age_ms;
  o->age.grace_ms = grace_ms;
  return 0;
}

int cgrpc_server_options_set_keepalive_policy(cgrpc_server_options *o,
                                              int64_t min_ping_interval_ms,
                                              int permit_without_calls)
{
  if (o == NULL || min_ping_interval_ms < 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->keepalive.min_ping_interval_ms = min_ping_interval_ms;
  o->keepalive.permit_without_calls = permit_without_calls != 0;
  return 0;
}

void cgrpc_server_options_set_max_concurrent_streams(cgrpc_server_options *o, uint32_t n)
{
  if (o != NULL && n > 0)
    o->max_concurrent_streams = n;
}

int cgrpc_server_options_set_max_connections(cgrpc_server_options *o, uint32_t n)
{
  if (o == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->max_connections = n;
  return 0;
}

void cgrpc_server_options_set_allocator(cgrpc_server_options *o, const cgrpc_allocator *alloc)
{
  if (o == NULL)
    return;
  if (alloc != NULL)
    o->alloc_copy = *alloc;
  o->alloc = alloc != NULL ? &o->alloc_copy : NULL;
}

int cgrpc_server_options_add_interceptor(cgrpc_server_options *o, cgrpc_server_interceptor_fn fn,
                                         void *user_data)
{
  if (o == NULL || fn == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_server_interceptor_hooks hooks = {.start = fn};
  return cgrpc_server_options_add_interceptor_hooks(o, &hooks, user_data);
}

int cgrpc_server_options_add_interceptor_hooks(cgrpc_server_options *o,
                                               const cgrpc_server_interceptor_hooks *hooks,
                                               void *user_data)
{
  if (o == NULL || hooks == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_server_interceptor ic = {*hooks, user_data};
  return cgrpc_array_append((void **)&o->interceptors, &o->ninterceptors, sizeof ic, &ic);
}

int cgrpc_server_options_set_stream_handler_threads(cgrpc_server_options *o, int max)
{
  if (o == NULL || max < 1)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->stream_handler_threads = max;
  return 0;
}

int cgrpc_server_options_set_stream_handlers_per_connection(cgrpc_server_options *o, int max)
{
  if (o == NULL || max < 1)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->stream_handlers_per_conn = max;
  return 0;
}

int cgrpc_server_options_set_stream_start(cgrpc_server_options *o, cgrpc_stream_start when)
{
  if (o == NULL || (unsigned)when > CGRPC_STREAM_START_ON_FIRST_MESSAGE)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->stream_start = when;
  return 0;
}

int cgrpc_server_options_set_inflate_budget(cgrpc_server_options *o, size_t bytes)
{
  if (o == NULL || bytes < 1)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->inflate_budget = bytes;
  return 0;
}

int cgrpc_server_options_set_unsent_budget(cgrpc_server_options *o, size_t bytes)
{
  if (o == NULL || bytes < 1)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->unsent_budget = bytes;
  return 0;
}

int cgrpc_server_options_set_frame_timeout(cgrpc_server_options *o, int64_t ms)
{
  if (o == NULL || ms < 0)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->frame_timeout_ms = ms;
  return 0;
}

int cgrpc_server_options_set_glitch_limit(cgrpc_server_options *o, uint32_t burst,
                                          uint32_t per_second)
{
  if (o == NULL || burst < 1)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->glitch_burst = burst;
  o->glitch_rate = per_second;
  return 0;
}
