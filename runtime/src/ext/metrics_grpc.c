/* The call metrics (go-grpc-prometheus' names): interceptors for servers and channels.
 *
 * Each method's series are found once and kept in an entry per method, which the hooks find
 * by the method's descriptor in a table read without a lock (as a family's series are). */
#include <stdlib.h>
#include <string.h>

#include <cgrpc/interceptor.h>

#include "ext/metrics_internal.h"

typedef struct method_entry {
  const cgrpc_method_desc *desc;
  cgrpc_series *started, *received, *sent, *handling; /* handling: NULL when off */
  cgrpc_series *handled[CGRPC_STATUS_CODE_COUNT];     /* atomic, made on first use */
  size_t keylen;
  char key[]; /* grpc_type, grpc_service, grpc_method, each ended by '\0', then room for a code */
} method_entry;

typedef struct entry_table {
  struct entry_table *older;
  size_t cap;
  method_entry **slots; /* atomic */
} entry_table;

struct grpc_metrics {
  cgrpc_metrics *m;
  cgrpc_metric *started, *handled, *received, *sent, *handling;
  pthread_mutex_t mu; /* adding entries */
  entry_table *table; /* atomic */
  method_entry **all;
  size_t n, all_cap;
};

static const char *const camel_names[CGRPC_STATUS_CODE_COUNT] = {
    "OK",       "Canceled",          "Unknown",          "InvalidArgument",    "DeadlineExceeded",
    "NotFound", "AlreadyExists",     "PermissionDenied", "ResourceExhausted",  "FailedPrecondition",
    "Aborted",  "OutOfRange",        "Unimplemented",    "Internal",           "Unavailable",
    "DataLoss", "Unauthenticated"};

const char *cgrpc_code_camel_name(cgrpc_code code)
{
  return (unsigned)code < CGRPC_STATUS_CODE_COUNT ? camel_names[code] : "Unknown";
}

static const char *const type_labels[] = {"unary", "client_stream", "server_stream",
                                          "bidi_stream"};

/* ---- the families -------------------------------------------------------------------------- */

typedef struct side_names {
  const char *started, *handled, *received, *sent, *handling;
  const char *started_help, *handled_help, *received_help, *sent_help, *handling_help;
} side_names;

static const side_names server_names = {
    "grpc_server_started_total", "grpc_server_handled_total", "grpc_server_msg_received_total",
    "grpc_server_msg_sent_total", "grpc_server_handling_seconds",
    "Total number of RPCs started on the server.",
    "Total number of RPCs completed on the server, regardless of success or failure.",
    "Total number of RPC stream messages received on the server.",
    "Total number of gRPC stream messages sent by the server.",
    "Histogram of response latency (seconds) of gRPC that had been application-level handled "
    "by the server."};

static const side_names client_names = {
    "grpc_client_started_total", "grpc_client_handled_total", "grpc_client_msg_received_total",
    "grpc_client_msg_sent_total", "grpc_client_handling_seconds",
    "Total number of RPCs started on the client.",
    "Total number of RPCs completed by the client, regardless of success or failure.",
    "Total number of RPC stream messages received by the client.",
    "Total number of gRPC stream messages sent by the client.",
    "Histogram of response latency (seconds) of the gRPC until it is finished by the "
    "application."};

static const char *const method_labels[] = {"grpc_type", "grpc_service", "grpc_method", NULL};
static const char *const code_labels[] = {"grpc_type", "grpc_service", "grpc_method", "grpc_code",
                                          NULL};

void cgrpc_grpc_metrics_free(grpc_metrics *g)
{
  if (g == NULL)
    return;
  for (size_t i = 0; i < g->n; i++)
    free(g->all[i]);
  free(g->all);
  for (entry_table *t = g->table, *older; t != NULL; t = older) {
    older = t->older;
    free(t->slots);
    free(t);
  }
  pthread_mutex_destroy(&g->mu);
  free(g);
}

