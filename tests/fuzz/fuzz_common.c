/* What the fuzz targets share: fuzz.Msg, service fuzz.Fuzz, a server connection fed from
 * memory, and HTTP/2 frames built by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/alloc.h"
#include "fuzz_common.h"
#include "server/server_call.h"
#include "server/server_core.h"

/* ---- fuzz.Msg -------------------------------------------------------------------------------- */

void fuzz_msg_init(FuzzMsg *m)
{
  static const FuzzMsg init = {PROTOBUF_C_MESSAGE_INIT(&fuzz_msg_descriptor), {0, NULL}};
  *m = init;
}

static const ProtobufCFieldDescriptor fuzz_msg_fields[] = {
    {"data", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_BYTES, 0, offsetof(FuzzMsg, data), NULL,
     NULL, 0, 0, NULL, NULL},
};
static const unsigned fuzz_msg_fields_by_name[] = {0};
static const ProtobufCIntRange fuzz_msg_ranges[] = {{1, 0}, {0, 1}};

const ProtobufCMessageDescriptor fuzz_msg_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "fuzz.Msg",
    "Msg",
    "FuzzMsg",
    "fuzz",
    sizeof(FuzzMsg),
    1,
    fuzz_msg_fields,
    fuzz_msg_fields_by_name,
    1,
    fuzz_msg_ranges,
    (ProtobufCMessageInit)fuzz_msg_init,
    NULL,
    NULL,
    NULL,
};

/* ---- fuzz.Fuzz ------------------------------------------------------------------------------- */

static cgrpc_code fuzz_invoke(cgrpc_fn handler, cgrpc_server_call *call,
                              const ProtobufCMessage *request, ProtobufCMessage *response,
                              void *user_data)
{
  return ((fuzz_handler)handler)(call, (const FuzzMsg *)request, (FuzzMsg *)response, user_data);
}

static const cgrpc_method_policy fuzz_idempotent = {.idempotent = 1};

#define FUZZ_METHOD(method, kind_, policy_)                                                     \
  {                                                                                             \
    .path = "/fuzz.Fuzz/" method, .name = method, .kind = kind_,                                \
    .request = &fuzz_msg_descriptor, .response = &fuzz_msg_descriptor, .policy = policy_,      \
    .invoke_handler = fuzz_invoke                                                               \
  }

const cgrpc_method_desc fuzz_methods[FUZZ_NMETHODS] = {
    [FUZZ_UNARY] = FUZZ_METHOD("Unary", CGRPC_METHOD_UNARY, &fuzz_idempotent),
    [FUZZ_SERVER_STREAM] = FUZZ_METHOD("ServerStream", CGRPC_METHOD_SERVER_STREAMING, NULL),
    [FUZZ_CLIENT_STREAM] = FUZZ_METHOD("ClientStream", CGRPC_METHOD_CLIENT_STREAMING, NULL),
    [FUZZ_BIDI] = FUZZ_METHOD("Bidi", CGRPC_METHOD_BIDI_STREAMING, NULL),
};

const cgrpc_service_desc fuzz_service = {"fuzz.Fuzz", FUZZ_NMETHODS, fuzz_methods};

/* ---- a server connection in memory ----------------------------------------------------------- */

static FILE *fuzz_record_file;
static int fuzz_record_over;

void fuzz_record(const void *data, size_t len)
{
  if (fuzz_record_file == NULL && !fuzz_record_over) {
    const char *path = getenv("FUZZ_RECORD");
    fuzz_record_over = 1; /* one try */
    if (path != NULL && (fuzz_record_file = fopen(path, "wb")) == NULL)
      perror(path);
  }
  if (fuzz_record_file != NULL && len > 0)
    fwrite(data, 1, len, fuzz_record_file);
}

void fuzz_record_end(void)
{
  if (fuzz_record_file != NULL)
    fclose(fuzz_record_file);
  fuzz_record_file = NULL;
  fuzz_record_over = 1;
}

