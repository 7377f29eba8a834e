/* The dedup helper: a server interceptor that runs a handler once per idempotency key. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cgrpc/extension.h>

#include "base/alloc.h"
#include "ext/dedup_memory.h"

#define DEDUP_NSTATS 6 /* the helper's own: EXECUTED .. UNKEYED */

struct cgrpc_dedup_options {
  int64_t ttl_ms;
  size_t max_entries;
  size_t max_bytes;
  uint32_t stored_codes;
  int idempotent_methods;
  int64_t poll_ms;
  int max_waiting;
  cgrpc_dedup_store store;
  void *store_ud;
  int has_store;
  cgrpc_allocator alloc;
  char **methods;
  size_t nmethods;
  char **services;
  size_t nservices;
};

struct cgrpc_dedup {
  cgrpc_allocator alloc;
  int64_t ttl_ms;
  uint32_t stored_codes;
  int idempotent_methods;
  int64_t poll_ms;
  int max_waiting; /* duplicates that may wait at once */
  int waiting;     /* under mu */
  cgrpc_dedup_store store;
  void *store_ud;
  cgrpc_dedup_memory *mem; /* the default store, when in use */
  char **methods;
  size_t nmethods;
  char **services;
  size_t nservices;

  /* Waiting duplicates sleep on cond until gen moves: a claim ended here. */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  uint64_t gen;

  uint64_t stats[DEDUP_NSTATS]; /* atomic */
};

/* One keyed call, in its arena. */
typedef struct dedup_call {
  cgrpc_dedup *d;
  size_t key_len;
  char key[]; /* "<path> <idempotency key>" */
} dedup_call;

/* ---- options ------------------------------------------------------------------------------- */

int cgrpc_dedup_options_new(cgrpc_dedup_options **out)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_dedup_options *o = calloc(1, sizeof *o);
  if (o == NULL)
    return CGRPC_ERR_NOMEM;
  o->ttl_ms = 60 * 60 * 1000;
  o->max_entries = 10000;
  o->max_bytes = 16 * 1024 * 1024;
  o->stored_codes = CGRPC_DEDUP_STORED_CODES;
  o->idempotent_methods = 1;
  o->poll_ms = 100;
  o->max_waiting = CGRPC_DEDUP_MAX_WAITING_DEFAULT;
  cgrpc_alloc_init(&o->alloc, NULL);
  *out = o;
  return 0;
}

static void dedup_strings_free(char **s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(s[i]);
  free(s);
}

void cgrpc_dedup_options_free(cgrpc_dedup_options *o)
{
  if (o == NULL)
    return;
  dedup_strings_free(o->methods, o->nmethods);
  dedup_strings_free(o->services, o->nservices);
  free(o);
}

void cgrpc_dedup_options_set_ttl_ms(cgrpc_dedup_options *o, int64_t ttl_ms)
{
  if (o != NULL && ttl_ms > 0)
    o->ttl_ms = ttl_ms;
}

void cgrpc_dedup_options_set_max_entries(cgrpc_dedup_options *o, size_t n)
{
  if (o != NULL)
    o->max_entries = n;
}

void cgrpc_dedup_options_set_max_bytes(cgrpc_dedup_options *o, size_t bytes)
{
  if (o != NULL)
    o->max_bytes = bytes;
}

void cgrpc_dedup_options_set_stored_codes(cgrpc_dedup_options *o, uint32_t codes)
{
  if (o != NULL)
    o->stored_codes = codes | CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_OK);
}

void cgrpc_dedup_options_set_idempotent_methods(cgrpc_dedup_options *o, int on)
{
  if (o != NULL)
    o->idempotent_methods = on != 0;
}

void cgrpc_dedup_options_set_max_waiting(cgrpc_dedup_options *o, int n)
{
  if (o != NULL && n >= 0)
    o->max_waiting = n;
}

void cgrpc_dedup_options_set_poll_ms(cgrpc_dedup_options *o, int64_t ms)
{
  if (o != NULL && ms > 0)
    o->poll_ms = ms;
}

