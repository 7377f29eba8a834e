/* The in-process server of kinds_server.h. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kinds_server.h"

static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static int hold_released;
static int holding;
static int early_late_md_rv = 1;
static int early_second_send_rv = 1;

/* ---- handlers (the invokers are the handlers: these methods have no generated types) ---- */

static cgrpc_code unary(cgrpc_server_call *call, const E2e__EchoRequest *req, E2e__EchoReply *resp)
{
  if (req->sleep_ms > 0) {
    cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(req->sleep_ms);
    while (cgrpc_now() < until && !cgrpc_server_call_is_cancelled(call))
      sleep_ms(2);
  }
  resp->payload = req->payload;
  if (req->status_code != 0)
    return cgrpc_server_call_set_status(call, (cgrpc_code)req->status_code, "as asked");
  return CGRPC_STATUS_OK;
}

static cgrpc_code download(cgrpc_server_call *call, const E2e__EchoRequest *req)
{
  if (req->status_code != 0)
    return cgrpc_server_call_set_status(call, (cgrpc_code)req->status_code, "as asked");
  for (int i = 0; i < req->response_size; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.seq = i;
    if (cgrpc_server_call_send(call, &c.base) != 0)
      return CGRPC_STATUS_CANCELLED;
  }
  return CGRPC_STATUS_OK;
}

static cgrpc_code upload(cgrpc_server_call *call, E2e__UploadSummary *resp)
{
  const ProtobufCMessage *m;
  int rv;
  while ((rv = cgrpc_server_call_recv(call, &m)) == 1)
    resp->chunks++;
  return rv < 0 ? CGRPC_STATUS_CANCELLED : CGRPC_STATUS_OK;
}

static cgrpc_code chat(cgrpc_server_call *call)
{
  const ProtobufCMessage *m;
  int rv;
  while ((rv = cgrpc_server_call_recv(call, &m)) == 1)
    if (cgrpc_server_call_send(call, m) != 0)
      return CGRPC_STATUS_CANCELLED;
  return rv < 0 ? CGRPC_STATUS_CANCELLED : CGRPC_STATUS_OK;
}

static cgrpc_code flaky(cgrpc_server_call *call, const E2e__EchoRequest *req, E2e__EchoReply *resp)
{
  if (cgrpc_server_call_previous_attempts(call) < req->status_code)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_UNAVAILABLE, "not yet");
  resp->payload = req->payload;
  return CGRPC_STATUS_OK;
}

static cgrpc_code early(cgrpc_server_call *call)
{
  if (cgrpc_server_call_add_initial_metadata(call, "x-early", "yes", 3) != 0 ||
      cgrpc_server_call_send_headers(call) != 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INTERNAL, "cannot send headers");
  __atomic_store_n(&early_late_md_rv, cgrpc_server_call_add_initial_metadata(call, "x-late", "no", 2),
                   __ATOMIC_RELEASE);
  __atomic_store_n(&early_second_send_rv, cgrpc_server_call_send_headers(call), __ATOMIC_RELEASE);
  return chat(call);
}

static cgrpc_code hold(cgrpc_server_call *call)
{
  pthread_mutex_lock(&hold_mu);
  holding++; /* before the chunk: a client that got it knows the handler holds */
  pthread_mutex_unlock(&hold_mu);
  E2e__Chunk c = E2E__CHUNK__INIT;
  int sent = cgrpc_server_call_send(call, &c.base);
  pthread_mutex_lock(&hold_mu);
  while (sent == 0 && !hold_released && !cgrpc_server_call_is_cancelled(call)) {
    pthread_mutex_unlock(&hold_mu);
    sleep_ms(2);
    pthread_mutex_lock(&hold_mu);
  }
  holding--;
  pthread_mutex_unlock(&hold_mu);
  return sent == 0 ? CGRPC_STATUS_OK : CGRPC_STATUS_CANCELLED;
}

/* K_RELAY: callbacks on the I/O thread answer each chunk; the handler returns at once. */
static void relay_message(cgrpc_server_call *call, const ProtobufCMessage *msg, void *ud)
{
  (void)ud;
  cgrpc_server_call_try_send(call, msg); /* the test sends one at a time */
}

static void relay_recv_done(cgrpc_server_call *call, void *ud)
{
  (void)ud;
  cgrpc_server_call_finish(call);
}

static void relay_cancel(cgrpc_server_call *call, void *ud)
{
  (void)ud;
  cgrpc_server_call_set_status(call, CGRPC_STATUS_CANCELLED, NULL);
  cgrpc_server_call_finish(call);
}

static cgrpc_code relay(cgrpc_server_call *call)
{
  static const cgrpc_server_call_callbacks cbs = {
      .on_message = relay_message, .on_recv_done = relay_recv_done, .on_cancel = relay_cancel};
  cgrpc_server_call_defer(call);
  cgrpc_server_call_set_callbacks(call, &cbs, NULL);
  return CGRPC_STATUS_OK;
}

static cgrpc_channel *downstream;

void kinds_set_downstream(cgrpc_channel *ch)
{
  downstream = ch;
}

static cgrpc_code proxy(cgrpc_server_call *call, const E2e__EchoRequest *req)
{
  if (downstream == NULL)
    return CGRPC_STATUS_OK;
  cgrpc_call_options *o = NULL;
  if (cgrpc_call_options_new(&o) != 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "no memory");
  cgrpc_call_options_set_parent(o, call);
  ProtobufCMessage *r = NULL;
  cgrpc_code code = cgrpc_unary_call(downstream, &kinds_methods[K_UNARY], &req->base, &r, o, NULL);
  cgrpc_call_options_free(o);
  if (r != NULL)
    protobuf_c_message_free_unpacked(r, NULL);
  return code == CGRPC_STATUS_OK ? code : cgrpc_server_call_set_status(call, code, "downstream");
}