/* What the client takes of the server's bytes each round: larger answers wait (conn.c keeps
 * them pending), as over a socket whose peer reads slowly. */
#define FUZZ_ROOM_PER_ROUND 4096

typedef struct fuzz_transport {
  cgrpc_transport base;
  const uint8_t *data;
  size_t len;
  size_t off;
  size_t room;   /* what write may still take this round */
  int pause;     /* threads: the input is over, but not the connection yet */
  int paused;    /* ... for one round already */
} fuzz_transport;

/* The next piece of the client's bytes: the preface, then a frame at a time (as far as its
 * length field says, and the input goes), then end of stream. */
static ssize_t fuzz_tp_read(cgrpc_transport *t, uint8_t *buf, size_t cap)
{
  fuzz_transport *ft = (fuzz_transport *)t;
  const uint8_t *p = ft->data + ft->off;
  size_t left = ft->len - ft->off, n = left;
  ft->room = FUZZ_ROOM_PER_ROUND;
  if (left == 0 && ft->pause && !ft->paused) {
    /* Handler threads get a round (up to 1 ms) with the fd quiet to catch up, or the end of
     * stream would cancel what they have not read yet. */
    uint64_t v;
    ssize_t drained = read(t->fd, &v, sizeof v);
    (void)drained; /* not readable any more, whatever it held */
    ft->paused = 1;
    return CGRPC_TRANSPORT_WANT_READ;
  }
  if (left == 0)
    return 0;
  if (ft->off == 0)
    n = sizeof FUZZ_H2_PREFACE - 1;
  else if (left >= 9)
    n = 9 + ((size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2]);
  if (n > left)
    n = left;
  if (n > cap)
    n = cap;
  memcpy(buf, p, n);
  ft->off += n;
  return (ssize_t)n;
}

static ssize_t fuzz_tp_write(cgrpc_transport *t, const uint8_t *buf, size_t len)
{
  fuzz_transport *ft = (fuzz_transport *)t;
  if (ft->room == 0)
    return CGRPC_TRANSPORT_WANT_WRITE;
  if (len > ft->room)
    len = ft->room;
  ft->room -= len;
  fuzz_record(buf, len);
  return (ssize_t)len;
}

static void fuzz_tp_destroy(cgrpc_transport *t)
{
  close(t->fd);
  free(t);
}

static const cgrpc_transport_vtable fuzz_tp_vtable = {
    .read = fuzz_tp_read,
    .write = fuzz_tp_write,
    .destroy = fuzz_tp_destroy,
};

/* How long the calls may take to end once their connection is gone (handler threads). */
#define FUZZ_CALLS_END_NS ((cgrpc_time)5 * 1000000000)

/* Without handler threads: the loop runs until the connection and its calls are gone, and
 * looks every round (a timer due at once: the loop does not sleep). */
static cgrpc_timer fuzz_end_timer;

static void fuzz_check_end(void *ud)
{
  cgrpc_server *srv = ud;
  if (srv->nconns == 0 && srv->ncalls == 0)
    cgrpc_loop_stop(srv->loop);
  else
    cgrpc_loop_timer_start(srv->loop, &fuzz_end_timer, cgrpc_now());
}