static int dedup_strings_add(char ***s, size_t *n, const char *value)
{
  char *copy = strdup(value);
  if (copy == NULL)
    return CGRPC_ERR_NOMEM;
  int rv = cgrpc_array_append((void **)s, n, sizeof copy, &copy);
  if (rv != 0)
    free(copy);
  return rv;
}

int cgrpc_dedup_options_add_method(cgrpc_dedup_options *o, const char *path)
{
  if (o == NULL || path == NULL || path[0] != '/' || strchr(path + 1, '/') == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return dedup_strings_add(&o->methods, &o->nmethods, path);
}

int cgrpc_dedup_options_add_service(cgrpc_dedup_options *o, const char *service)
{
  if (o == NULL || service == NULL || service[0] == '\0' || strchr(service, '/') != NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return dedup_strings_add(&o->services, &o->nservices, service);
}

int cgrpc_dedup_options_set_store(cgrpc_dedup_options *o, const cgrpc_dedup_store *store,
                                  void *user_data)
{
  if (o == NULL || store == NULL || store->struct_size != sizeof *store || store->claim == NULL ||
      store->complete == NULL || store->abandon == NULL || store->release == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->store = *store;
  o->store_ud = user_data;
  o->has_store = 1;
  return 0;
}

void cgrpc_dedup_options_set_allocator(cgrpc_dedup_options *o, const cgrpc_allocator *alloc)
{
  if (o != NULL)
    cgrpc_alloc_init(&o->alloc, alloc);
}

/* ---- the helper ---------------------------------------------------------------------------- */

static void dedup_strings_drop(const cgrpc_allocator *a, char **s, size_t n)
{
  for (size_t i = 0; s != NULL && i < n; i++)
    cgrpc_free(a, s[i]);
  cgrpc_free(a, s);
}

static int dedup_strings_copy(const cgrpc_allocator *a, char **from, size_t n, char ***to)
{
  *to = NULL;
  if (n == 0)
    return 0;
  char **s = cgrpc_calloc(a, n, sizeof *s);
  if (s == NULL)
    return CGRPC_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    if ((s[i] = cgrpc_strdup(a, from[i])) == NULL) {
      dedup_strings_drop(a, s, n);
      return CGRPC_ERR_NOMEM;
    }
  }
  *to = s;
  return 0;
}

int cgrpc_dedup_new(cgrpc_dedup **out, const cgrpc_dedup_options *opts)
{
  cgrpc_dedup_options *defaults = NULL;
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (opts == NULL) {
    int rv = cgrpc_dedup_options_new(&defaults);
    if (rv != 0)
      return rv;
    opts = defaults;
  }
  int rv = CGRPC_ERR_NOMEM;
  cgrpc_dedup *d = cgrpc_calloc(&opts->alloc, 1, sizeof *d);
  if (d == NULL)
    goto out;
  d->alloc = opts->alloc;
  d->ttl_ms = opts->ttl_ms;
  d->stored_codes = opts->stored_codes;
  d->idempotent_methods = opts->idempotent_methods;
  d->poll_ms = opts->poll_ms;
  d->max_waiting = opts->max_waiting;
  if (dedup_strings_copy(&d->alloc, opts->methods, opts->nmethods, &d->methods) != 0 ||
      dedup_strings_copy(&d->alloc, opts->services, opts->nservices, &d->services) != 0)
    goto fail;
  d->nmethods = opts->nmethods;
  d->nservices = opts->nservices;
  if (opts->has_store) {
    d->store = opts->store;
    d->store_ud = opts->store_ud;
  } else {
    if (cgrpc_dedup_memory_new(&d->mem, &d->alloc, opts->max_entries, opts->max_bytes) != 0)
      goto fail;
    d->store = cgrpc_dedup_memory_store;
    d->store_ud = d->mem;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* cgrpc_now's clock */
  pthread_cond_init(&d->cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&d->mu, NULL);
  *out = d;
  rv = 0;
  goto out;
fail:
  dedup_strings_drop(&d->alloc, d->methods, opts->nmethods);
  dedup_strings_drop(&d->alloc, d->services, opts->nservices);
  cgrpc_free(&d->alloc, d);
out:
  cgrpc_dedup_options_free(defaults);
  return rv;
}

void cgrpc_dedup_free(cgrpc_dedup *d)
{
  if (d == NULL)
    return;
  cgrpc_dedup_memory_free(d->mem);
  dedup_strings_drop(&d->alloc, d->methods, d->nmethods);
  dedup_strings_drop(&d->alloc, d->services, d->nservices);
  pthread_cond_destroy(&d->cond);
  pthread_mutex_destroy(&d->mu);
  cgrpc_allocator alloc = d->alloc;
  cgrpc_free(&alloc, d);
}

uint64_t cgrpc_dedup_get_stat(const cgrpc_dedup *d, cgrpc_dedup_stat which)
{
  if (d == NULL || (int)which < 0)
    return 0;
  if ((int)which < DEDUP_NSTATS)
    return __atomic_load_n(&d->stats[which], __ATOMIC_RELAXED);
  return d->mem != NULL ? cgrpc_dedup_memory_stat(d->mem, which) : 0;
}

static void dedup_count(cgrpc_dedup *d, cgrpc_dedup_stat which)
{
  __atomic_add_fetch(&d->stats[which], 1, __ATOMIC_RELAXED);
}

/* ---- results as bytes ---------------------------------------------------------------------- */

/*
 * A stored result:
 *   "cgd1", u32 code, u32 message length, message,
 *   u32 count, then per initial metadata entry: u32 key length, key, u32 value length, value,
 *   the same for trailing metadata,
 *   u32 response length, the serialised response (OK only; else length 0).
 * Integers are big-endian.
 */
#define DEDUP_MAGIC "cgd1"

typedef struct dedup_buf {
  uint8_t *p; /* NULL while measuring */
  size_t len;
} dedup_buf;

static void dedup_put(dedup_buf *b, const void *data, size_t len)
{
  if (b->p != NULL && len > 0)
    memcpy(b->p + b->len, data, len);
  b->len += len;
}

static void dedup_put_u32(dedup_buf *b, uint32_t v)
{
  uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  dedup_put(b, be, 4);
}

static void dedup_put_md(dedup_buf *b, const cgrpc_metadata *md)
{
  size_t n = cgrpc_metadata_count(md);
  dedup_put_u32(b, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    const cgrpc_metadata_entry *e = cgrpc_metadata_at(md, i);
    size_t klen = strlen(e->key);
    dedup_put_u32(b, (uint32_t)klen);
    dedup_put(b, e->key, klen);
    dedup_put_u32(b, (uint32_t)e->value_len);
    dedup_put(b, e->value, e->value_len);
  }
}

/* Writes (or, with b->p NULL, measures) the call's result. */
static void dedup_put_result(dedup_buf *b, cgrpc_server_call *call, size_t resp_len)
{
  const char *msg = cgrpc_server_call_status_message(call);
  size_t mlen = strlen(msg);
  dedup_put(b, DEDUP_MAGIC, 4);
  dedup_put_u32(b, (uint32_t)cgrpc_server_call_status_code(call));
  dedup_put_u32(b, (uint32_t)mlen);
  dedup_put(b, msg, mlen);
  dedup_put_md(b, cgrpc_server_call_initial_metadata_out(call));
  dedup_put_md(b, cgrpc_server_call_trailing_metadata_out(call));
  dedup_put_u32(b, (uint32_t)resp_len);
  if (resp_len > 0 && b->p != NULL)
    protobuf_c_message_pack(cgrpc_server_call_response(call), b->p + b->len);
  b->len += resp_len;
}

/* The call's result as bytes (d's), or NULL without memory or when too large to encode. */
static uint8_t *dedup_encode(cgrpc_dedup *d, cgrpc_server_call *call, size_t *len)
{
  size_t resp_len = 0;
  if (cgrpc_server_call_status_code(call) == CGRPC_STATUS_OK)
    resp_len = protobuf_c_message_get_packed_size(cgrpc_server_call_response(call));
  dedup_buf b = {NULL, 0};
  dedup_put_result(&b, call, resp_len);
  if (resp_len > UINT32_MAX || b.len > UINT32_MAX)
    return NULL;
  b.p = cgrpc_malloc(&d->alloc, b.len);
  if (b.p == NULL)
    return NULL;
  *len = b.len;
  b.len = 0;
  dedup_put_result(&b, call, resp_len);
  return b.p;
}

typedef struct dedup_reader {
  const uint8_t *p;
  size_t left;
} dedup_reader;

static int dedup_get_u32(dedup_reader *r, uint32_t *v)
{
  if (r->left < 4)
    return -1;
  *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
  r->p += 4;
  r->left -= 4;
  return 0;
}

/* A length-prefixed run of bytes, in place. */
static int dedup_get_bytes(dedup_reader *r, const uint8_t **data, size_t *len)
{
  uint32_t n;
  if (dedup_get_u32(r, &n) != 0 || r->left < n)
    return -1;
  *data = r->p;
  *len = n;
  r->p += n;
  r->left -= n;
  return 0;
}

typedef int (*dedup_md_adder)(cgrpc_server_call *call, const char *key, const void *value,
                              size_t len);

/* Replays stored metadata.  Entries the call refuses (reserved keys such as
 * grpc-retry-pushback-ms) are left out. */
static int dedup_get_md(dedup_reader *r, cgrpc_server_call *call, dedup_md_adder add)
{
  uint32_t n;
  if (dedup_get_u32(r, &n) != 0)
    return -1;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *k, *v;
    size_t klen, vlen;
    if (dedup_get_bytes(r, &k, &klen) != 0 || dedup_get_bytes(r, &v, &vlen) != 0)
      return -1;
    char *key = cgrpc_server_call_alloc(call, klen + 1);
    if (key == NULL)
      return -1;
    memcpy(key, k, klen);
    key[klen] = '\0';
    (void)add(call, key, v, vlen);
  }
  return 0;
}

/* Answers the call with a stored result.  Returns 0, or -1 when the bytes are not one. */
static int dedup_replay(cgrpc_server_call *call, const uint8_t *data, size_t len)
{
  dedup_reader r = {data, len};
  uint32_t code;
  const uint8_t *msg, *resp;
  size_t mlen, resp_len;
  if (len < 4 || memcmp(data, DEDUP_MAGIC, 4) != 0)
    return -1;
  r.p += 4;
  r.left -= 4;
  if (dedup_get_u32(&r, &code) != 0 || code >= CGRPC_STATUS_CODE_COUNT ||
      dedup_get_bytes(&r, &msg, &mlen) != 0 ||
      dedup_get_md(&r, call, cgrpc_server_call_add_initial_metadata) != 0 ||
      dedup_get_md(&r, call, cgrpc_server_call_add_trailing_metadata) != 0 ||
      dedup_get_bytes(&r, &resp, &resp_len) != 0)
    return -1;
  if (code == CGRPC_STATUS_OK) {
    /* Decoded into the call's arena, then moved into the response the
     * runtime made for the call (itself in the arena, holding nothing). */
    const ProtobufCMessageDescriptor *rd = cgrpc_server_call_method(call)->response;
    ProtobufCMessage *m =
        protobuf_c_message_unpack(rd, cgrpc_server_call_protobuf_allocator(call), resp_len, resp);
    if (m == NULL)
      return -1;
    memcpy(cgrpc_server_call_response(call), m, rd->sizeof_message);
  }
  if (mlen > 0)
    cgrpc_server_call_set_status(call, (cgrpc_code)code, "%.*s", (int)mlen, (const char *)msg);
  else
    cgrpc_server_call_set_status(call, (cgrpc_code)code, NULL);
  cgrpc_server_call_add_trailing_metadata(call, CGRPC_DEDUP_REPLAYED_HEADER, "true", 4);
  return 0;
}

/* ---- the interceptor ----------------------------------------------------------------------- */

static int dedup_in_scope(const cgrpc_dedup *d, const cgrpc_method_desc *m)
{
  if (d->idempotent_methods && m->policy != NULL && m->policy->idempotent)
    return 1;
  for (size_t i = 0; i < d->nmethods; i++)
    if (strcmp(d->methods[i], m->path) == 0)
      return 1;
  const char *slash = strrchr(m->path, '/');
  if (m->path[0] != '/' || slash == NULL)
    return 0;
  size_t slen = (size_t)(slash - (m->path + 1));
  for (size_t i = 0; i < d->nservices; i++)
    if (strlen(d->services[i]) == slen && memcmp(d->services[i], m->path + 1, slen) == 0)
      return 1;
  return 0;
}

static void dedup_wake(cgrpc_dedup *d)
{
  pthread_mutex_lock(&d->mu);
  d->gen++;
  pthread_cond_broadcast(&d->cond);
  pthread_mutex_unlock(&d->mu);
}

static uint64_t dedup_gen(cgrpc_dedup *d)
{
  pthread_mutex_lock(&d->mu);
  uint64_t gen = d->gen;
  pthread_mutex_unlock(&d->mu);
  return gen;
}

static void dedup_unwait(cgrpc_dedup *d)
{
  pthread_mutex_lock(&d->mu);
  d->waiting--;
  pthread_mutex_unlock(&d->mu);
}

/* How long a claim must last: the call's remaining time, and then some -- its handler runs
 * on past its deadline, and its result is still stored -- or -1 without a deadline. */
static int64_t dedup_lease_ms(const cgrpc_server_call *call)
{
  int64_t left = cgrpc_server_call_remaining_ms(call);
  return left < 0 ? -1 : left + CGRPC_DEDUP_LEASE_GRACE_MS;
}

/* Sleeps until a claim ends here (gen moves), poll_ms pass, or the call's
 * deadline.  Returns 0 when the call should stop waiting (its status set). */
static int dedup_wait(cgrpc_dedup *d, cgrpc_server_call *call, uint64_t gen)
{
  cgrpc_time now = cgrpc_now();
  cgrpc_time deadline = cgrpc_server_call_deadline(call);
  if (now >= deadline) {
    cgrpc_server_call_set_status(call, CGRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded");
    return 0;
  }
  if (cgrpc_server_call_is_cancelled(call)) {
    cgrpc_server_call_set_status(call, CGRPC_STATUS_CANCELLED,
                                 "cancelled waiting for a call with the same idempotency key");
    return 0;
  }
  cgrpc_time until = now + CGRPC_MS_TO_NS(d->poll_ms);
  if (until > deadline)
    until = deadline;
  struct timespec ts = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
  pthread_mutex_lock(&d->mu);
  while (d->gen == gen && pthread_cond_timedwait(&d->cond, &d->mu, &ts) != ETIMEDOUT)
    ;
  pthread_mutex_unlock(&d->mu);
  return 1;
}

/* The claiming call's inner stages are done: keep the result, or let the key go. */
static void dedup_done(cgrpc_server_call *call, void *ud)
{
  dedup_call *dc = ud;
  cgrpc_dedup *d = dc->d;
  cgrpc_code code = cgrpc_server_call_status_code(call);
  int stored = 0;
  if ((unsigned)code < CGRPC_STATUS_CODE_COUNT && (d->stored_codes & CGRPC_DEDUP_CODE_BIT(code))) {
    size_t len;
    uint8_t *value = dedup_encode(d, call, &len);
    if (value != NULL) {
      stored = d->store.complete(d->store_ud, dc->key, dc->key_len, value, len, d->ttl_ms) == 0;
      cgrpc_free(&d->alloc, value);
    }
  }
  if (!stored)
    d->store.abandon(d->store_ud, dc->key, dc->key_len);
  dedup_count(d, stored ? CGRPC_DEDUP_STAT_STORED : CGRPC_DEDUP_STAT_NOT_STORED);
  dedup_wake(d);
  cgrpc_server_call_finish(call);
}

static void dedup_intercept(cgrpc_server_call *call, void *ud)
{
  cgrpc_dedup *d = ud;
  const cgrpc_method_desc *m = cgrpc_server_call_method(call);
  if (m == NULL || m->kind != CGRPC_METHOD_UNARY || !dedup_in_scope(d, m)) {
    cgrpc_server_call_proceed(call, NULL, NULL);
    return;
  }
  const char *ikey = cgrpc_server_call_idempotency_key(call);
  if (ikey == NULL) {
    dedup_count(d, CGRPC_DEDUP_STAT_UNKEYED);
    cgrpc_server_call_proceed(call, NULL, NULL);
    return;
  }
  size_t iklen = strlen(ikey);
  size_t plen = strlen(m->path);
  if (iklen > CGRPC_DEDUP_MAX_KEY_LEN) {
    cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                 "idempotency key longer than %d bytes", CGRPC_DEDUP_MAX_KEY_LEN);
    cgrpc_server_call_finish(call);
    return;
  }
  dedup_call *dc = cgrpc_server_call_alloc(call, sizeof *dc + plen + 1 + iklen + 1);
  if (dc == NULL) {
    cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    cgrpc_server_call_finish(call);
    return;
  }
  dc->d = d;
  memcpy(dc->key, m->path, plen);
  dc->key[plen] = ' ';
  memcpy(dc->key + plen + 1, ikey, iklen + 1);
  dc->key_len = plen + 1 + iklen;

  int waited = 0;
  for (;;) {
    uint64_t gen = dedup_gen(d);
    cgrpc_dedup_value found = {NULL, 0, NULL};
    int rv = d->store.claim(d->store_ud, dc->key, dc->key_len, dedup_lease_ms(call), &found);
    if (rv == CGRPC_DEDUP_CLAIMED) {
      if (waited)
        dedup_unwait(d);
      dedup_count(d, CGRPC_DEDUP_STAT_EXECUTED);
      cgrpc_server_call_proceed(call, dedup_done, dc);
      return;
    }
    if (rv == CGRPC_DEDUP_FOUND) {
      if (dedup_replay(call, found.data, found.len) == 0)
        dedup_count(d, CGRPC_DEDUP_STAT_REPLAYED);
      else
        cgrpc_server_call_set_status(call, CGRPC_STATUS_INTERNAL,
                                     "the stored result for this idempotency key is corrupt");
      d->store.release(d->store_ud, &found);
      break;
    }
    if (rv != CGRPC_DEDUP_IN_PROGRESS) {
      cgrpc_server_call_set_status(call, CGRPC_STATUS_UNAVAILABLE,
                                   "idempotency store unavailable (%s)", cgrpc_strerror(rv));
      break;
    }
    if (!cgrpc_server_call_may_block(call)) {
      /* On the I/O thread: waiting would stall every connection. */
      cgrpc_server_call_set_status(call, CGRPC_STATUS_UNAVAILABLE,
                                   "a call with this idempotency key is in progress");
      break;
    }
    if (!waited) {
      /* Each waiting duplicate holds a handler thread: only a few may, or duplicates of a
       * slow call (a client retrying it, or someone hostile) would starve every method. */
      pthread_mutex_lock(&d->mu);
      int room = d->waiting < d->max_waiting;
      d->waiting += room;
      pthread_mutex_unlock(&d->mu);
      if (!room) {
        cgrpc_server_call_set_retry_pushback_ms(call, d->poll_ms);
        cgrpc_server_call_set_status(call, CGRPC_STATUS_UNAVAILABLE,
                                     "a call with this idempotency key is in progress");
        break;
      }
      waited = 1;
      dedup_count(d, CGRPC_DEDUP_STAT_WAITED);
    }
    if (!dedup_wait(d, call, gen))
      break;
  }
  if (waited)
    dedup_unwait(d);
  cgrpc_server_call_finish(call);
}

int cgrpc_dedup_attach(cgrpc_dedup *d, cgrpc_server_options *server_opts)
{
  if (d == NULL || server_opts == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return cgrpc_server_options_add_interceptor(server_opts, dedup_intercept, d);
}