/* The side's families, made on first use.  Under m->mu.  Returns 0 or a CGRPC_ERR_*. */
static int side_make(cgrpc_metrics *m, grpc_metrics **slot, const side_names *nm)
{
  if (*slot != NULL)
    return 0;
  grpc_metrics *g = calloc(1, sizeof *g);
  if (g == NULL)
    return CGRPC_ERR_NOMEM;
  pthread_mutex_init(&g->mu, NULL);
  g->m = m;
  /* Families register under m->mu too: let go of it meanwhile (the setup is once per side,
   * and a second attach on another thread at the same moment is the caller's race). */
  pthread_mutex_unlock(&m->mu);
  int rv = cgrpc_metrics_counter(m, nm->started, nm->started_help, method_labels, &g->started);
  if (rv == 0)
    rv = cgrpc_metrics_counter(m, nm->handled, nm->handled_help, code_labels, &g->handled);
  if (rv == 0)
    rv = cgrpc_metrics_counter(m, nm->received, nm->received_help, method_labels, &g->received);
  if (rv == 0)
    rv = cgrpc_metrics_counter(m, nm->sent, nm->sent_help, method_labels, &g->sent);
  if (rv == 0 && !m->no_handling)
    rv = cgrpc_metrics_histogram(m, nm->handling, nm->handling_help, method_labels,
                                 m->handling_bounds, m->nhandling, &g->handling);
  pthread_mutex_lock(&m->mu);
  if (rv != 0) {
    cgrpc_grpc_metrics_free(g);
    return rv;
  }
  if (*slot != NULL) { /* another attach made it meanwhile */
    cgrpc_grpc_metrics_free(g);
    return 0;
  }
  *slot = g;
  return 0;
}

int cgrpc_metrics_set_handling_buckets(cgrpc_metrics *m, const double *buckets, size_t n)
{
  if (m == NULL || (n > 0 && buckets == NULL))
    return CGRPC_ERR_INVALID_ARGUMENT;
  double *copy = NULL;
  if (n > 0) {
    copy = malloc(n * sizeof *copy);
    if (copy == NULL)
      return CGRPC_ERR_NOMEM;
    memcpy(copy, buckets, n * sizeof *copy);
  }
  pthread_mutex_lock(&m->mu);
  int rv = m->server != NULL || m->client != NULL ? CGRPC_ERR_STATE : 0;
  if (rv == 0) {
    free(m->handling_bounds);
    m->handling_bounds = copy;
    m->nhandling = n;
    m->no_handling = n == 0;
    copy = NULL;
  }
  pthread_mutex_unlock(&m->mu);
  free(copy);
  return rv;
}

/* ---- entries per method ---------------------------------------------------------------- */

static size_t ptr_hash(const void *p)
{
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x;
}

static method_entry *entry_find(entry_table *t, const cgrpc_method_desc *desc)
{
  if (t == NULL)
    return NULL;
  for (size_t i = ptr_hash(desc) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    method_entry *e = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
    if (e == NULL || e->desc == desc)
      return e;
  }
}

static void entry_put(entry_table *t, method_entry *e)
{
  size_t i = ptr_hash(e->desc) & (t->cap - 1);
  while (t->slots[i] != NULL)
    i = (i + 1) & (t->cap - 1);
  __atomic_store_n(&t->slots[i], e, __ATOMIC_RELEASE);
}

/* A new entry for desc, its series made (all but the handled ones).  NULL when out of memory
 * or the path is not "/service/method". */
static method_entry *entry_new(grpc_metrics *g, const cgrpc_method_desc *desc)
{
  const char *path = desc->path;
  const char *slash = path != NULL && path[0] == '/' ? strrchr(path, '/') : NULL;
  if (slash == NULL || slash == path || (unsigned)desc->kind > CGRPC_METHOD_BIDI_STREAMING)
    return NULL;
  const char *type = type_labels[desc->kind];
  size_t tlen = strlen(type) + 1, slen = (size_t)(slash - path - 1), mlen = strlen(slash + 1);
  size_t keylen = tlen + slen + 1 + mlen + 1;
  method_entry *e = calloc(1, sizeof *e + keylen + 32);
  if (e == NULL)
    return NULL;
  e->desc = desc;
  e->keylen = keylen;
  memcpy(e->key, type, tlen);
  memcpy(e->key + tlen, path + 1, slen);
  e->key[tlen + slen] = '\0';
  memcpy(e->key + tlen + slen + 1, slash + 1, mlen + 1);
  e->started = cgrpc_metric_series_key(g->started, e->key, keylen);
  e->received = cgrpc_metric_series_key(g->received, e->key, keylen);
  e->sent = cgrpc_metric_series_key(g->sent, e->key, keylen);
  if (g->handling != NULL)
    e->handling = cgrpc_metric_series_key(g->handling, e->key, keylen);
  if (e->started == NULL || e->received == NULL || e->sent == NULL ||
      (g->handling != NULL && e->handling == NULL)) {
    free(e);
    return NULL;
  }
  return e;
}

