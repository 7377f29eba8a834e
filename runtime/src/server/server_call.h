/* Internal: the server call -- one HTTP/2 stream, decoded, handed to a handler, answered.
 * Two sides share it: the stream side on the I/O thread (server_call.c) and the handler's
 * side (server_handler.c), which owns the answer from dispatch until it finishes. */
#ifndef CGRPC_SERVER_CALL_H
#define CGRPC_SERVER_CALL_H

#include "base/arena.h"
#include "base/links.h"
#include "server/registry.h"
#include "server/server_core.h"
#include "stream/pipe.h"
#include "stream/stream.h"
#include "transport/conn.h"

/* The stream side's life (loop thread).  Moves only through call_set_state (server_call.c),
 * which checks them. */
typedef enum cgrpc_server_call_state {
  CGRPC_SCALL_HEADERS,  /* the request headers are coming */
  CGRPC_SCALL_OPEN,     /* they were good: the request is read, the handler dispatched */
  CGRPC_SCALL_ANSWERED, /* our answer, or a rejection, is submitted: the rest is ignored */
  CGRPC_SCALL_CLOSED    /* the stream is gone (closed, reset, or its connection died) */
} cgrpc_server_call_state;

/* Whether and how a handler answers after returning (handler side, atomic). */
typedef enum cgrpc_server_defer {
  CGRPC_DEFER_NONE,         /* the handler's return value is the answer */
  CGRPC_DEFER_RUNNING,      /* it called cgrpc_server_call_defer and still runs */
  CGRPC_DEFER_RETURNED,     /* it returned: cgrpc_server_call_finish answers */
  CGRPC_DEFER_FINISHED_EARLY /* finish came before it returned: its return answers */
} cgrpc_server_defer;

typedef struct cgrpc_server_stage {
  cgrpc_server_done_fn done;
  void *user_data;
} cgrpc_server_stage;

/* An interceptor's attachment (cgrpc/extension.h), in the call's arena. */
typedef struct cgrpc_server_attachment {
  struct cgrpc_server_attachment *next;
  const void *kind;
  void *data;
  void (*free_fn)(void *data);
} cgrpc_server_attachment;

/* The request as the stream side parsed it. */
typedef struct cgrpc_server_request {
  const cgrpc_registry_entry *entry;
  const char *path;
  const char *authority;
  const char *peer;
  const char *peer_identity; /* TLS client certificate: "=subject\0san\0...\0", or NULL */
  cgrpc_metadata *md;
  cgrpc_time deadline;
  int previous_attempts; /* grpc-previous-rpc-attempts: a client's retry */
  int bad_method;        /* :method is not POST */
  int got_content_type;  /* an application/grpc one */
  cgrpc_code header_error; /* OK, or why the headers are unusable */
  const char *header_error_msg;
  size_t header_bytes;
  int streams_in;  /* requests come through the pipe (client-streaming, bidi) */
  int streams_out; /* responses go through it (server-streaming, bidi) */
  ProtobufCMessage *request; /* unary and server-streaming: the one request */
  uint8_t *raw;              /* or, until the handler's thread decodes it, as it came (arena) */
  size_t raw_len;
  int raw_encoding;
  int last_compressed;       /* the request, or the last message recv gave, was */
} cgrpc_server_request;

/* The answer the handler's side builds. */
typedef struct cgrpc_server_answer {
  ProtobufCMessage *response; /* unary and client-streaming */
  cgrpc_code code;
  const char *message;
  cgrpc_metadata *initial_md;
  cgrpc_metadata *trailing_md;
  int send_enc;       /* responses' cgrpc_encoding */
  cgrpc_buf resp_buf; /* a single response, framed, in the arena */
  int headers_frozen; /* atomic: the initial metadata is out, or going */
} cgrpc_server_answer;

struct cgrpc_server_call {
  /* First: a client call made on this one's behalf (cgrpc_call_options_set_parent) finds its
   * deadline and cancellation here without knowing the server call. */
  cgrpc_link_parent links;
  cgrpc_server *srv;
  int refs; /* loop thread: the stream's, and the handler's while it runs */
  cgrpc_arena arena;
  cgrpc_allocator arena_alloc; /* allocates in arena; for metadata */
  cgrpc_time start_time;

