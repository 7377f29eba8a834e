/* The client's streaming API: start, send, recv, close_send, finish -- blocking or with callbacks. */
#include <string.h>

#include "alloc.h"
#include "channel_internal.h"
#include "client_call.h"
#include "compress.h"
#include "status_map.h"

/* The send buffer: how much may wait unsent before senders wait. */
#define STREAM_SEND_LIMIT (64 * 1024)
/* How much may wait unread before the server is held back. */
#define STREAM_RECV_LIMIT (64 * 1024)

static void stream_free_msg(void *msg, void *user_data)
{
  protobuf_c_message_free_unpacked(msg, user_data);
}

static int stream_start(cgrpc_channel *ch, const cgrpc_method_desc *method,
                        const ProtobufCMessage *request, const cgrpc_call_options *opts,
                        const cgrpc_call_callbacks *cbs, void *user_data, cgrpc_call **call_out)
{
  if (call_out == NULL || method == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  *call_out = NULL;
  /* Unary and server-streaming methods take their one request here; the
   * client-streaming kinds take theirs through send. */
  int one_request = method->kind == CGRPC_METHOD_UNARY || method->kind == CGRPC_METHOD_SERVER_STREAMING;
  if ((request != NULL) != one_request)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_call *call;
  int rv = cgrpc_call_new(&call, ch, method, request, opts);
  if (rv != 0)
    return rv;
  call->streaming = 1;
  cgrpc_pipe_init(&call->pipe, call->alloc, STREAM_SEND_LIMIT, STREAM_RECV_LIMIT, stream_free_msg,
                  &call->pb);
  if (cbs != NULL) {
    call->has_callbacks = 1;
    call->cbs = *cbs;
    call->cbs_user_data = user_data;
  }
  cgrpc_call_ref(call); /* the handle's */
  *call_out = call;
  cgrpc_call_run(call);
  return 0;
}

int cgrpc_call_start_stream(cgrpc_channel *ch, const cgrpc_method_desc *method,
                            const ProtobufCMessage *request, const cgrpc_call_options *opts,
                            cgrpc_call **call_out)
{
  return stream_start(ch, method, request, opts, NULL, NULL, call_out);
}

int cgrpc_call_start_stream_async(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                  const ProtobufCMessage *request, const cgrpc_call_options *opts,
                                  const cgrpc_call_callbacks *callbacks, void *user_data,
                                  cgrpc_call **call_out)
{
  if (callbacks == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return stream_start(ch, method, request, opts, callbacks, user_data, call_out);
}

int cgrpc_call_send_flags(cgrpc_call *call, const ProtobufCMessage *msg, unsigned flags)
{
  if (call == NULL || !call->streaming || msg == NULL ||
      msg->descriptor != call->method->request)
    return CGRPC_ERR_INVALID_ARGUMENT;
  int err;
  int enc = flags & CGRPC_SEND_NO_COMPRESS ? CGRPC_ENCODING_IDENTITY : call->send_enc;
  cgrpc_sendbuf *b = cgrpc_pipe_buf_message(call->alloc, msg, enc, call->ch->max_send, &err);
  if (b == NULL && err == CGRPC_ERR_TOO_LARGE) {
    /* Ends the call with RESOURCE_EXHAUSTED, as the server would. */
    __atomic_store_n(&call->cancel_code, CGRPC_STATUS_RESOURCE_EXHAUSTED, __ATOMIC_RELEASE);
    cgrpc_call_cancel(call);
    return CGRPC_ERR_CLOSED;
  }
  if (b == NULL)
    return err;
  int rv = cgrpc_pipe_write(&call->pipe, b, !(flags & CGRPC_SEND_NO_BLOCK));
  if (rv != 0) {
    cgrpc_free(call->alloc, b);
    return rv;
  }
  cgrpc_call_post(call, &call->send_task);
  return 0;
}

int cgrpc_call_send(cgrpc_call *call, const ProtobufCMessage *msg)
{
  return cgrpc_call_send_flags(call, msg, 0);
}

int cgrpc_call_try_send(cgrpc_call *call, const ProtobufCMessage *msg)
{
  return cgrpc_call_send_flags(call, msg, CGRPC_SEND_NO_BLOCK);
}

int cgrpc_call_close_send(cgrpc_call *call)
{
  if (call == NULL || !call->streaming)
    return CGRPC_ERR_INVALID_ARGUMENT;
  int rv = cgrpc_pipe_close_out(&call->pipe);
  if (rv == 0)
    cgrpc_call_post(call, &call->send_task);
  return rv;
}

int cgrpc_call_recv(cgrpc_call *call, ProtobufCMessage **msg)
{
  if (call == NULL || !call->streaming || call->has_callbacks || msg == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  void *m = NULL;
  int owe = 0;
  int compressed = 0;
  int rv = cgrpc_pipe_read(&call->pipe, &m, 1, &owe, &compressed);
  if (owe)
    cgrpc_call_post(call, &call->credit_task);
  *msg = rv == 1 ? m : NULL;
  if (rv == 1)
    call->last_compressed = compressed;
  return rv;
}

int cgrpc_call_response_compressed(const cgrpc_call *call)
{
  return call != NULL && call->last_compressed;
}

cgrpc_code cgrpc_call_finish(cgrpc_call *call, cgrpc_status *status)
{
  if (call == NULL || !call->streaming || call->has_callbacks) {
    if (status != NULL)
      cgrpc_status_setf(status, NULL, CGRPC_STATUS_INTERNAL, "not a blocking streaming call");
    return CGRPC_STATUS_INTERNAL;
  }
  cgrpc_pipe_wait_over(&call->pipe);
  cgrpc_code code = call->status.code;
  if (status != NULL)
    cgrpc_status_move(status, &call->status);
  return code;
}

cgrpc_code cgrpc_call_close_and_recv(cgrpc_call *call, ProtobufCMessage **response,
                                     cgrpc_status *status)
{
  cgrpc_status local = CGRPC_STATUS_INIT;
  if (status == NULL)
    status = &local;
  *response = NULL;
  ProtobufCMessage *msg = NULL, *extra = NULL;
  cgrpc_call_close_send(call);
  if (cgrpc_call_recv(call, &msg) == 1 && cgrpc_call_recv(call, &extra) == 1) {
    /* More than one answer to a client-streaming call: the server is wrong. */
    cgrpc_call_cancel(call);
  }
  cgrpc_code code = cgrpc_call_finish(call, status);
  if (extra != NULL || (code == CGRPC_STATUS_OK && msg == NULL)) {
    code = CGRPC_STATUS_INTERNAL;
    cgrpc_status_set(status, NULL, code,
                     extra != NULL ? "client-streaming call received more than one response"
                                   : "server sent OK without a response message");
  }
  if (extra != NULL)
    protobuf_c_message_free_unpacked(extra, &call->pb);
  if (code == CGRPC_STATUS_OK)
    *response = msg;
  else if (msg != NULL)
    protobuf_c_message_free_unpacked(msg, &call->pb);
  cgrpc_status_clear(&local);
  return code;
}
