/* Channels: the target, the I/O thread, and the connection calls go out on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrpc/version.h>

#include "alloc.h"
#include "channel_internal.h"
#include "client_call.h"
#include "compress.h"

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
  *out = o;
  return 0;
}

void cgrpc_channel_options_free(cgrpc_channel_options *o)
{
  if (o == NULL)
    return;
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
  char *copy = NULL;
  if (json != NULL) {
    cgrpc_allocator a; /* only to validate it: the channel parses it again */
    cgrpc_alloc_init(&a, NULL);
    cgrpc_service_config sc;
    int rv = cgrpc_service_config_parse(&sc, &a, json, err, errlen);
    if (rv != 0)
      return rv;
    cgrpc_service_config_clear(&sc, &a);
    copy = strdup(json);
    if (copy == NULL)
      return CGRPC_ERR_NOMEM;
  }
  free(o->service_config);
  o->service_config = copy;
  return 0;
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

static int channel_replace_string(char **dst, const char *s)
{
  char *copy = s != NULL ? strdup(s) : NULL;
  if (s != NULL && copy == NULL)
    return CGRPC_ERR_NOMEM;
  free(*dst);
  *dst = copy;
  return 0;
}

int cgrpc_channel_options_set_authority(cgrpc_channel_options *o, const char *authority)
{
  return o == NULL ? CGRPC_ERR_INVALID_ARGUMENT : channel_replace_string(&o->authority, authority);
}

int cgrpc_channel_options_set_user_agent(cgrpc_channel_options *o, const char *prefix)
{
  return o == NULL ? CGRPC_ERR_INVALID_ARGUMENT : channel_replace_string(&o->user_agent, prefix);
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

static int channel_parse_target(cgrpc_channel *ch, const char *target)
{
  const char *port;
  if (strncmp(target, "unix:", 5) == 0) {
    const char *path = target + 5;
    if (strncmp(path, "//", 2) == 0)
      path += 2; /* unix:///abs/path */
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof ch->unix_path)
      return CGRPC_ERR_BAD_TARGET;
    memcpy(ch->unix_path, path, len + 1);
    ch->is_unix = 1;
    return 0;
  }
  if (strncmp(target, "dns:///", 7) == 0)
    target += 7;
  else if (strncmp(target, "ipv4:", 5) == 0 || strncmp(target, "ipv6:", 5) == 0)
    target += 5;
  if (cgrpc_sock_split_host_port(target, ch->host, sizeof ch->host, &port) != 0 ||
      strlen(port) >= sizeof ch->port)
    return CGRPC_ERR_BAD_TARGET;
  strcpy(ch->port, port);
  return 0;
}

/* ---- connections (loop thread) ----------------------------------------------------- */

static void channel_fail_pending(cgrpc_channel *ch, cgrpc_code code, const char *why)
{
  while (!cgrpc_list_empty(&ch->pending)) {
    cgrpc_call *call = cgrpc_container_of(ch->pending.next, cgrpc_call, node);
    cgrpc_client_call_abort(call, code, "%s", why);
  }
}

static void channel_connect(cgrpc_channel *ch);

static void channel_on_connected(cgrpc_conn *conn, int err)
{
  cgrpc_channel *ch = conn->owner;
  (void)err; /* failures arrive as dead */
  cgrpc_loop_timer_stop(ch->loop, &ch->connect_timer);
  ch->cur_backoff_ms = ch->connect_backoff.initial_ms; /* connected: the backoff starts over */
  ch->reconnect_at = 0;
  static const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 4 * 1024 * 1024},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 64 * 1024},
  };
  if (cgrpc_conn_start(conn, settings, sizeof settings / sizeof settings[0]) != 0) {
    cgrpc_conn_fail(conn, "cannot start the HTTP/2 session");
    return;
  }
  cgrpc_keepalive_start(conn, &ch->keepalive);
  ch->next_addr = 0;
  while (!cgrpc_list_empty(&ch->pending)) {
    cgrpc_call *call = cgrpc_container_of(ch->pending.next, cgrpc_call, node);
    cgrpc_list_remove(&call->node);
    cgrpc_client_call_submit(call, conn);
  }
}

static void channel_on_goaway(cgrpc_conn *conn, uint32_t error_code)
{
  cgrpc_channel *ch = conn->owner;
  (void)error_code;
  /* A8: the server found our pings too frequent: halve their rate for the connections to come. */
  if (conn->ka.too_many_pings && ch->keepalive.time_ms > 0 && ch->keepalive.time_ms < INT64_MAX / 2)
    ch->keepalive.time_ms *= 2;
  if (ch->conn == conn)
    ch->conn = NULL; /* new calls go to a new connection */
}

