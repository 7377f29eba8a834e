/* Feeds a client's bytes (preface, then any HTTP/2 frames) to a server connection with a method
 * of each kind: handlers on the I/O thread, then on handler threads as servers run by default. */
#include <stdlib.h>
#include <string.h>

#include <cgrpc/extension.h>

#include "fuzz_common.h"

/* The first byte of a unary request says how its handler answers. */
static cgrpc_code fuzz_unary(cgrpc_server_call *call, const FuzzMsg *req, FuzzMsg *resp, void *ud)
{
  (void)ud;
  const uint8_t *d = req->data.data;
  size_t n = req->data.len;
  resp->data = req->data; /* the request lives as long as the call */
  switch (n > 0 ? d[0] : 0) {
  case 'e': /* an error, its message the rest of the request (whatever bytes those are) */
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT, "%.*s",
                                        (int)(n - 1), (const char *)d + 1);
  case 'm': /* metadata both ways, binary and not (refused keys and values are fine) */
    cgrpc_server_call_add_initial_metadata(call, "x-echo-bin", d, n);
    cgrpc_server_call_add_trailing_metadata(call, "x-trailer", d + 1, n - 1);
    break;
  case 'z':
    cgrpc_server_call_set_compression(call, n > 1 && d[1] == 'd' ? "deflate" : "gzip");
    break;
  case 'h':
    cgrpc_server_call_send_headers(call);
    break;
  case 'p':
    cgrpc_server_call_set_retry_pushback_ms(call, n > 1 ? d[1] : -1);
    return CGRPC_STATUS_UNAVAILABLE;
  case 'd': /* deferred, and finished before returning */
    cgrpc_server_call_defer(call);
    cgrpc_server_call_finish(call);
    break;
  }
  return CGRPC_STATUS_OK;
}

/* Sends the request back (its first byte % 4) times; a second byte 'e' ends with an error. */
static cgrpc_code fuzz_server_stream(cgrpc_server_call *call, const FuzzMsg *req, FuzzMsg *resp,
                                     void *ud)
{
  (void)resp;
  (void)ud;
  const uint8_t *d = req->data.data;
  size_t n = req->data.len;
  FuzzMsg m;
  fuzz_msg_init(&m);
  m.data = req->data;
  for (int i = 0; i < (n > 0 ? d[0] % 4 : 1); i++)
    if (cgrpc_server_call_send(call, &m.base) != 0)
      break; /* full (on the I/O thread a send never waits) or over */
  if (n > 1 && d[1] == 'e')
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_ABORTED, "after %d", d[0] % 4);
  return CGRPC_STATUS_OK;
}

/* The streaming kinds answer asynchronously, as handlers on the I/O thread must. */
typedef struct fuzz_stream {
  FuzzMsg *response; /* client-streaming: filled when the client is done */
  size_t bytes;
  int finished;
} fuzz_stream;

static void fuzz_finish(cgrpc_server_call *call, fuzz_stream *s)
{
  if (!s->finished) {
    s->finished = 1;
    cgrpc_server_call_finish(call);
  }
}

static void fuzz_on_message(cgrpc_server_call *call, const ProtobufCMessage *msg, void *ud)
{
  fuzz_stream *s = ud;
  const FuzzMsg *m = (const FuzzMsg *)msg;
  s->bytes += m->data.len;
  if (s->response != NULL)
    return;
  if (m->data.len > 0 && m->data.data[0] == 'x') { /* bidi: end while the client still sends */
    cgrpc_server_call_set_status(call, CGRPC_STATUS_FAILED_PRECONDITION, "x");
    fuzz_finish(call, s);
    return;
  }
  cgrpc_server_call_try_send(call, msg); /* an echo; AGAIN when full drops it */
}

static void fuzz_on_recv_done(cgrpc_server_call *call, void *ud)
{
  fuzz_stream *s = ud;
  if (s->response != NULL) {
    char *text = cgrpc_server_call_printf(call, "%zu bytes", s->bytes);
    if (text != NULL) {
      s->response->data.data = (uint8_t *)text;
      s->response->data.len = strlen(text);
    }
  }
  fuzz_finish(call, s);
}

static void fuzz_on_cancel(cgrpc_server_call *call, void *ud)
{
  fuzz_finish(call, ud);
}

static const cgrpc_server_call_callbacks fuzz_stream_callbacks = {
    .on_message = fuzz_on_message,
    .on_recv_done = fuzz_on_recv_done,
    .on_cancel = fuzz_on_cancel,
};