/* desc's entry, made on first use; NULL when it cannot be (the call goes uncounted). */
static method_entry *entry_of(grpc_metrics *g, const cgrpc_method_desc *desc)
{
  if (desc == NULL)
    return NULL;
  method_entry *e = entry_find(__atomic_load_n(&g->table, __ATOMIC_ACQUIRE), desc);
  if (e != NULL)
    return e;
  pthread_mutex_lock(&g->mu);
  e = entry_find(g->table, desc);
  if (e == NULL && g->n == g->all_cap) {
    size_t cap = g->all_cap ? g->all_cap * 2 : 16;
    method_entry **all = realloc(g->all, cap * sizeof *all);
    if (all != NULL) {
      g->all = all;
      g->all_cap = cap;
    }
  }
  if (e == NULL && g->n < g->all_cap) {
    entry_table *t = g->table;
    if (t == NULL || (g->n + 1) * 2 > t->cap) {
      entry_table *bigger = calloc(1, sizeof *bigger);
      if (bigger != NULL) {
        bigger->cap = t != NULL ? t->cap * 2 : 16;
        bigger->slots = calloc(bigger->cap, sizeof *bigger->slots);
        if (bigger->slots == NULL) {
          free(bigger);
          bigger = NULL;
        }
      }
      if (bigger != NULL) {
        for (size_t i = 0; i < g->n; i++)
          entry_put(bigger, g->all[i]);
        bigger->older = t;
        __atomic_store_n(&g->table, bigger, __ATOMIC_RELEASE);
      }
    }
    if (g->table != NULL && (g->n + 1) * 2 <= g->table->cap) {
      e = entry_new(g, desc);
      if (e != NULL) {
        g->all[g->n++] = e;
        entry_put(g->table, e);
      }
    }
  }
  pthread_mutex_unlock(&g->mu);
  return e;
}

/* The handled series of e for code. */
static cgrpc_series *entry_handled(grpc_metrics *g, method_entry *e, cgrpc_code code)
{
  if ((unsigned)code >= CGRPC_STATUS_CODE_COUNT)
    code = CGRPC_STATUS_UNKNOWN;
  cgrpc_series *s = __atomic_load_n(&e->handled[code], __ATOMIC_ACQUIRE);
  if (s != NULL)
    return s;
  char key[512];
  const char *name = camel_names[code];
  size_t nlen = strlen(name) + 1;
  if (e->keylen + nlen > sizeof key)
    return NULL;
  memcpy(key, e->key, e->keylen);
  memcpy(key + e->keylen, name, nlen);
  s = cgrpc_metric_series_key(g->handled, key, e->keylen + nlen);
  if (s != NULL)
    __atomic_store_n(&e->handled[code], s, __ATOMIC_RELEASE);
  return s;
}

static void entry_done(grpc_metrics *g, method_entry *e, cgrpc_code code, cgrpc_time start)
{
  cgrpc_series_inc(entry_handled(g, e, code));
  if (e->handling != NULL)
    cgrpc_series_observe(e->handling, (double)(cgrpc_now() - start) / 1e9);
}

int cgrpc_metrics_init_methods(cgrpc_metrics *m, const cgrpc_method_desc *methods, size_t n,
                               int server)
{
  if (m == NULL || (n > 0 && methods == NULL))
    return CGRPC_ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&m->mu);
  int rv = server ? side_make(m, &m->server, &server_names)
                  : side_make(m, &m->client, &client_names);
  grpc_metrics *g = server ? m->server : m->client;
  pthread_mutex_unlock(&m->mu);
  for (size_t i = 0; rv == 0 && i < n; i++) {
    method_entry *e = entry_of(g, &methods[i]);
    if (e == NULL)
      return methods[i].path == NULL ? CGRPC_ERR_INVALID_ARGUMENT : CGRPC_ERR_NOMEM;
    for (int c = 0; c < CGRPC_STATUS_CODE_COUNT; c++)
      if (entry_handled(g, e, (cgrpc_code)c) == NULL)
        return CGRPC_ERR_NOMEM;
  }
  return rv;
}