static cgrpc_code kinds_invoke(cgrpc_fn handler, cgrpc_server_call *call,
                               const ProtobufCMessage *req, ProtobufCMessage *resp, void *ud)
{
  (void)handler;
  (void)ud;
  const char *path = cgrpc_server_call_path(call);
  for (int i = 0; i < K_COUNT; i++) {
    if (strcmp(path, kinds_methods[i].path) != 0)
      continue;
    switch (i) {
    case K_UNARY:
      return unary(call, (const E2e__EchoRequest *)req, (E2e__EchoReply *)resp);
    case K_DOWNLOAD:
      return download(call, (const E2e__EchoRequest *)req);
    case K_UPLOAD:
      return upload(call, (E2e__UploadSummary *)resp);
    case K_CHAT:
      return chat(call);
    case K_FLAKY:
      return flaky(call, (const E2e__EchoRequest *)req, (E2e__EchoReply *)resp);
    case K_EARLY:
      return early(call);
    case K_HOLD:
      return hold(call);
    case K_PROXY:
      return proxy(call, (const E2e__EchoRequest *)req);
    default:
      return relay(call);
    }
  }
  return CGRPC_STATUS_INTERNAL;
}

#define METHOD(p, k, req, resp)                                                                    \
  {.path = "/kinds.Kinds/" p,                                                                      \
   .name = p,                                                                                      \
   .kind = k,                                                                                      \
   .request = &req,                                                                                \
   .response = &resp,                                                                              \
   .invoke_handler = kinds_invoke}

const cgrpc_method_desc kinds_methods[K_COUNT] = {
    [K_UNARY] = METHOD("Unary", CGRPC_METHOD_UNARY, e2e__echo_request__descriptor,
                       e2e__echo_reply__descriptor),
    [K_DOWNLOAD] = METHOD("Download", CGRPC_METHOD_SERVER_STREAMING, e2e__echo_request__descriptor,
                          e2e__chunk__descriptor),
    [K_UPLOAD] = METHOD("Upload", CGRPC_METHOD_CLIENT_STREAMING, e2e__chunk__descriptor,
                        e2e__upload_summary__descriptor),
    [K_CHAT] = METHOD("Chat", CGRPC_METHOD_BIDI_STREAMING, e2e__chunk__descriptor,
                      e2e__chunk__descriptor),
    [K_FLAKY] = METHOD("Flaky", CGRPC_METHOD_UNARY, e2e__echo_request__descriptor,
                       e2e__echo_reply__descriptor),
    [K_EARLY] = METHOD("Early", CGRPC_METHOD_BIDI_STREAMING, e2e__chunk__descriptor,
                       e2e__chunk__descriptor),
    [K_HOLD] = METHOD("Hold", CGRPC_METHOD_SERVER_STREAMING, e2e__echo_request__descriptor,
                      e2e__chunk__descriptor),
    [K_RELAY] = METHOD("Relay", CGRPC_METHOD_BIDI_STREAMING, e2e__chunk__descriptor,
                       e2e__chunk__descriptor),
    [K_PROXY] = METHOD("Proxy", CGRPC_METHOD_UNARY, e2e__echo_request__descriptor,
                       e2e__echo_reply__descriptor),
};

static const cgrpc_service_desc kinds_service = {
    .name = "kinds.Kinds", .n_methods = K_COUNT, .methods = kinds_methods};

int kinds_try_start(kinds_server *k, const cgrpc_server_options *opts)
{
  pthread_mutex_lock(&hold_mu);
  hold_released = 0;
  pthread_mutex_unlock(&hold_mu);
  /* Any non-NULL handler: kinds_invoke serves them all. */
  cgrpc_fn handlers[K_COUNT];
  for (int i = 0; i < K_COUNT; i++)
    handlers[i] = (cgrpc_fn)kinds_release;
  k->srv = NULL;
  int rv = cgrpc_server_new(&k->srv, opts);
  if (rv == 0)
    rv = cgrpc_server_register_service(k->srv, &kinds_service, handlers, NULL);
  if (rv == 0)
    rv = cgrpc_server_add_listener(k->srv, "127.0.0.1:0", &k->port);
  if (rv == 0)
    rv = cgrpc_server_start(k->srv);
  if (rv != 0) {
    cgrpc_server_free(k->srv);
    k->srv = NULL;
  }
  return rv;
}

void kinds_start(kinds_server *k, const cgrpc_server_options *opts)
{
  ck_assert_int_eq(kinds_try_start(k, opts), 0);
}

void kinds_stop(kinds_server *k)
{
  kinds_release();
  cgrpc_server_shutdown(k->srv, 1000);
  cgrpc_server_free(k->srv);
  k->srv = NULL;
}

void kinds_release(void)
{
  pthread_mutex_lock(&hold_mu);
  hold_released = 1;
  pthread_mutex_unlock(&hold_mu);
}

int kinds_holding(void)
{
  pthread_mutex_lock(&hold_mu);
  int n = holding;
  pthread_mutex_unlock(&hold_mu);
  return n;
}

int kinds_early_late_md_rv(void)
{
  return __atomic_load_n(&early_late_md_rv, __ATOMIC_ACQUIRE);
}

int kinds_early_second_send_rv(void)
{
  return __atomic_load_n(&early_second_send_rv, __ATOMIC_ACQUIRE);
}