  /* The stream side; loop thread. */
  cgrpc_server_call_state state;
  unsigned dispatched : 1;     /* the handler's side has it */
  unsigned shut_rd : 1;        /* the client ended its side */
  unsigned headers_sent : 1;   /* our response HEADERS are submitted */
  unsigned rst_after_send : 1; /* reset the stream once our END_STREAM is out */
  unsigned rejected : 1;       /* the runtime ended it mid-stream with reject_* */
  unsigned has_callbacks : 1;  /* deliver through cbs rather than the pipe */
  unsigned recv_done_told : 1; /* on_recv_done has run */
  unsigned md_dropped : 1;     /* the handler's metadata did not fit: the answer goes without */
  unsigned final_known : 1;    /* the stream side settled the status the call ends with */
  cgrpc_conn *conn;
  cgrpc_list node; /* in conn->streams */
  cgrpc_stream stream;
  cgrpc_timer deadline_timer;
  cgrpc_code reject_code;
  char reject_msg[128];
  /* The status the call ends with, for the interceptors' on_done: it runs once both the
   * stream side has settled it and the handler's side has finished (done_parties). */
  cgrpc_code final_code;
  char final_msg[128];
  int done_parties; /* atomic */
  cgrpc_task dispatch_task;
  cgrpc_task respond_task;
  cgrpc_task send_task;      /* take what a streaming handler sent */
  cgrpc_task resume_task;    /* a reader made room: decode what waits */
  cgrpc_task ready_task;     /* on_send_ready */
  cgrpc_task callbacks_task; /* the handler switched to callbacks */
  cgrpc_task headers_task;   /* the handler sends its headers now */
  cgrpc_task fail_recv_task; /* a reader could not decode a request message */

  cgrpc_server_request req; /* loop thread until dispatched, then read-only */

  /* The handler's side: once dispatched, arena, answer and metadata are its own until its
   * answer is posted back. */
  size_t stage;
  size_t nstages;
  cgrpc_server_stage *stages;
  size_t entered;   /* atomic: interceptor stages entered so far (their hooks run) */
  int defer_state;  /* atomic: a cgrpc_server_defer */
  int handler_done; /* atomic: finished; no callback starts any more */
  cgrpc_server_answer ans;
  const ProtobufCMessage *last_recv; /* freed at the next recv */
  cgrpc_budget *inflated;            /* streams in: the connection's (server_call.c) */
  size_t inflated_held;              /* what last_recv took of it (the reader's thread) */
  cgrpc_pipe pipe;                  /* streaming kinds */
  cgrpc_server_call_callbacks cbs;
  void *cbs_user_data;
  cgrpc_fn typed[CGRPC_SERVER_CALLBACK_COUNT]; /* generated code's typed callbacks, behind cbs */
  cgrpc_server_attachment *attachments;

  max_align_t arena_mem[96]; /* the arena's first chunk */
};

/* ---- server_call.c: the stream (I/O thread) ------------------------------------------------ */

/* nghttp2 callbacks of the server role. */
void cgrpc_server_conn_setup(nghttp2_session_callbacks *cbs);
/* conn died: every call on it is cancelled and let go. */
void cgrpc_server_conn_fail_streams(cgrpc_conn *conn);
/* Shutdown's grace ran out: cancel whatever is still running on conn. */
void cgrpc_server_conn_cancel_streams(cgrpc_conn *conn);
/* The handler's side has finished: the answer goes out (any thread). */
void cgrpc_server_call_answer(cgrpc_server_call *call);
/* From the handler's side (any thread): the loop takes what it sent, resumes decoding after
 * a reader made room, switches to the callbacks, sends the response headers now. */
void cgrpc_server_call_post_send(cgrpc_server_call *call);
void cgrpc_server_call_post_resume(cgrpc_server_call *call);
/* A reader could not decode a request message (CGRPC_ERR_PROTO from the pipe): the loop ends
 * the call with the pipe's failure.  Any thread. */
void cgrpc_server_call_post_fail_recv(cgrpc_server_call *call);
void cgrpc_server_call_post_callbacks(cgrpc_server_call *call);
void cgrpc_server_call_post_headers(cgrpc_server_call *call);

/* ---- server_handler.c: the handler's side -------------------------------------------------- */

/* Runs the interceptors and the handler (the dispatch task). */
void cgrpc_server_call_run(void *call);
/* Nonzero once the call can no longer succeed. */
int cgrpc_server_call_cancelled(const cgrpc_server_call *call);
/* Nonzero when the callbacks of an asynchronous handler may run. */
int cgrpc_server_call_callbacks_live(const cgrpc_server_call *call);
/* The interceptors' hooks, each once per message (see server.h); nothing to do without
 * interceptors, the common case, which costs a test. */
void cgrpc_server_call_hook_recv_(cgrpc_server_call *call, const ProtobufCMessage *msg);
void cgrpc_server_call_hook_send_(cgrpc_server_call *call, const ProtobufCMessage *msg);
static inline void cgrpc_server_call_hook_recv(cgrpc_server_call *call, const ProtobufCMessage *msg)
{
  if (call->srv->ninterceptors > 0)
    cgrpc_server_call_hook_recv_(call, msg);
}
static inline void cgrpc_server_call_hook_send(cgrpc_server_call *call, const ProtobufCMessage *msg)
{
  if (call->srv->ninterceptors > 0)
    cgrpc_server_call_hook_send_(call, msg);
}
/* One side is done with a dispatched call (the stream side having settled its final status,
 * or the handler's side having finished); the second runs the on_done hooks. */
void cgrpc_server_call_party_done(cgrpc_server_call *call);

#endif