/* ---- the server's interceptor -------------------------------------------------------- */

static void server_start(cgrpc_server_call *call, void *ud)
{
  method_entry *e = entry_of(ud, cgrpc_server_call_method(call));
  if (e != NULL)
    cgrpc_series_inc(e->started);
  cgrpc_server_call_proceed(call, NULL, NULL);
}

static void server_on_recv(cgrpc_server_call *call, const ProtobufCMessage *msg, void *ud)
{
  (void)msg;
  method_entry *e = entry_of(ud, cgrpc_server_call_method(call));
  if (e != NULL)
    cgrpc_series_inc(e->received);
}

static void server_on_send(cgrpc_server_call *call, const ProtobufCMessage *msg, void *ud)
{
  (void)msg;
  method_entry *e = entry_of(ud, cgrpc_server_call_method(call));
  if (e != NULL)
    cgrpc_series_inc(e->sent);
}

static void server_on_done(cgrpc_server_call *call, cgrpc_code code, const char *message,
                           void *ud)
{
  (void)message;
  method_entry *e = entry_of(ud, cgrpc_server_call_method(call));
  if (e != NULL)
    entry_done(ud, e, code, cgrpc_server_call_start_time(call));
}

int cgrpc_metrics_attach_server(cgrpc_metrics *m, cgrpc_server_options *opts)
{
  if (m == NULL || opts == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&m->mu);
  int rv = side_make(m, &m->server, &server_names);
  pthread_mutex_unlock(&m->mu);
  if (rv != 0)
    return rv;
  static const cgrpc_server_interceptor_hooks hooks = {.start = server_start,
                                                       .on_recv = server_on_recv,
                                                       .on_send = server_on_send,
                                                       .on_done = server_on_done};
  return cgrpc_server_options_add_interceptor_hooks(opts, &hooks, m->server);
}

/* ---- the channel's interceptor --------------------------------------------------------- */

static void client_start(cgrpc_client_ctx *ctx, void *ud)
{
  method_entry *e = entry_of(ud, cgrpc_client_ctx_method(ctx));
  if (e != NULL)
    cgrpc_series_inc(e->started);
  cgrpc_client_ctx_proceed(ctx, NULL, NULL);
}

static void client_on_send(cgrpc_client_ctx *ctx, const ProtobufCMessage *msg, void *ud)
{
  (void)msg;
  method_entry *e = entry_of(ud, cgrpc_client_ctx_method(ctx));
  if (e != NULL)
    cgrpc_series_inc(e->sent);
}

static void client_on_recv(cgrpc_client_ctx *ctx, const ProtobufCMessage *msg, void *ud)
{
  (void)msg;
  method_entry *e = entry_of(ud, cgrpc_client_ctx_method(ctx));
  if (e != NULL)
    cgrpc_series_inc(e->received);
}

static void client_on_done(cgrpc_client_ctx *ctx, const cgrpc_status *status, void *ud)
{
  method_entry *e = entry_of(ud, cgrpc_client_ctx_method(ctx));
  if (e != NULL)
    entry_done(ud, e, status->code, cgrpc_client_ctx_start_time(ctx));
}

int cgrpc_metrics_attach_channel(cgrpc_metrics *m, cgrpc_channel_options *opts)
{
  if (m == NULL || opts == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&m->mu);
  int rv = side_make(m, &m->client, &client_names);
  pthread_mutex_unlock(&m->mu);
  if (rv != 0)
    return rv;
  static const cgrpc_client_interceptor_hooks hooks = {.start = client_start,
                                                       .on_send = client_on_send,
                                                       .on_recv = client_on_recv,
                                                       .on_done = client_on_done};
  return cgrpc_channel_options_add_interceptor_hooks(opts, &hooks, m->client);
}
