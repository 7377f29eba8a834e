/* Feeds the dedup helper stored results to replay, handler results to store and replay, and
 * operations to its in-memory store (the first byte picks), checked against format and contract. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrpc/dedup.h>
#include <cgrpc/extension.h>

#include "base/alloc.h"
#include "ext/dedup_memory.h"
#include "fuzz_common.h"
#include "wire/metadata_internal.h"

enum { MODE_REPLAY, MODE_ROUND_TRIP, MODE_STORE, NMODES };

static const uint8_t *spec; /* the input after the mode byte */
static size_t spec_len;

static void fail(const char *what)
{
  fprintf(stderr, "dedup: %s\n", what);
  abort();
}

/* ---- what a call ended with, as the outermost interceptor sees it ---------------------------- */

typedef struct result {
  cgrpc_code code;
  char *message;
  fuzz_buf response; /* its bytes, when OK */
  cgrpc_metadata *initial;
  cgrpc_metadata *trailing;
} result;

static result results[2];
static int nresults;

static cgrpc_metadata *md_copy(const cgrpc_metadata *md)
{
  cgrpc_metadata *copy;
  if (cgrpc_metadata_new(&copy, NULL) != 0)
    abort();
  for (size_t i = 0; i < cgrpc_metadata_count(md); i++) {
    const cgrpc_metadata_entry *e = cgrpc_metadata_at(md, i);
    if (cgrpc_metadata_append(copy, e->key, strlen(e->key), e->value, e->value_len) != 0)
      abort();
  }
  return copy;
}

static int md_equal(const cgrpc_metadata *a, const cgrpc_metadata *b)
{
  if (cgrpc_metadata_count(a) != cgrpc_metadata_count(b))
    return 0;
  for (size_t i = 0; i < cgrpc_metadata_count(a); i++) {
    const cgrpc_metadata_entry *x = cgrpc_metadata_at(a, i), *y = cgrpc_metadata_at(b, i);
    if (strcmp(x->key, y->key) != 0 || x->value_len != y->value_len ||
        (x->value_len > 0 && memcmp(x->value, y->value, x->value_len) != 0))
      return 0;
  }
  return 1;
}

static void probe_done(cgrpc_server_call *call, void *ud)
{
  (void)ud;
  if (nresults < 2) {
    result *r = &results[nresults++];
    r->code = cgrpc_server_call_status_code(call);
    r->message = strdup(cgrpc_server_call_status_message(call));
    if (r->code == CGRPC_STATUS_OK) {
      const FuzzMsg *m = (const FuzzMsg *)cgrpc_server_call_response(call);
      fuzz_buf_put(&r->response, m->data.data, m->data.len);
    }
    r->initial = md_copy(cgrpc_server_call_initial_metadata_out(call));
    r->trailing = md_copy(cgrpc_server_call_trailing_metadata_out(call));
  }
  cgrpc_server_call_finish(call);
}

static void probe_start(cgrpc_server_call *call, void *ud)
{
  (void)ud;
  cgrpc_server_call_proceed(call, probe_done, NULL);
}

static void results_clear(void)
{
  for (int i = 0; i < nresults; i++) {
    free(results[i].message);
    fuzz_buf_free(&results[i].response);
    cgrpc_metadata_free(results[i].initial);
    cgrpc_metadata_free(results[i].trailing);
  }
  memset(results, 0, sizeof results);
  nresults = 0;
}

/* ---- the handler: its result is the input's -------------------------------------------------- */

typedef struct reader {
  const uint8_t *p;
  size_t left;
} reader;

static uint8_t take_byte(reader *r)
{
  if (r->left == 0)
    return 0;
  r->left--;
  return *r->p++;
}

static const uint8_t *take(reader *r, size_t *n)
{
  if (*n > r->left)
    *n = r->left;
  const uint8_t *p = r->p;
  r->p += *n;
  r->left -= *n;
  return p;
}

/* A key made of the characters keys may have (else nearly every one would be refused), and
 * -bin when the length byte's top bit says so. */
static void take_key(reader *r, char key[48])
{
  static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-_.";
  uint8_t b = take_byte(r);
  size_t n = b & 31;
  const uint8_t *k = take(r, &n);
  memcpy(key, "x-", 2);
  for (size_t i = 0; i < n; i++)
    key[2 + i] = chars[k[i] % (sizeof chars - 1)];
  strcpy(key + 2 + n, b & 0x80 ? "-bin" : "");
}

typedef int (*md_adder)(cgrpc_server_call *call, const char *key, const void *value, size_t len);