/* On a handler thread, a stream is read and written in plain sequence, as most handlers do. */
static cgrpc_code fuzz_blocking(cgrpc_server_call *call, FuzzMsg *resp)
{
  int client_streaming = cgrpc_server_call_method(call)->kind == CGRPC_METHOD_CLIENT_STREAMING;
  const ProtobufCMessage *msg;
  size_t bytes = 0;
  int rv;
  while ((rv = cgrpc_server_call_recv(call, &msg)) == 1) {
    const FuzzMsg *m = (const FuzzMsg *)msg;
    bytes += m->data.len;
    if (client_streaming)
      continue;
    if (m->data.len > 0 && m->data.data[0] == 'x') /* ends while the client still sends */
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_FAILED_PRECONDITION, "x");
    if (cgrpc_server_call_send(call, msg) != 0)
      return CGRPC_STATUS_CANCELLED;
  }
  if (rv < 0)
    return CGRPC_STATUS_CANCELLED;
  if (client_streaming) {
    char *text = cgrpc_server_call_printf(call, "%zu bytes", bytes);
    if (text != NULL) {
      resp->data.data = (uint8_t *)text;
      resp->data.len = strlen(text);
    }
  }
  return CGRPC_STATUS_OK;
}

static cgrpc_code fuzz_streaming(cgrpc_server_call *call, const FuzzMsg *req, FuzzMsg *resp,
                                 void *ud)
{
  (void)req;
  (void)ud;
  if (cgrpc_server_call_may_block(call))
    return fuzz_blocking(call, resp);
  fuzz_stream *s = cgrpc_server_call_alloc(call, sizeof *s);
  if (s == NULL)
    return CGRPC_STATUS_RESOURCE_EXHAUSTED;
  memset(s, 0, sizeof *s);
  if (cgrpc_server_call_method(call)->kind == CGRPC_METHOD_CLIENT_STREAMING)
    s->response = resp;
  cgrpc_server_call_defer(call);
  cgrpc_server_call_set_callbacks(call, &fuzz_stream_callbacks, s);
  return CGRPC_STATUS_OK;
}

/* An interceptor with every hook, so that the stages and on_done run too. */
static void fuzz_stage_done(cgrpc_server_call *call, void *ud)
{
  (void)ud;
  cgrpc_server_call_finish(call);
}

static void fuzz_start(cgrpc_server_call *call, void *ud)
{
  (void)ud;
  cgrpc_server_call_proceed(call, fuzz_stage_done, NULL);
}

static void fuzz_on_done(cgrpc_server_call *call, cgrpc_code code, const char *msg, void *ud)
{
  (void)call;
  (void)ud;
  if ((unsigned)code >= CGRPC_STATUS_CODE_COUNT || msg == NULL)
    abort(); /* on_done promises a status */
}

static const cgrpc_server_interceptor_hooks fuzz_hooks = {
    .start = fuzz_start,
    .on_done = fuzz_on_done,
};

static cgrpc_server_options *fuzz_opts;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if (cgrpc_server_options_new(&fuzz_opts) != 0)
    abort();
  cgrpc_server_options_set_handler_threads(fuzz_opts, 0); /* fuzz_serve makes the pools */
  /* Reachable with a little gzip, and more than a stream holds unread (64 KiB). */
  cgrpc_server_options_set_max_recv_message_size(fuzz_opts, 256 * 1024);
  cgrpc_server_options_set_max_concurrent_streams(fuzz_opts, 8);
  if (cgrpc_server_options_add_interceptor_hooks(fuzz_opts, &fuzz_hooks, NULL) != 0)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const cgrpc_fn handlers[FUZZ_NMETHODS] = {
      [FUZZ_UNARY] = (cgrpc_fn)fuzz_unary,
      [FUZZ_SERVER_STREAM] = (cgrpc_fn)fuzz_server_stream,
      [FUZZ_CLIENT_STREAM] = (cgrpc_fn)fuzz_streaming,
      [FUZZ_BIDI] = (cgrpc_fn)fuzz_streaming,
  };
  /* A server of its own each time: nothing carries over (and its loop runs once). */
  for (int threads = 0; threads <= 1; threads++) {
    cgrpc_server *srv;
    if (cgrpc_server_new(&srv, fuzz_opts) != 0 ||
        cgrpc_server_register_service(srv, &fuzz_service, handlers, NULL) != 0)
      abort();
    fuzz_serve(srv, threads, data, size);
    cgrpc_server_free(srv);
    fuzz_record_end(); /* seeds for the client: the answers of the deterministic run */
  }
  return 0;
}
