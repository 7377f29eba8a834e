/* Internal: the client call -- interceptor stages, then attempts as HTTP/2 streams. */
#ifndef CGRPC_CLIENT_CALL_H
#define CGRPC_CLIENT_CALL_H

#include <cgrpc/channel.h>
#include <cgrpc/interceptor.h>

#include "conn.h"
#include "frame.h"
#include "list.h"
#include "loop.h"

struct cgrpc_client_ctx {
  cgrpc_call *call;
  size_t stage;
  cgrpc_client_done_fn done;
  void *done_user_data;
};

struct cgrpc_call {
  int refs; /* atomic */
  cgrpc_channel *ch;
  const cgrpc_allocator *alloc; /* &alloc_copy */
  cgrpc_allocator alloc_copy;
  const cgrpc_method_desc *method;
  cgrpc_time deadline;
  cgrpc_metadata *md;               /* request metadata, or NULL */
  const ProtobufCMessage *request;  /* only while the start function runs */
  uint8_t *req;                     /* framed request (prefix + bytes) */
  size_t req_len;

  /* The result of the current stage. */
  cgrpc_status status;
  ProtobufCMessage *response;

  /* Completion. */
  cgrpc_unary_done_invoker invoke;
  cgrpc_fn done_fn;
  void *done_user_data;
  int finished; /* atomic: the user has been told */
  int cancel_requested; /* atomic */

  /* Stages: ctx[0..n-1] are interceptors, ctx[n] the network attempt. */
  size_t nstages;
  cgrpc_client_ctx *ctx;

  /* The current attempt; loop thread only. */
  int attempt_active;
  cgrpc_conn *conn;
  int32_t stream_id;
  cgrpc_list node; /* in conn->streams, or the channel's pending list */
  cgrpc_sendbuf sendbuf;
  cgrpc_sendq sendq;
  cgrpc_frame_decoder dec;
  int http_status;
  int got_content_type;
  int grpc_status; /* -1 until received */
  int remote_closed;
  int n_messages;
  size_t header_bytes;
  cgrpc_status rx; /* message and metadata as received */
  cgrpc_timer deadline_timer;
  cgrpc_task start_task;
  cgrpc_task cancel_task;
};

/* nghttp2 callbacks of the client role. */
void cgrpc_client_conn_setup(nghttp2_session_callbacks *cbs);
/* Ends every attempt on conn (it died) with UNAVAILABLE. */
void cgrpc_client_conn_fail_streams(cgrpc_conn *conn);

/* Sends the attempt on conn (ready).  Loop thread. */
void cgrpc_client_call_submit(cgrpc_call *call, cgrpc_conn *conn);
/* Ends the current attempt with a local status; resets its stream if one is
 * open.  Loop thread. */
void cgrpc_client_call_abort(cgrpc_call *call, cgrpc_code code, const char *fmt, ...)
    CGRPC_PRINTF(3, 4);

#endif