void fuzz_serve(cgrpc_server *srv, int threads, const uint8_t *data, size_t len)
{
  /* The pools cgrpc_server_start would make (it also wants listeners and a loop thread); their
   * threads start as calls come, so inputs that bring none cost no thread. */
  if (threads > 0 &&
      (cgrpc_workers_new(&srv->workers, "fuzz-handler", 0, threads, &srv->alloc) != 0 ||
       cgrpc_workers_new(&srv->stream_workers, "fuzz-stream", 0, srv->stream_handler_threads,
                         &srv->alloc) != 0))
    abort();
  fuzz_transport *ft = calloc(1, sizeof *ft);
  if (ft == NULL)
    abort();
  ft->base.vt = &fuzz_tp_vtable;
  /* An fd the loop can watch that is always readable: every round reads the next frame. */
  ft->base.fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
  ft->data = data;
  ft->len = len;
  ft->room = FUZZ_ROOM_PER_ROUND;
  ft->pause = threads > 0;
  if (ft->base.fd < 0)
    abort();
  if (cgrpc_server_adopt(srv, &ft->base) == NULL)
    abort();
  if (threads == 0) {
    /* As the server's own loop thread (handlers run on it), until the connection is gone and
     * its calls have ended; then what that left queued. */
    cgrpc_timer_init(&fuzz_end_timer, fuzz_check_end, srv);
    cgrpc_loop_timer_start(srv->loop, &fuzz_end_timer, cgrpc_now());
    cgrpc_loop_run(srv->loop);
    cgrpc_loop_timer_stop(srv->loop, &fuzz_end_timer);
  }
  /* With handler threads: round by round on this thread, until the connection is gone and
   * the handlers have finished too. */
  cgrpc_time give_up = CGRPC_TIME_INFINITE;
  while ((srv->nconns > 0 || srv->ncalls > 0) && cgrpc_now() < give_up) {
    int quiet = srv->nconns > 0 && ft->paused; /* ft lives as long as the connection */
    cgrpc_loop_run_once(srv->loop, 1);
    if (quiet && srv->nconns > 0 && eventfd_write(ft->base.fd, 1) != 0)
      abort(); /* the round is over: now the end of stream */
    if (srv->nconns == 0 && give_up == CGRPC_TIME_INFINITE)
      give_up = cgrpc_now() + FUZZ_CALLS_END_NS;
  }
  if (threads > 0) {
    /* Joined before the loop goes, as cgrpc_server_free does: a handler thread may still be
     * returning from its last post to the loop. */
    cgrpc_workers_free(srv->workers);
    cgrpc_workers_free(srv->stream_workers);
    srv->workers = srv->stream_workers = NULL;
  }
  if (srv->ncalls != 0 || srv->nconns != 0) {
    fprintf(stderr, "fuzz_serve: %d call(s) and %u connection(s) outlived the connection\n",
            srv->ncalls, srv->nconns);
    abort();
  }
}

/* ---- HTTP/2 by hand -------------------------------------------------------------------------- */

void fuzz_buf_put(fuzz_buf *b, const void *data, size_t n)
{
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
      cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL)
      abort();
    b->p = p;
    b->cap = cap;
  }
  if (n > 0)
    memcpy(b->p + b->len, data, n);
  b->len += n;
}

void fuzz_buf_free(fuzz_buf *b)
{
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void fuzz_h2_frame(fuzz_buf *b, uint8_t type, uint8_t flags, uint32_t stream_id,
                   const void *payload, size_t n)
{
  uint8_t hd[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
                   (uint8_t)(stream_id >> 24 & 0x7f), (uint8_t)(stream_id >> 16),
                   (uint8_t)(stream_id >> 8), (uint8_t)stream_id};
  fuzz_buf_put(b, hd, sizeof hd);
  fuzz_buf_put(b, payload, n);
}

/* An HPACK string: its length as an integer with a 7-bit prefix (RFC 7541 5.1), no Huffman. */
static void fuzz_hpack_string(fuzz_buf *block, const void *s, size_t n)
{
  uint8_t len[8];
  size_t k = 0;
  if (n < 127) {
    len[k++] = (uint8_t)n;
  } else {
    len[k++] = 127;
    for (size_t v = n - 127;; v >>= 7) {
      len[k++] = (uint8_t)((v & 0x7f) | (v >= 128 ? 0x80 : 0));
      if (v < 128)
        break;
    }
  }
  fuzz_buf_put(block, len, k);
  fuzz_buf_put(block, s, n);
}

void fuzz_hpack_literal(fuzz_buf *block, const char *name, const void *value, size_t vlen)
{
  static const uint8_t without_indexing = 0x00;
  fuzz_buf_put(block, &without_indexing, 1);
  fuzz_hpack_string(block, name, strlen(name));
  fuzz_hpack_string(block, value, vlen);
}