static void take_md(reader *r, cgrpc_server_call *call, md_adder add)
{
  for (int n = take_byte(r) % 4; n > 0; n--) {
    char key[48];
    take_key(r, key);
    size_t vlen = take_byte(r);
    const uint8_t *v = take(r, &vlen);
    (void)add(call, key, v, vlen); /* what the API refuses is simply not there */
  }
}

/* Input: [code] [message length] [message] [initial metadata] [trailing metadata] [response],
 * metadata being [count % 4] then per entry [key length | 0x80 for -bin] [key] [value length]
 * [value]. */
static cgrpc_code fuzz_unary(cgrpc_server_call *call, const FuzzMsg *req, FuzzMsg *resp, void *ud)
{
  (void)req;
  (void)ud;
  reader r = {spec, spec_len};
  cgrpc_code code = (cgrpc_code)(take_byte(&r) % CGRPC_STATUS_CODE_COUNT);
  size_t mlen = take_byte(&r);
  const uint8_t *msg = take(&r, &mlen);
  take_md(&r, call, cgrpc_server_call_add_initial_metadata);
  take_md(&r, call, cgrpc_server_call_add_trailing_metadata);
  resp->data.data = (uint8_t *)r.p;
  resp->data.len = r.left;
  if (mlen > 0)
    cgrpc_server_call_set_status(call, code, "%.*s", (int)mlen, (const char *)msg);
  return code;
}

/* ---- calls from a client that sends them frame by frame -------------------------------------- */

/* The client's bytes for n unary calls carrying the same idempotency key. */
static void requests(fuzz_buf *out, int n)
{
  static const uint8_t req[] = {0, 0, 0, 0, 5, 0x0a, 3, 'r', 'e', 'q'}; /* fuzz.Msg{data: "req"} */
  fuzz_buf_put(out, FUZZ_H2_PREFACE, sizeof FUZZ_H2_PREFACE - 1);
  fuzz_h2_frame(out, 0x4, 0, 0, NULL, 0); /* SETTINGS */
  for (int i = 0; i < n; i++) {
    fuzz_buf block = {0};
    fuzz_hpack_literal(&block, ":method", "POST", 4);
    fuzz_hpack_literal(&block, ":scheme", "http", 4);
    fuzz_hpack_literal(&block, ":path", "/fuzz.Fuzz/Unary", 16);
    fuzz_hpack_literal(&block, ":authority", "fuzz", 4);
    fuzz_hpack_literal(&block, "content-type", "application/grpc", 16);
    fuzz_hpack_literal(&block, "te", "trailers", 8);
    fuzz_hpack_literal(&block, CGRPC_IDEMPOTENCY_KEY_HEADER, "fuzz-key", 8);
    fuzz_h2_frame(out, 0x1, 0x4, (uint32_t)(2 * i + 1), block.p, block.len); /* END_HEADERS */
    fuzz_h2_frame(out, 0x0, 0x1, (uint32_t)(2 * i + 1), req, sizeof req);   /* END_STREAM */
    fuzz_buf_free(&block);
  }
}

/* Serves n such calls with the dedup helper d inside the probe. */
static void serve(cgrpc_dedup *d, int n)
{
  static const cgrpc_fn handlers[FUZZ_NMETHODS] = {[FUZZ_UNARY] = (cgrpc_fn)fuzz_unary};
  static const cgrpc_server_interceptor_hooks probe = {.start = probe_start};
  cgrpc_server_options *opts;
  cgrpc_server *srv;
  if (cgrpc_server_options_new(&opts) != 0)
    abort();
  cgrpc_server_options_set_handler_threads(opts, 0);
  if (cgrpc_server_options_add_interceptor_hooks(opts, &probe, NULL) != 0 ||
      cgrpc_dedup_attach(d, opts) != 0 || cgrpc_server_new(&srv, opts) != 0 ||
      cgrpc_server_register_service(srv, &fuzz_service, handlers, NULL) != 0)
    abort();
  cgrpc_server_options_free(opts);
  fuzz_buf bytes = {0};
  requests(&bytes, n);
  fuzz_serve(srv, 0, bytes.p, bytes.len);
  fuzz_buf_free(&bytes);
  cgrpc_server_free(srv);
  if (nresults != n)
    fail("a call did not come through the probe");
}

/* ---- replay: stored bytes, as a store hands them out ----------------------------------------- */

static int replay_claim(void *ud, const char *key, size_t key_len, int64_t lease_ms,
                        cgrpc_dedup_value *found)
{
  (void)ud;
  (void)key;
  (void)key_len;
  (void)lease_ms;
  found->data = spec;
  found->len = spec_len;
  found->handle = NULL;
  return CGRPC_DEDUP_FOUND;
}

