/* Internal: the server call -- one HTTP/2 stream, decoded, handed to a handler, answered. */
#ifndef CGRPC_SERVER_CALL_H
#define CGRPC_SERVER_CALL_H

#include "arena.h"
#include "conn.h"
#include "pipe.h"
#include "frame.h"
#include "registry.h"
#include "server_internal.h"

typedef struct cgrpc_server_stage {
  cgrpc_server_done_fn done;
  void *user_data;
} cgrpc_server_stage;

struct cgrpc_server_call {
  cgrpc_server *srv;
  int refs; /* loop thread: the stream's, and the handler's while it runs */
  cgrpc_arena arena;
  cgrpc_allocator arena_alloc; /* allocates in arena; for metadata */

  /* The stream; loop thread. */
  cgrpc_conn *conn;
  int32_t stream_id;
  cgrpc_list node; /* in conn->streams */
  int stream_closed;
  int request_done; /* the client ended its side */
  int previous_attempts; /* grpc-previous-rpc-attempts: a client's retry */
  cgrpc_list children;   /* outgoing calls made for this one (call_links.c) */
  int had_children;      /* set by the handler's thread before its first child links */
  int responded;    /* the answer is submitted; ignore the rest */
  int rst_after_send; /* reset the stream once our END_STREAM is out */
  cgrpc_frame_decoder dec;
  size_t header_bytes;
  cgrpc_timer deadline_timer;

  /* The request, as parsed. */
  const cgrpc_registry_entry *entry;
  const char *path;
  const char *authority;
  const char *peer;
  const char *peer_identity; /* TLS client certificate: "=subject\0san\0...\0", or NULL */
  cgrpc_metadata *md;
  cgrpc_time deadline;
  int bad_method;
  int got_content_type; /* an application/grpc one */
  int bad_timeout;
  int bad_encoding;
  int recv_enc;        /* the request's grpc-encoding (a cgrpc_encoding) */
  int last_compressed; /* the request, or the last message recv gave, was */
  cgrpc_code header_error; /* OK, or why the headers are unusable */
  const char *header_error_msg;
  int n_messages;
  ProtobufCMessage *request;

  /* The handler's side: once dispatched, arena, response, status and
   * metadata are the handler thread's until its answer is posted back. */
  int dispatched;
  int cancelled; /* atomic */
  size_t stage;
  size_t nstages;
  cgrpc_server_stage *stages;
  int defer_state; /* atomic; see server_handler.c */
  ProtobufCMessage *response;
  cgrpc_code code;
  const char *message;
  cgrpc_metadata *initial_md;
  cgrpc_metadata *trailing_md;
  int headers_frozen; /* handler: initial metadata went out with the first message */
  int send_enc;       /* responses' cgrpc_encoding */
  uint8_t *resp; /* framed response, in the arena */
  size_t resp_len;
  cgrpc_sendbuf sendbuf;
  cgrpc_sendq sendq;
  cgrpc_task dispatch_task;
  cgrpc_task respond_task;

  /* Streaming kinds.  streams_in: requests come through the pipe (client-
   * streaming, bidi); streams_out: responses go through it (server-
   * streaming, bidi). */
  int streams_in;
  int streams_out;
  cgrpc_pipe pipe;
  const ProtobufCMessage *last_recv; /* handler: freed at the next recv */
  int headers_sent;  /* loop: response HEADERS submitted */
  int send_closed;   /* loop: trailers follow once sendq drains */
  int data_deferred; /* loop: the data provider waits for messages */
  cgrpc_code reject_code; /* loop: a status of the runtime's own, mid-stream */
  char reject_msg[128];
  int rejected;
  cgrpc_task send_task;
  cgrpc_task credit_task;
  cgrpc_task ready_task;
  cgrpc_task callbacks_task;
  int has_callbacks; /* loop: deliver through cbs rather than the pipe */
  int handler_done;  /* atomic: finished; no callback starts any more */
  cgrpc_server_call_callbacks cbs;
  void *cbs_user_data;

  /* What an authentication interceptor learnt of the caller (e.g. verified JWT claims),
   * tagged by kind; auth_free(auth) runs when the call is freed. */
  const void *auth_kind;
  void *auth;
  void (*auth_free)(void *auth);

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

/* ---- server_handler.c: the handler's side -------------------------------------------------- */

/* Runs the interceptors and the handler (the dispatch task). */
void cgrpc_server_call_run(void *call);
/* Nonzero once the call can no longer succeed. */
int cgrpc_server_call_cancelled(const cgrpc_server_call *call);
/* Links an outgoing call made on this call's behalf (call_links.c); 1 when this call is
 * cancelled already.  Any thread. */
int cgrpc_server_call_link_child(cgrpc_server_call *call, cgrpc_list *child_node);
/* Nonzero when the callbacks of an asynchronous handler may run. */
int cgrpc_server_call_callbacks_live(const cgrpc_server_call *call);

/* Attaches auth of a kind (the address of something static of its module) to the call, in
 * place of any attached before, which is freed; free_fn may be NULL.  From interceptors. */
void cgrpc_server_call_set_auth(cgrpc_server_call *call, const void *kind, void *auth,
                                void (*free_fn)(void *auth));
/* The auth attached to the call if it is of kind, else NULL. */
void *cgrpc_server_call_get_auth(const cgrpc_server_call *call, const void *kind);

#endif