/* TRANSIENT_FAILURE: no connect attempt before the backoff delay (with jitter) passes, and
 * the next delay grows by the multiplier, up to the max. */
static void channel_back_off(cgrpc_channel *ch, const char *why)
{
  cgrpc_connect_backoff *b = &ch->connect_backoff;
  double j = b->jitter * (2 * cgrpc_retry_uniform(&ch->rng) - 1);
  int64_t delay = (int64_t)((double)ch->cur_backoff_ms * (1 + j));
  ch->reconnect_at = cgrpc_now() + CGRPC_MS_TO_NS(delay);
  snprintf(ch->tf_why, sizeof ch->tf_why, "%.300s", why);
  double next = (double)ch->cur_backoff_ms * b->multiplier;
  ch->cur_backoff_ms = next < (double)b->max_ms ? (int64_t)next : b->max_ms;
}

static void channel_on_dead(cgrpc_conn *conn)
{
  cgrpc_channel *ch = conn->owner;
  int was_current = ch->conn == conn;
  int never_connected = !conn->established;
  if (was_current) {
    ch->conn = NULL;
    cgrpc_loop_timer_stop(ch->loop, &ch->connect_timer);
  }
  cgrpc_list_remove(&conn->owner_node);
  char why[sizeof conn->error + sizeof ch->host + 64];
  snprintf(why, sizeof why, "failed to connect to %s: %s", ch->is_unix ? ch->unix_path : ch->host,
           conn->error);
  cgrpc_conn_free(conn);
  if (was_current && never_connected && ch->next_addr >= ch->naddrs && !ch->shutting_down)
    channel_back_off(ch, why); /* every address failed: TRANSIENT_FAILURE */
  if (was_current && !cgrpc_list_empty(&ch->pending)) {
    /* The connection died before it could carry the waiting calls: try the
     * next address, and when none is left, fail them. */
    if (!ch->shutting_down && ch->next_addr < ch->naddrs)
      channel_connect(ch);
    else
      channel_fail_pending(ch, CGRPC_STATUS_UNAVAILABLE, why);
  }
  if (ch->shutting_down && cgrpc_list_empty(&ch->conns))
    cgrpc_loop_stop(ch->loop);
}

static void channel_connect_timeout(void *ud)
{
  cgrpc_channel *ch = ud;
  if (ch->conn != NULL && ch->conn->connecting)
    cgrpc_conn_fail(ch->conn, "connect timed out");
}

static const cgrpc_conn_events channel_conn_events = {
    channel_on_connected,
    channel_on_goaway,
    channel_on_dead,
    cgrpc_client_conn_fail_streams,
};

/* Opens a connection to the next address; the pending calls wait for it. */
static void channel_connect(cgrpc_channel *ch)
{
  char why[300];
  if (ch->next_addr == 0 || ch->next_addr >= ch->naddrs) {
    ch->next_addr = 0;
    ch->naddrs = ch->is_unix ? cgrpc_sock_unix_addr(ch->unix_path, &ch->addrs[0]) == 0
                             : cgrpc_sock_resolve(ch->host, ch->port, ch->addrs,
                                                  CGRPC_CHANNEL_MAX_ADDRS);
    if (ch->is_unix && ch->naddrs == 0)
      ch->naddrs = 1;
    if (ch->naddrs <= 0) {
      ch->naddrs = 0;
      snprintf(why, sizeof why, "cannot resolve %s", ch->is_unix ? ch->unix_path : ch->host);
      channel_fail_pending(ch, CGRPC_STATUS_UNAVAILABLE, why);
      return;
    }
  }
  cgrpc_conn *conn;
  if (cgrpc_conn_new(&conn, ch->loop, &ch->alloc, NULL, 0, cgrpc_client_conn_setup,
                     &channel_conn_events, ch) != 0) {
    channel_fail_pending(ch, CGRPC_STATUS_UNAVAILABLE, "out of memory");
    return;
  }
  cgrpc_list_push_back(&ch->conns, &conn->owner_node);
  ch->conn = conn;
  /* The attempt may take max(min_connect_timeout, the current backoff). */
  int64_t limit = ch->cur_backoff_ms > ch->connect_backoff.min_connect_timeout_ms
                      ? ch->cur_backoff_ms
                      : ch->connect_backoff.min_connect_timeout_ms;
  cgrpc_loop_timer_stop(ch->loop, &ch->connect_timer);
  if (cgrpc_loop_timer_start(ch->loop, &ch->connect_timer, cgrpc_now() + CGRPC_MS_TO_NS(limit)) != 0)
    cgrpc_conn_fail(conn, "out of memory (connect timer)");
  else if (cgrpc_conn_connect(conn, &ch->addrs[ch->next_addr++]) != 0)
    cgrpc_conn_fail(conn, "connect: %s", strerror(errno));
}