static int replay_complete(void *ud, const char *key, size_t key_len, const uint8_t *value,
                           size_t value_len, int64_t ttl_ms)
{
  (void)ud;
  (void)key;
  (void)key_len;
  (void)value;
  (void)value_len;
  (void)ttl_ms;
  fail("a replayed call stored a result");
  return 0;
}

static void replay_abandon(void *ud, const char *key, size_t key_len)
{
  (void)ud;
  (void)key;
  (void)key_len;
}

static void replay_release(void *ud, cgrpc_dedup_value *found)
{
  (void)ud;
  (void)found;
}

static const cgrpc_dedup_store replay_store = {
    sizeof(cgrpc_dedup_store), replay_claim, replay_complete, replay_abandon, replay_release,
};

/* Reads a u32 as dedup.c's format has it (big-endian). */
static int get_u32(reader *r, uint32_t *v)
{
  if (r->left < 4)
    return -1;
  *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
  r->p += 4;
  r->left -= 4;
  return 0;
}

static int get_bytes(reader *r, const uint8_t **p, size_t *n)
{
  uint32_t len;
  if (get_u32(r, &len) != 0 || len > r->left)
    return -1;
  *p = r->p;
  *n = len;
  r->p += len;
  r->left -= len;
  return 0;
}

/* Metadata as a replay adds it: through the API, which refuses what it refuses. */
static int get_md(reader *r, cgrpc_metadata *md)
{
  uint32_t n;
  if (get_u32(r, &n) != 0)
    return -1;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *k, *v;
    size_t klen, vlen;
    if (get_bytes(r, &k, &klen) != 0 || get_bytes(r, &v, &vlen) != 0)
      return -1;
    char *key = strndup((const char *)k, klen);
    if (key == NULL)
      abort();
    (void)cgrpc_metadata_add(md, key, v, vlen);
    free(key);
  }
  return 0;
}

/* The format read independently of dedup.c: a stored result replays as what it says, and
 * anything else ends the call INTERNAL. */
static void check_replay(void)
{
  reader r = {spec, spec_len};
  uint32_t code;
  const uint8_t *msg = NULL, *resp = NULL;
  size_t mlen = 0, resp_len = 0;
  cgrpc_metadata *initial, *trailing;
  if (cgrpc_metadata_new(&initial, NULL) != 0 || cgrpc_metadata_new(&trailing, NULL) != 0)
    abort();
  int valid = r.left >= 4 && memcmp(r.p, "cgd1", 4) == 0;
  if (valid) {
    r.p += 4;
    r.left -= 4;
    valid = get_u32(&r, &code) == 0 && code < CGRPC_STATUS_CODE_COUNT &&
            get_bytes(&r, &msg, &mlen) == 0 && get_md(&r, initial) == 0 &&
            get_md(&r, trailing) == 0 && get_bytes(&r, &resp, &resp_len) == 0;
  }
  FuzzMsg *m = NULL;
  if (valid && code == CGRPC_STATUS_OK) {
    m = (FuzzMsg *)protobuf_c_message_unpack(&fuzz_msg_descriptor, NULL, resp_len, resp);
    valid = m != NULL;
  }
  const result *got = &results[0];
  if (!valid) {
    if (got->code != CGRPC_STATUS_INTERNAL || strstr(got->message, "corrupt") == NULL)
      fail("a corrupt stored result was replayed");
  } else {
    cgrpc_metadata_add(trailing, CGRPC_DEDUP_REPLAYED_HEADER, "true", 4);
    char *want_msg = strndup((const char *)msg, mlen);
    if (want_msg == NULL)
      abort();
    if (got->code != (cgrpc_code)code || strcmp(got->message, want_msg) != 0 ||
        !md_equal(got->initial, initial) || !md_equal(got->trailing, trailing))
      fail("a stored result replayed as something else");
    if (m != NULL && (got->response.len != m->data.len ||
                      (m->data.len > 0 && memcmp(got->response.p, m->data.data, m->data.len) != 0)))
      fail("a stored response replayed as another");
    free(want_msg);
  }
  if (m != NULL)
    protobuf_c_message_free_unpacked(&m->base, NULL);
  cgrpc_metadata_free(initial);
  cgrpc_metadata_free(trailing);
}

/* ---- the in-memory store against a model of its contract ------------------------------------- */

#define NKEYS 8
enum { KEY_FREE, KEY_CLAIMED, KEY_DONE };

/*
 * Input: [max entries % 4] [max bytes / 8] then operations, each [op | key << 2] and, for
 * complete, [value length] [value].  Completed values may be evicted (the bounds allow it),
 * so a claim of one may find it or claim it again, but never anything else.
 */
