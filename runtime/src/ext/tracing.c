/* Tracing: each call's place in a W3C trace, its span, and the span's end reported. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cgrpc/extension.h>
#include <cgrpc/interceptor.h>

#include "base/rand.h"
#include "ext/accesslog_internal.h"
#include "ext/tracing_internal.h"
#include "ext/traceparent.h"

/* ---- ids ----------------------------------------------------------------------------------- */

/* splitmix64 per thread, seeded from the kernel: ids unique in practice, no syscall per call. */
static uint64_t next_random(void)
{
  static __thread uint64_t state;
  if (state == 0)
    state = cgrpc_rand_seed();
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void random_id(uint8_t *out, size_t n)
{
  do {
    for (size_t i = 0; i < n; i += 8) {
      uint64_t r = next_random();
      memcpy(out + i, &r, n - i < 8 ? n - i : 8);
    }
  } while (out[0] == 0 && memcmp(out, out + 1, n - 1) == 0); /* never all zero */
}

int64_t cgrpc_tracing_wall_ns(cgrpc_time t)
{
  struct timespec real;
  clock_gettime(CLOCK_REALTIME, &real);
  return (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - (cgrpc_now() - t);
}

/* ---- the object ---------------------------------------------------------------------------- */

int cgrpc_tracing_new(cgrpc_tracing **out)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_tracing *t = calloc(1, sizeof *t);
  if (t == NULL)
    return CGRPC_ERR_NOMEM;
  t->ratio = 1.0;
  *out = t;
  return 0;
}

void cgrpc_tracing_free(cgrpc_tracing *t)
{
  if (t == NULL)
    return;
  cgrpc_access_log_free(t->exporter); /* writes what is queued */
  if (t->file != NULL)
    fclose(t->file);
  free(t->service_name);
  free(t);
}

int cgrpc_tracing_set_sample_ratio(cgrpc_tracing *t, double ratio)
{
  if (t == NULL || !(ratio >= 0 && ratio <= 1))
    return CGRPC_ERR_INVALID_ARGUMENT;
  __atomic_store(&t->ratio, &ratio, __ATOMIC_RELAXED);
  return 0;
}

void cgrpc_tracing_set_span_callback(cgrpc_tracing *t, cgrpc_span_fn fn, void *user_data)
{
  if (t == NULL)
    return;
  t->fn = fn;
  t->fn_ud = user_data;
}

/* ---- spans --------------------------------------------------------------------------------- */

static span_state *span_new(cgrpc_tracing *t, const char *prefix, const char *path,
                            cgrpc_time start)
{
  span_state *s = calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  pthread_mutex_init(&s->mu, NULL);
  s->t = t;
  s->start_unix_nano = cgrpc_tracing_wall_ns(start);
  /* "/pkg.Service/Method" -> "Recv.pkg.Service.Method" */
  snprintf(s->name, sizeof s->name, "%s.%s", prefix, path != NULL && path[0] == '/' ? path + 1 : "");
  char *slash = strchr(s->name + strlen(prefix) + 1, '/');
  if (slash != NULL)
    *slash = '.';
  random_id(s->span_id, sizeof s->span_id);
  return s;
}

/* A new trace: a random id, sampled at the ratio. */
static void span_new_trace(span_state *s)
{
  random_id(s->trace_id, sizeof s->trace_id);
  double u = (double)(next_random() >> 11) / 9007199254740992.0, ratio;
  __atomic_load(&s->t->ratio, &ratio, __ATOMIC_RELAXED);
  s->flags = u < ratio ? 1 : 0;
}

static void span_free(void *p)
{
  span_state *s = p;
  if (s == NULL)
    return;
  pthread_mutex_destroy(&s->mu);
  free(s->events);
  free(s);
}

static void span_event(span_state *s, int outbound, const ProtobufCMessage *msg)
{
  if (s == NULL || !(s->flags & 1))
    return;
  size_t size = protobuf_c_message_get_packed_size(msg);
  int64_t now = cgrpc_tracing_wall_ns(cgrpc_now());
  pthread_mutex_lock(&s->mu);
  uint32_t seq = outbound ? s->seq_out++ : s->seq_in++;
  if (s->nevents == s->cap && s->cap < CGRPC_SPAN_MAX_EVENTS) {
    size_t cap = s->cap ? s->cap * 2 : 4;
    cgrpc_span_event *ev = realloc(s->events, cap * sizeof *ev);
    if (ev != NULL) {
      s->events = ev;
      s->cap = cap;
    }
  }
  if (s->nevents < s->cap)
    s->events[s->nevents++] = (cgrpc_span_event){now, outbound, seq, size};
  else
    s->dropped++;
  pthread_mutex_unlock(&s->mu);
}

/* The span is over: report it if sampled. */
static void span_end(span_state *s, int server, cgrpc_code code, const char *message,
                     const char *peer, int attempts, int transparent, int previous)
{
  if (!(s->flags & 1) || (s->t->fn == NULL && s->t->exporter == NULL))
    return;
  cgrpc_span sp = {
      .name = s->name,
      .server = server,
      .start_unix_nano = s->start_unix_nano,
      .end_unix_nano = cgrpc_tracing_wall_ns(cgrpc_now()),
      .code = code,
      .message = message != NULL ? message : "",
      .peer = peer != NULL ? peer : "",
      .attempts = attempts,
      .transparent_retries = transparent,
      .previous_rpc_attempts = previous,
  };
  cgrpc_hex(s->trace_id, sizeof s->trace_id, sp.trace_id);
  cgrpc_hex(s->span_id, sizeof s->span_id, sp.span_id);
  if (s->has_parent)
    cgrpc_hex(s->parent_id, sizeof s->parent_id, sp.parent_span_id);
  pthread_mutex_lock(&s->mu); /* a stream's last message may still be counted */
  sp.nevents = s->nevents;
  sp.dropped_events = s->dropped;
  sp.events = s->events;
  if (s->t->fn != NULL)
    s->t->fn(&sp, s->t->fn_ud);
  if (s->t->exporter != NULL)
    cgrpc_tracing_export(s->t, &sp);
  pthread_mutex_unlock(&s->mu);
}

/* ---- server -------------------------------------------------------------------------------- */

static const char server_kind = 0; /* the attachment's kind */

static void server_start(cgrpc_server_call *call, void *ud)
{
  cgrpc_tracing *t = ud;
  span_state *s = span_new(t, "Recv", cgrpc_server_call_path(call),
                           cgrpc_server_call_start_time(call));
  if (s != NULL) {
    const cgrpc_metadata *md = cgrpc_server_call_metadata(call);
    const char *tp = cgrpc_metadata_get(md, "traceparent");
    cgrpc_traceparent in;
    if (tp != NULL && cgrpc_traceparent_parse(tp, strlen(tp), &in)) {
      memcpy(s->trace_id, in.trace_id, sizeof s->trace_id);
      memcpy(s->parent_id, in.parent_id, sizeof s->parent_id);
      s->has_parent = 1;
      s->flags = in.flags;
      const char *ts = cgrpc_metadata_get(md, "tracestate");
      if (ts != NULL && strlen(ts) < sizeof s->tracestate) /* longer: dropped, as allowed */
        snprintf(s->tracestate, sizeof s->tracestate, "%s", ts);
    } else {
      span_new_trace(s); /* none, or invalid (its tracestate goes with it) */
    }
    cgrpc_server_call_attach(call, &server_kind, s, span_free);
  }
  cgrpc_server_call_proceed(call, NULL, NULL);
}

static span_state *server_span(const cgrpc_server_call *call)
{
  return cgrpc_server_call_attachment(call, &server_kind);
}

static void server_on_recv(cgrpc_server_call *call, const ProtobufCMessage *msg, void *ud)
{
  (void)ud;
  span_event(server_span(call), 0, msg);
}

static void server_on_send(cgrpc_server_call *call, const ProtobufCMessage *msg, void *ud)
{
  (void)ud;
  span_event(server_span(call), 1, msg);
}

static void server_on_done(cgrpc_server_call *call, cgrpc_code code, const char *message,
                           void *ud)
{
  (void)ud;
  span_state *s = server_span(call);
  if (s == NULL)
    return;
  span_end(s, 1, code, message, cgrpc_go_peer_address(cgrpc_server_call_peer(call)), 1, 0,
           cgrpc_server_call_previous_attempts(call));
}

int cgrpc_tracing_attach_server(cgrpc_tracing *t, cgrpc_server_options *opts)
{
  if (t == NULL || opts == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  static const cgrpc_server_interceptor_hooks hooks = {.start = server_start,
                                                       .on_recv = server_on_recv,
                                                       .on_send = server_on_send,
                                                       .on_done = server_on_done};
  return cgrpc_server_options_add_interceptor_hooks(opts, &hooks, t);
}

int cgrpc_tracing_server_ids(const cgrpc_server_call *call, char trace_id[33], char span_id[17],
                             int *sampled)
{
  span_state *s = call != NULL ? server_span(call) : NULL;
  if (s == NULL)
    return 0;
  if (trace_id != NULL)
    cgrpc_hex(s->trace_id, sizeof s->trace_id, trace_id);
  if (span_id != NULL)
    cgrpc_hex(s->span_id, sizeof s->span_id, span_id);
  if (sampled != NULL)
    *sampled = s->flags & 1;
  return 1;
}

/* ---- client -------------------------------------------------------------------------------- */

/* The call's span, made on first use: a unary call's on_send comes just before start. */
static span_state *client_span(cgrpc_client_ctx *ctx, cgrpc_tracing *t)
{
  span_state *s = cgrpc_client_ctx_data(ctx);
  if (s != NULL)
    return s;
  const cgrpc_method_desc *desc = cgrpc_client_ctx_method(ctx);
  s = span_new(t, "Sent", desc != NULL ? desc->path : NULL, cgrpc_client_ctx_start_time(ctx));
  if (s == NULL)
    return NULL;
  const cgrpc_server_call *parent = cgrpc_client_ctx_parent(ctx);
  span_state *up = parent != NULL ? server_span(parent) : NULL;
  if (up != NULL) { /* made inside a traced handler: its child */
    memcpy(s->trace_id, up->trace_id, sizeof s->trace_id);
    memcpy(s->parent_id, up->span_id, sizeof s->parent_id);
    s->has_parent = 1;
    s->flags = up->flags;
    memcpy(s->tracestate, up->tracestate, sizeof s->tracestate);
  } else {
    span_new_trace(s);
  }
  cgrpc_client_ctx_set_data(ctx, s);
  return s;
}

static void client_start(cgrpc_client_ctx *ctx, void *ud)
{
  span_state *s = client_span(ctx, ud);
  cgrpc_metadata *md = cgrpc_client_ctx_metadata(ctx);
  if (s != NULL && md != NULL) {
    cgrpc_traceparent out;
    memcpy(out.trace_id, s->trace_id, sizeof out.trace_id);
    memcpy(out.parent_id, s->span_id, sizeof out.parent_id); /* we are the callee's parent */
    out.flags = s->flags;
    char buf[CGRPC_TRACEPARENT_LEN + 1];
    cgrpc_traceparent_format(&out, buf);
    cgrpc_metadata_add(md, "traceparent", buf, CGRPC_TRACEPARENT_LEN);
    if (s->tracestate[0] != '\0')
      cgrpc_metadata_add_str(md, "tracestate", s->tracestate);
  }
  cgrpc_client_ctx_proceed(ctx, NULL, NULL);
}

static void client_on_send(cgrpc_client_ctx *ctx, const ProtobufCMessage *msg, void *ud)
{
  span_event(client_span(ctx, ud), 1, msg);
}

static void client_on_recv(cgrpc_client_ctx *ctx, const ProtobufCMessage *msg, void *ud)
{
  span_event(cgrpc_client_ctx_data(ctx), 0, msg);
  (void)ud;
}

static void client_on_done(cgrpc_client_ctx *ctx, const cgrpc_status *status, void *ud)
{
  (void)ud;
  span_state *s = cgrpc_client_ctx_data(ctx);
  if (s == NULL)
    return;
  span_end(s, 0, status->code, status->message,
           cgrpc_channel_authority(cgrpc_client_ctx_channel(ctx)), status->attempts,
           status->transparent_retries, status->attempts > 0 ? status->attempts - 1 : 0);
  cgrpc_client_ctx_set_data(ctx, NULL);
  span_free(s);
}

int cgrpc_tracing_attach_channel(cgrpc_tracing *t, cgrpc_channel_options *opts)
{
  if (t == NULL || opts == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  static const cgrpc_client_interceptor_hooks hooks = {.start = client_start,
                                                       .on_send = client_on_send,
                                                       .on_recv = client_on_recv,
                                                       .on_done = client_on_done};
  return cgrpc_channel_options_add_interceptor_hooks(opts, &hooks, t);
}