void cgrpc_channel_retire_conn(cgrpc_channel *ch, cgrpc_conn *conn)
{
  if (ch->conn == conn)
    ch->conn = NULL;
  conn->goaway_received = 1; /* no new streams here */
  cgrpc_conn_goaway(conn, NGHTTP2_NO_ERROR, NULL);
}

void cgrpc_channel_start_attempt(cgrpc_channel *ch, cgrpc_call *call)
{
  if (ch->shutting_down) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_CANCELLED, "channel closed");
    return;
  }
  cgrpc_conn *conn = ch->conn;
  if (conn != NULL && !conn->dead && !conn->goaway_received && !conn->connecting) {
    cgrpc_client_call_submit(call, conn);
    return;
  }
  if (conn == NULL && ch->reconnect_at != 0) {
    cgrpc_time now = cgrpc_now();
    if (now < ch->reconnect_at) {
      /* TRANSIENT_FAILURE: fail fast (no wait_for_ready yet) until the backoff passes. */
      cgrpc_client_call_abort(call, CGRPC_STATUS_UNAVAILABLE, "%s (next attempt in %lld ms)",
                              ch->tf_why, (long long)((ch->reconnect_at - now) / 1000000));
      return;
    }
    ch->reconnect_at = 0;
  }
  cgrpc_list_push_back(&ch->pending, &call->node);
  if (conn == NULL)
    channel_connect(ch);
}

static void channel_shutdown_task(void *ud)
{
  cgrpc_channel *ch = ud;
  ch->shutting_down = 1;
  cgrpc_loop_timer_stop(ch->loop, &ch->connect_timer);
  channel_fail_pending(ch, CGRPC_STATUS_CANCELLED, "channel closed");
  cgrpc_retry_fail_backoffs(ch, CGRPC_STATUS_CANCELLED, "channel closed");
  for (cgrpc_list *n = ch->conns.next; n != &ch->conns; n = n->next) {
    cgrpc_conn *conn = cgrpc_container_of(n, cgrpc_conn, owner_node);
    while (!cgrpc_list_empty(&conn->streams)) {
      cgrpc_call *call = cgrpc_container_of(conn->streams.next, cgrpc_call, node);
      cgrpc_client_call_abort(call, CGRPC_STATUS_CANCELLED, "channel closed");
    }
    cgrpc_conn_fail(conn, "channel closed");
  }
  if (cgrpc_list_empty(&ch->conns))
    cgrpc_loop_stop(ch->loop);
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
  cgrpc_list_init(&ch->conns);
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
  ch->max_recv = opts != NULL ? opts->max_recv : CGRPC_DEFAULT_MAX_RECV;
  ch->max_send = opts != NULL ? opts->max_send : -1;
  ch->compression = opts != NULL ? opts->compression : CGRPC_ENCODING_IDENTITY;
  ch->connect_backoff = opts != NULL ? opts->connect_backoff : default_connect_backoff;
  ch->cur_backoff_ms = ch->connect_backoff.initial_ms;
  cgrpc_timer_init(&ch->connect_timer, channel_connect_timeout, ch);
  if (opts != NULL)
    ch->keepalive = opts->keepalive;

  int rv = channel_parse_target(ch, target);
  if (rv != 0)
    goto fail;
  rv = CGRPC_ERR_NOMEM;
  if (opts != NULL && opts->authority != NULL)
    ch->authority = cgrpc_strdup(&a, opts->authority);
  else if (ch->is_unix)
    ch->authority = cgrpc_strdup(&a, "localhost");
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
  rv = cgrpc_loop_start_thread(ch->loop, "cgrpc-channel");
  if (rv != 0)
    goto fail;
  *out = ch;
  return 0;
fail:
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
  cgrpc_loop_free(ch->loop);
  cgrpc_allocator a = ch->alloc;
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
