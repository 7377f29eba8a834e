/* The client's streaming API: start, send, recv, close_send, finish -- blocking or with callbacks. */
#include <string.h>

#include "alloc.h"
#include "channel_internal.h"
#include "client_call.h"
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
    return rv == CGRPC_ERR_TOO_LARGE ? CGRPC_ERR_INVALID_ARGUMENT : rv;
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
  if (request != NULL && ch->max_send >= 0 &&
      (int64_t)(call->req_len - CGRPC_FRAME_PREFIX) > ch->max_send) {
    cgrpc_status_setf(&call->status, call->alloc, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                      "request message larger than max (%zu vs. %lld)",
                      call->req_len - CGRPC_FRAME_PREFIX, (long long)ch->max_send);
    call->request = NULL;
    cgrpc_call_complete(call);
    return 0;
  }
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

static int stream_send(cgrpc_call *call, const ProtobufCMessage *msg, int block)
{
  if (call == NULL || !call->streaming || msg == NULL ||
      msg->descriptor != call->method->request)
    return CGRPC_ERR_INVALID_ARGUMENT;
  size_t len = protobuf_c_message_get_packed_size(msg);
  int64_t max = call->ch->max_send;
  if (len > UINT32_MAX || (max >= 0 && (int64_t)len > max)) {
    /* Ends the call with RESOURCE_EXHAUSTED, as the server would. */
    __atomic_store_n(&call->cancel_code, CGRPC_STATUS_RESOURCE_EXHAUSTED, __ATOMIC_RELEASE);
    cgrpc_call_cancel(call);
    return CGRPC_ERR_CLOSED;
  }
  cgrpc_sendbuf *b = cgrpc_pipe_buf_new(call->alloc, CGRPC_FRAME_PREFIX + len);
  if (b == NULL)
    return CGRPC_ERR_NOMEM;
  uint8_t *p = (uint8_t *)b->data;
  cgrpc_frame_write_prefix(p, 0, (uint32_t)len);
  protobuf_c_message_pack(msg, p + CGRPC_FRAME_PREFIX);
  int rv = cgrpc_pipe_write(&call->pipe, b, block);
  if (rv != 0) {
    cgrpc_free(call->alloc, b);
    return rv;
  }
  cgrpc_call_post(call, &call->send_task);
  return 0;
}

int cgrpc_call_send(cgrpc_call *call, const ProtobufCMessage *msg)
{
  return stream_send(call, msg, 1);
}

int cgrpc_call_try_send(cgrpc_call *call, const ProtobufCMessage *msg)
{
  return stream_send(call, msg, 0);
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
  int rv = cgrpc_pipe_read(&call->pipe, &m, 1, &owe);
  if (owe)
    cgrpc_call_post(call, &call->credit_task);
  *msg = rv == 1 ? m : NULL;
  return rv;
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
