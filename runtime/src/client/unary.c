/* Unary calls: blocking, and with a completion callback. */
#include <pthread.h>

#include "client/call.h"
#include "wire/status_map.h"

static void unary_invoke_plain(cgrpc_fn fn, cgrpc_status *status, ProtobufCMessage *response,
                               void *user_data)
{
  ((cgrpc_unary_done)fn)(status, response, user_data);
}

static int unary_start(cgrpc_channel *ch, const cgrpc_method_desc *method,
                       const ProtobufCMessage *request, const cgrpc_call_options *opts,
                       cgrpc_unary_done_invoker invoke, cgrpc_fn done, void *user_data,
                       cgrpc_call **call_out)
{
  if (call_out != NULL)
    *call_out = NULL;
  if (done == NULL || invoke == NULL || request == NULL || method == NULL ||
      method->kind != CGRPC_METHOD_UNARY)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_call *call;
  int rv = cgrpc_call_new(&call, ch, method, request, opts);
  if (rv == CGRPC_ERR_TOO_LARGE) {
    cgrpc_status st = CGRPC_STATUS_INIT;
    cgrpc_status_setf(&st, NULL, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                      "request message larger than max (%zu vs. %lld)",
                      protobuf_c_message_get_packed_size(request), (long long)ch->max_send);
    invoke(done, &st, NULL, user_data);
    cgrpc_status_clear(&st);
    return 0;
  }
  if (rv != 0)
    return rv;
  call->invoke = invoke;
  call->done_fn = done;
  call->done_user_data = user_data;
  if (call_out != NULL) {
    cgrpc_call_ref(call);
    *call_out = call;
  }
  cgrpc_call_run(call);
  return 0;
}

int cgrpc_unary_call_start(cgrpc_channel *ch, const cgrpc_method_desc *method,
                           const ProtobufCMessage *request, const cgrpc_call_options *opts,
                           cgrpc_unary_done done, void *user_data, cgrpc_call **call_out)
{
  return unary_start(ch, method, request, opts, unary_invoke_plain, (cgrpc_fn)done, user_data,
                     call_out);
}

int cgrpc_unary_call_start_typed(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                 const ProtobufCMessage *request, const cgrpc_call_options *opts,
                                 cgrpc_fn done, void *user_data, cgrpc_call **call_out)
{
  if (method == NULL || method->invoke_unary_done == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return unary_start(ch, method, request, opts, method->invoke_unary_done, done, user_data,
                     call_out);
}

/* ---- the blocking form ---------------------------------------------------------------------- */

typedef struct unary_waiter {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int done;
  cgrpc_status *status;
  ProtobufCMessage *response;
} unary_waiter;

static void unary_wait_done(cgrpc_status *status, ProtobufCMessage *response, void *ud)
{
  unary_waiter *w = ud;
  cgrpc_status_move(w->status, status);
  w->response = response;
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
}

cgrpc_code cgrpc_unary_call(cgrpc_channel *ch, const cgrpc_method_desc *method,
                            const ProtobufCMessage *request, ProtobufCMessage **response,
                            const cgrpc_call_options *opts, cgrpc_status *status)
{
  cgrpc_status local = CGRPC_STATUS_INIT;
  if (status == NULL)
    status = &local;
  else
    cgrpc_status_clear(status);
  if (response != NULL)
    *response = NULL;
  unary_waiter w;
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cond, NULL);
  w.done = 0;
  w.status = status;
  w.response = NULL;
  int rv = cgrpc_unary_call_start(ch, method, request, opts, unary_wait_done, &w, NULL);
  if (rv != 0) {
    cgrpc_status_setf(status, NULL, CGRPC_STATUS_INTERNAL, "cannot start call: %s",
                      cgrpc_strerror(rv));
  } else {
    pthread_mutex_lock(&w.mu);
    while (!w.done)
      pthread_cond_wait(&w.cond, &w.mu);
    pthread_mutex_unlock(&w.mu);
  }
  pthread_cond_destroy(&w.cond);
  pthread_mutex_destroy(&w.mu);
  cgrpc_code code = status->code;
  if (response != NULL)
    *response = w.response;
  else if (w.response != NULL)
    protobuf_c_message_free_unpacked(w.response, cgrpc_channel_protobuf_allocator(ch));
  cgrpc_status_clear(&local);
  return code;
}
