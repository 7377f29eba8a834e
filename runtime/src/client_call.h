/* Internal: the client call -- interceptor stages around attempts, each an HTTP/2 stream. */
#ifndef CGRPC_CLIENT_CALL_H
#define CGRPC_CLIENT_CALL_H

#include <cgrpc/channel.h>
#include <cgrpc/interceptor.h>

#include "conn.h"
#include "frame.h"
#include "list.h"
#include "loop.h"
#include "pipe.h"
#include "service_config.h"

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
  ProtobufCAllocator pb; /* alloc for protobuf-c: response messages */
  const cgrpc_method_desc *method;
  cgrpc_time deadline;
  cgrpc_metadata *md;              /* request metadata, or NULL */
  const ProtobufCMessage *request; /* only while the start function runs */
  uint8_t *req;                    /* the framed request (prefix + bytes), or NULL */
  size_t req_len;
  int req_owned;                   /* req is a buffer of its own (compressed) */
  int send_enc;                    /* requests' cgrpc_encoding */
  int last_compressed; /* the response message received last arrived compressed */

  /* The result of the current stage. */
  cgrpc_status status;
  ProtobufCMessage *response; /* unary calls */

  /* Completion of unary calls. */
  cgrpc_unary_done_invoker invoke;
  cgrpc_fn done_fn;
  void *done_user_data;
  int finished;         /* atomic: the outcome is known and told */
  int cancel_requested; /* atomic */
  int cancel_code;      /* atomic: the code a cancel ends the call with */

  /* Streaming calls (cgrpc_call_start_stream*): messages go through the pipe. */
  int streaming;
  int has_callbacks;
  cgrpc_call_callbacks cbs;
  void *cbs_user_data;
  cgrpc_pipe pipe;
  cgrpc_task send_task;   /* take what the application wrote */
  cgrpc_task credit_task; /* give window back for what it read */
  cgrpc_task ready_task;  /* on_send_ready */

  /* Stages: ctx[0..n-1] are interceptors, ctx[n] the network attempt. */
  size_t nstages;
  cgrpc_client_ctx *ctx;

  /* The current attempt; loop thread only. */
  int attempts;
  int attempt_active;
  cgrpc_conn *conn;
  int32_t stream_id;
  cgrpc_list node; /* in conn->streams, or the channel's pending list */
  cgrpc_sendbuf sendbuf; /* the inline request */
  cgrpc_sendq sendq;
  int send_closed;   /* the client's side ends once sendq drains */
  int data_deferred; /* the data provider waits for messages */
  cgrpc_frame_decoder dec;
  int http_status;
  int got_content_type;
  int grpc_status; /* -1 until received */
  int recv_enc;    /* the response's grpc-encoding (a cgrpc_encoding) */
  int n_messages;
  size_t header_bytes;
  cgrpc_status rx; /* message and metadata as received */
  cgrpc_timer deadline_timer;
  cgrpc_task start_task;
  cgrpc_task cancel_task;

  /* Retries (client_retry.c); loop thread only. */
  cgrpc_retry_policy retry;  /* the call's; max_attempts 0: none */
  int committed;             /* the attempt got response headers or a message */
  int final;                 /* ended here (cancel, deadline, channel closed): no retry */
  int refused;               /* the attempt's stream was refused before the server saw it */
  int wait_for_ready;        /* waits out TRANSIENT_FAILURE instead of failing */
  int fail_code;             /* nonzero: the call ends with it when it starts (credentials) */
  const char *fail_why;      /* static */
  /* Streaming: the messages sent so far, kept for another attempt until the call
   * commits (at most CGRPC_RETRY_BUFFER_LIMIT bytes); replay_lost once one could not be
   * kept, which makes the call unretriable. */
  cgrpc_sendbuf *replay_head, *replay_tail;
  size_t replay_bytes;
  int replay_lost;
  int transparent_retries;
  int backoff_n;             /* retries since the start or the last pushback */
  int64_t pushback_ms;       /* CGRPC_PUSHBACK_*, or the server's delay */
  int in_backoff;            /* waiting on retry_timer, in the channel's backoff list */
  cgrpc_timer retry_timer;

  /* Made on behalf of an incoming call (cgrpc_call_options_set_parent): linked to it
   * until this call ends, so that cancelling it cancels this one (call_links.c). */
  int has_parent;
  cgrpc_list parent_node;
};

/* ---- client_call.c: the call --------------------------------------------------------- */

void cgrpc_call_ref(cgrpc_call *call);
void cgrpc_call_unref(cgrpc_call *call);
/* Creates a call (request may be NULL for client-streaming and bidi). */
int cgrpc_call_new(cgrpc_call **out, cgrpc_channel *ch, const cgrpc_method_desc *method,
                   const ProtobufCMessage *request, const cgrpc_call_options *opts);
/* Runs the stages from the first; request is valid meanwhile. */
void cgrpc_call_run(cgrpc_call *call);
/* Replaces the current result with a local status (and drops a response). */
void cgrpc_call_set_result(cgrpc_call *call, cgrpc_code code, const char *fmt, va_list ap)
    CGRPC_PRINTF(3, 0);
/* The outcome is final: tell the application. */
void cgrpc_call_complete(cgrpc_call *call);

/* ---- client_attempt.c: one attempt on the network -------------------------------------- */

/* Sets up the attempt machinery of a new call. */
void cgrpc_attempt_init(cgrpc_call *call);
/* Starts the network attempt (any thread): it goes to the loop. */
void cgrpc_attempt_begin(cgrpc_call *call);
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
/* Streaming: takes what the application wrote into the stream.  Loop thread. */
void cgrpc_attempt_take_outgoing(cgrpc_call *call);
/* Resets the per-attempt state for another attempt.  Loop thread (or before the first). */
void cgrpc_attempt_reset(cgrpc_call *call);
/* Runs an attempt now.  Loop thread. */
void cgrpc_attempt_start(cgrpc_call *call);

/* ---- client_retry.c: retries ------------------------------------------------------------ */

/* The call's retry policy and idempotency key, from its method, the channel's service config
 * entry for it (mc, or NULL) and opts. */
int cgrpc_call_setup_policy(cgrpc_call *call, const cgrpc_method_config *mc,
                            const cgrpc_call_options *opts);
/* The attempt ended with call->status: schedules another and returns 1, or returns 0
 * when the status is final.  Loop thread. */
int cgrpc_retry_after_attempt(cgrpc_call *call);
/* Sets up the retry machinery of a new call. */
void cgrpc_retry_init(cgrpc_call *call);
/* Ends a call waiting between attempts with the status it has now.  Loop thread. */
void cgrpc_retry_end_backoff(cgrpc_call *call);
/* A streaming message buffer is done with (sent, or dropped by an attempt that ended): keep
 * it for a retry, or free it.  Loop thread. */
void cgrpc_retry_buffer_keep(cgrpc_call *call, cgrpc_sendbuf *b);
/* Puts the kept messages back into the attempt's send queue (a retry starts).  Loop thread. */
void cgrpc_retry_buffer_resend(cgrpc_call *call);
/* Frees the kept messages (the call committed or ended). */
void cgrpc_retry_buffer_clear(cgrpc_call *call);
/* Ends every call of ch waiting between attempts (channel closing).  Loop thread. */
void cgrpc_retry_fail_backoffs(cgrpc_channel *ch, cgrpc_code code, const char *msg);

/* Posts one of the call's tasks, which then holds a reference until it has
 * run (the call may be released meanwhile).  Any thread. */
void cgrpc_call_post(cgrpc_call *call, cgrpc_task *t);

#endif
