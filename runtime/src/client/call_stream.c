/* The client's streaming API: start, send, recv, headers, close_send, finish -- blocking or
 * with callbacks. */
#include <string.h>

#include "base/alloc.h"
#include "client/call.h"
#include "wire/compress.h"
#include "wire/metadata_internal.h"
#include "wire/status_map.h"

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
                        const cgrpc_call_callbacks *cbs, const cgrpc_fn *typed, void *user_data,
                        cgrpc_call **call_out)
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
  if (typed != NULL)
    memcpy(call->typed, typed, sizeof call->typed);
  cgrpc_call_ref(call); /* the handle's */
  *call_out = call;
  cgrpc_call_run(call);
  return 0;
}

int cgrpc_call_start_stream(cgrpc_channel *ch, const cgrpc_method_desc *method,
                            const ProtobufCMessage *request, const cgrpc_call_options *opts,
                            cgrpc_call **call_out)
{
  return stream_start(ch, method, request, opts, NULL, NULL, NULL, call_out);
}

int cgrpc_call_start_stream_async(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                  const ProtobufCMessage *request, const cgrpc_call_options *opts,
                                  const cgrpc_call_callbacks *callbacks, void *user_data,
                                  cgrpc_call **call_out)
{
  if (callbacks == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return stream_start(ch, method, request, opts, callbacks, NULL, user_data, call_out);
}

/* Typed callbacks (generated code's): cbs point at these, which call them through the
 * method's invoker. */
static void typed_on_headers(cgrpc_call *call, const cgrpc_metadata *md, void *ud)
{
  call->method->invoke_client_callback(call->typed[CGRPC_CALLBACK_HEADERS], CGRPC_CALLBACK_HEADERS,
                                       call, (void *)md, ud);
}

static void typed_on_message(cgrpc_call *call, ProtobufCMessage *msg, void *ud)
{
  call->method->invoke_client_callback(call->typed[CGRPC_CALLBACK_MESSAGE], CGRPC_CALLBACK_MESSAGE,
                                       call, msg, ud);
}

static void typed_on_send_ready(cgrpc_call *call, void *ud)
{
  call->method->invoke_client_callback(call->typed[CGRPC_CALLBACK_SEND_READY],
                                       CGRPC_CALLBACK_SEND_READY, call, NULL, ud);
}

static void typed_on_done(cgrpc_call *call, cgrpc_status *status, void *ud)
{
  call->method->invoke_client_callback(call->typed[CGRPC_CALLBACK_DONE], CGRPC_CALLBACK_DONE,
                                       call, status, ud);
}

int cgrpc_call_start_stream_typed(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                  const ProtobufCMessage *request, const cgrpc_call_options *opts,
                                  const cgrpc_fn callbacks[CGRPC_CALLBACK_COUNT], void *user_data,
                                  cgrpc_call **call_out)
{
  if (callbacks == NULL || method == NULL || method->invoke_client_callback == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_call_callbacks cbs = {
      .on_headers = callbacks[CGRPC_CALLBACK_HEADERS] != NULL ? typed_on_headers : NULL,
      .on_message = callbacks[CGRPC_CALLBACK_MESSAGE] != NULL ? typed_on_message : NULL,
      .on_send_ready = callbacks[CGRPC_CALLBACK_SEND_READY] != NULL ? typed_on_send_ready : NULL,
      .on_done = callbacks[CGRPC_CALLBACK_DONE] != NULL ? typed_on_done : NULL,
  };
  return stream_start(ch, method, request, opts, &cbs, callbacks, user_data, call_out);
}

int cgrpc_call_send_flags(cgrpc_call *call, const ProtobufCMessage *msg, unsigned flags)
{
  if (call == NULL || !call->streaming || msg == NULL ||
      msg->descriptor != call->method->request)
    return CGRPC_ERR_INVALID_ARGUMENT;
  int enc = flags & CGRPC_SEND_NO_COMPRESS ? CGRPC_ENCODING_IDENTITY : call->req.send_enc;
  int rv = cgrpc_pipe_write_message(&call->pipe, msg, enc, call->ch->max_send,
                                    !(flags & CGRPC_SEND_NO_BLOCK));
  if (rv == CGRPC_ERR_TOO_LARGE) {
    /* Ends the call with RESOURCE_EXHAUSTED, as the server would. */
    __atomic_store_n(&call->cancel_code, CGRPC_STATUS_RESOURCE_EXHAUSTED, __ATOMIC_RELEASE);
    cgrpc_call_cancel(call);
    return CGRPC_ERR_CLOSED;
  }
  if (rv != 0)
    return rv;
  cgrpc_call_hook_send(call, msg);
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
  int resume = 0;
  int compressed = 0;
  int rv = cgrpc_pipe_read(&call->pipe, &m, 1, &resume, &compressed);
  if (resume && !__atomic_load_n(&call->finished, __ATOMIC_ACQUIRE))
    cgrpc_call_post(call, &call->resume_task);
  *msg = rv == 1 ? m : NULL;
  if (rv == 1)
    call->last_compressed = compressed;
  return rv;
}

int cgrpc_call_recv_headers(cgrpc_call *call, const cgrpc_metadata **md)
{
  static const cgrpc_metadata empty;
  if (md != NULL)
    *md = &empty;
  if (call == NULL || !call->streaming || call->has_callbacks || md == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (!cgrpc_pipe_wait_headers(&call->pipe))
    return 0;
  *md = call->headers; /* set before the pipe said so; the call's until it is freed */
  return 1;
}

cgrpc_code cgrpc_call_finish(cgrpc_call *call, cgrpc_status *status)
{
  if (call == NULL || !call->streaming || call->has_callbacks) {
    if (status != NULL)
      cgrpc_status_setf(status, NULL, CGRPC_STATUS_INTERNAL, "not a blocking streaming call");
    return CGRPC_STATUS_INTERNAL;
  }
  /* Messages not read are dropped: an answer waiting for them to be read can end now. */
  if (!__atomic_load_n(&call->finished, __ATOMIC_ACQUIRE))
    cgrpc_call_post(call, &call->drop_task);
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
