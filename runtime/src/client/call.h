/* Internal: a client call -- what the application started: its policy, its interceptor
 * stages around the network stage, where attempts (client/attempt.h) are made and retried
 * (client/retry.h), and how the outcome reaches the application (a unary callback, a pipe to
 * blocking streaming readers and writers, or streaming callbacks). */
#ifndef CGRPC_CALL_H
#define CGRPC_CALL_H

#include <stdarg.h>

#include <cgrpc/channel.h>
#include <cgrpc/interceptor.h>

#include "base/bufq.h"
#include "base/links.h"
#include "base/list.h"
#include "base/loop.h"
#include "client/attempt.h"
#include "client/channel_core.h"
#include "client/policy.h"
#include "client/retry.h"
#include "stream/pipe.h"

/* A call's life.  Moves only through call_set_state (call.c), which checks them. */
typedef enum cgrpc_call_state {
  CGRPC_CALL_STARTING, /* made; interceptors' start hooks run (the starting thread) */
  CGRPC_CALL_ATTEMPT,  /* the network stage: an attempt is out, or waits for a connection */
  CGRPC_CALL_BACKOFF,  /* the network stage: waiting to retry */
  CGRPC_CALL_STAGES,   /* the network stage is over; interceptors finish (or proceed again) */
  CGRPC_CALL_DONE      /* the outcome is told */
} cgrpc_call_state;

struct cgrpc_client_ctx {
  cgrpc_call *call;
  size_t stage;
  cgrpc_client_done_fn done;
  void *done_user_data;
  void *data; /* the interceptor's own */
};

struct cgrpc_call {
  int refs; /* atomic */
  cgrpc_call_state state;
  cgrpc_channel *ch;
  const cgrpc_allocator *alloc; /* &alloc_copy: handles may outlive the channel */
  cgrpc_allocator alloc_copy;
  ProtobufCAllocator pb; /* response messages */
  const cgrpc_method_desc *method;
  cgrpc_time start_time;
  cgrpc_call_policy policy;
  cgrpc_attempt_req req;           /* what every attempt sends: path, metadata, deadline... */
  cgrpc_metadata *md;              /* request metadata, or NULL */
  const ProtobufCMessage *request; /* only while the start function runs */
  cgrpc_buf req_buf;               /* unary and server-streaming: the framed request */
  uint8_t *req_owned;              /* its bytes when they have a buffer of their own */
  cgrpc_code fail_code;            /* not OK: the call ends so when it starts (credentials) */
  const char *fail_why;            /* static */

  /* The outcome so far (the current stage's result). */
  cgrpc_status status;
  ProtobufCMessage *response; /* unary calls */
  int last_compressed; /* the response message received last arrived compressed */
  cgrpc_metadata *headers; /* streaming: the response headers' metadata, once they came */

  /* How the application hears of it. */
  int streaming;
  int has_callbacks;
  cgrpc_unary_done_invoker invoke; /* unary */
  cgrpc_fn done_fn;
  void *done_user_data;
  cgrpc_call_callbacks cbs; /* asynchronous streaming */
  void *cbs_user_data;
  cgrpc_fn typed[CGRPC_CALLBACK_COUNT]; /* generated code's typed callbacks, behind cbs */
  cgrpc_pipe pipe; /* streaming: messages both ways, headers, the end */

  /* Across threads. */
  int finished;         /* atomic: the outcome is known and told */
  int cancel_requested; /* atomic */
  int cancel_code;      /* atomic: the code a cancel ends the call with */
  cgrpc_task start_task;  /* the network stage begins */
  cgrpc_task cancel_task;
  cgrpc_task send_task;   /* streaming: take what the application wrote */
  cgrpc_task resume_task; /* streaming: a reader made room: decode what waits */
  cgrpc_task drop_task;   /* streaming: the reader stopped reading (finish) */
  cgrpc_task ready_task;  /* on_send_ready */

  /* The network stage; loop thread only. */
  int final;             /* ended here (cancel, deadline, channel closed): no retry */
  cgrpc_timer deadline_timer;
  cgrpc_timer retry_timer;
  cgrpc_list backoff_node; /* in the channel's backoff list while waiting to retry */
  cgrpc_attempt attempt;
  cgrpc_retry retry;

  /* Stages: ctx[0..n-1] are the channel's interceptors, ctx[n] the network stage. */
  size_t nstages;
  size_t entered; /* interceptor stages entered so far: on_done goes to these */
  cgrpc_client_ctx *ctx;

  /* Made on behalf of an incoming call (cgrpc_call_options_set_parent): linked to it until
   * this call ends, so that cancelling it cancels this one. */
  int has_parent;
  const cgrpc_server_call *parent; /* the same, for interceptors' start (cgrpc_client_ctx_parent) */
  cgrpc_link_child parent_link;
};

/* ---- call.c ---- */

/* Creates a call (request: the one request of unary and server-streaming methods, else
 * NULL).  Returns 0, CGRPC_ERR_INVALID_ARGUMENT, CGRPC_ERR_TOO_LARGE or CGRPC_ERR_NOMEM. */
int cgrpc_call_new(cgrpc_call **out, cgrpc_channel *ch, const cgrpc_method_desc *method,
                   const ProtobufCMessage *request, const cgrpc_call_options *opts);
void cgrpc_call_ref(cgrpc_call *call);
void cgrpc_call_unref(cgrpc_call *call);
/* Runs the stages from the first; call->request is valid meanwhile. */
void cgrpc_call_run(cgrpc_call *call);
/* Runs stage (an interceptor's start, or the network stage). */
void cgrpc_call_run_stage(cgrpc_call *call, size_t stage);
/* Stage has ended: its result passes outwards (or, from the outermost, to the application). */
void cgrpc_call_finish_stage(cgrpc_call *call, size_t stage);
/* Replaces the current result with a local status (and drops a response). */
void cgrpc_call_set_result(cgrpc_call *call, cgrpc_code code, const char *fmt, va_list ap)
    CGRPC_PRINTF(3, 0);
/* Drops the current result before a stage runs again. */
void cgrpc_call_clear_result(cgrpc_call *call);
/* Posts one of the call's tasks, which then holds a reference until it has run.  Any thread. */
void cgrpc_call_post(cgrpc_call *call, cgrpc_task *t);
/* Runs the interceptors' on_send hooks for msg (outermost first). */
void cgrpc_call_hook_send(cgrpc_call *call, const ProtobufCMessage *msg);
/* Ends every call of ch waiting between attempts (the channel closes).  Loop thread. */
void cgrpc_call_fail_backoffs(cgrpc_channel *ch, cgrpc_code code, const char *why);

#endif