static void store_ops(void)
{
  cgrpc_allocator alloc;
  cgrpc_alloc_init(&alloc, NULL);
  reader r = {spec, spec_len};
  size_t max_entries = take_byte(&r) % 4, max_bytes = (size_t)take_byte(&r) * 8;
  cgrpc_dedup_memory *m;
  if (cgrpc_dedup_memory_new(&m, &alloc, max_entries, max_bytes) != 0)
    abort();
  const cgrpc_dedup_store *s = &cgrpc_dedup_memory_store;
  int state[NKEYS] = {0};
  const uint8_t *value[NKEYS];
  size_t value_len[NKEYS];
  while (r.left > 0) {
    uint8_t op = take_byte(&r);
    int k = (op >> 2) % NKEYS;
    char key[32];
    int klen = snprintf(key, sizeof key, "/fuzz.Fuzz/Unary key-%d", k);
    cgrpc_dedup_value found = {NULL, 0, NULL};
    switch (op & 3) {
    case 0: {
      int rv = s->claim(m, key, (size_t)klen, -1, &found);
      if (state[k] == KEY_CLAIMED ? rv != CGRPC_DEDUP_IN_PROGRESS
          : state[k] == KEY_FREE  ? rv != CGRPC_DEDUP_CLAIMED
                                  : rv != CGRPC_DEDUP_FOUND && rv != CGRPC_DEDUP_CLAIMED)
        fail("store: a claim answered against the contract");
      if (rv == CGRPC_DEDUP_FOUND) {
        if (found.len != value_len[k] ||
            (found.len > 0 && memcmp(found.data, value[k], found.len) != 0))
          fail("store: a claim found another value");
        s->release(m, &found);
      } else {
        state[k] = KEY_CLAIMED;
      }
      break;
    }
    case 1: {
      size_t n = take_byte(&r);
      const uint8_t *v = take(&r, &n);
      int rv = s->complete(m, key, (size_t)klen, v, n, 3600 * 1000);
      if (state[k] == KEY_CLAIMED) {
        state[k] = rv == 0 ? KEY_DONE : KEY_FREE;
        value[k] = v;
        value_len[k] = n;
        if (rv != 0 && rv != CGRPC_ERR_TOO_LARGE)
          fail("store: completing a claim failed");
      } else if (rv == 0) {
        fail("store: completed a key that was not claimed");
      }
      break;
    }
    case 2:
      s->abandon(m, key, (size_t)klen);
      if (state[k] == KEY_CLAIMED)
        state[k] = KEY_FREE;
      break;
    default:
      if (cgrpc_dedup_memory_stat(m, CGRPC_DEDUP_STAT_ENTRIES) > max_entries ||
          cgrpc_dedup_memory_stat(m, CGRPC_DEDUP_STAT_BYTES) > max_bytes)
        fail("store: over its bounds");
      break;
    }
  }
  cgrpc_dedup_memory_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  int mode = data[0] % NMODES;
  spec = data + 1;
  spec_len = size - 1;
  cgrpc_dedup_options *o;
  cgrpc_dedup *d;
  switch (mode) {
  case MODE_REPLAY:
    if (cgrpc_dedup_options_new(&o) != 0 ||
        cgrpc_dedup_options_set_store(o, &replay_store, NULL) != 0 || cgrpc_dedup_new(&d, o) != 0)
      abort();
    cgrpc_dedup_options_free(o);
    serve(d, 1);
    check_replay();
    cgrpc_dedup_free(d);
    break;
  case MODE_ROUND_TRIP: /* the first call runs the handler, the second is answered from memory */
    if (cgrpc_dedup_new(&d, NULL) != 0)
      abort();
    serve(d, 2);
    if (!(CGRPC_DEDUP_STORED_CODES & CGRPC_DEDUP_CODE_BIT(results[0].code))) {
      if (results[1].code != results[0].code) /* not stored: the handler ran again */
        fail("a result not stored changed on the second run");
    } else {
      cgrpc_metadata_add(results[0].trailing, CGRPC_DEDUP_REPLAYED_HEADER, "true", 4);
      if (results[1].code != results[0].code ||
          strcmp(results[1].message, results[0].message) != 0 ||
          results[1].response.len != results[0].response.len ||
          (results[0].response.len > 0 &&
           memcmp(results[1].response.p, results[0].response.p, results[0].response.len) != 0) ||
          !md_equal(results[1].initial, results[0].initial) ||
          !md_equal(results[1].trailing, results[0].trailing))
        fail("a stored result replayed as something else");
    }
    cgrpc_dedup_free(d);
    break;
  case MODE_STORE:
    store_ops();
    break;
  }
  results_clear();
  return 0;
}
