/* cgrpc — client interceptors: code that wraps every call on a channel, of every kind. */
#ifndef CGRPC_INTERCEPTOR_H
#define CGRPC_INTERCEPTOR_H

#include <cgrpc/channel.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A client interceptor is a set of hooks (cgrpc_client_interceptor_hooks), each optional,
 * added to a channel's options; every call on the channel -- unary, client-streaming,
 * server-streaming, bidi, blocking or asynchronous -- goes through them.  Each hook gets a
 * context for its interceptor's stage of the call (cgrpc_client_ctx) and the user_data it was
 * added with.
 *
 * Order: interceptors are kept in the order added, the first the outermost.  Hooks on the
 * way out (start, on_send) run outermost first; hooks on the way in (on_headers, on_recv,
 * on_done) run innermost first, as each wraps the ones inside it.
 *
 * Threading: start and on_send run on the thread that starts the call or sends the message;
 * on_headers, on_recv and on_done run on the channel's I/O thread (on_done on the starting
 * thread when an interceptor ends the call at once).  None may block.  Hooks of one call never
 * run concurrently with each other, except that on_send of a client stream (on the sending
 * thread) may run alongside the others (on the I/O thread).
 *
 * start decides whether and how the call goes on; it must either
 *   - cgrpc_client_ctx_proceed(ctx, done, ud): run the inner stages (the next interceptors,
 *     then the network attempts); when they end, done runs and sees their result, which it
 *     may change, and then calls cgrpc_client_ctx_finish -- or cgrpc_client_ctx_proceed
 *     again, to retry a unary call (the runtime's own retries, per the call's retry policy,
 *     happen inside the interceptors and share one budget per call: attempts made before
 *     count towards max_attempts and grpc-previous-rpc-attempts, and a client stream's
 *     messages are not kept for an interceptor's retry);
 *   - or cgrpc_client_ctx_fail + cgrpc_client_ctx_finish: end the call without going
 *     further (a circuit breaker, a cache).
 * A NULL start proceeds with no done callback.
 *
 * The other hooks observe: they see each message and the outcome without owning or changing
 * them, so a metrics or tracing interceptor can count messages and time a stream of any kind
 * without touching its payload.
 */
typedef void (*cgrpc_client_done_fn)(cgrpc_client_ctx *ctx, void *user_data);

typedef struct cgrpc_client_interceptor_hooks {
  /* The call starts: may read and change it (metadata, deadline), then proceeds or fails. */
  void (*start)(cgrpc_client_ctx *ctx, void *user_data);
  /* The application hands over a request message: a unary or server-streaming call's one
   * request just before this interceptor's start, each message of a client stream in
   * cgrpc_call_send.  msg is valid during the hook. */
  void (*on_send)(cgrpc_client_ctx *ctx, const ProtobufCMessage *msg, void *user_data);
  /* The response headers arrived (not for a Trailers-Only answer); md is their custom
   * metadata (never NULL), valid during the hook. */
  void (*on_headers)(cgrpc_client_ctx *ctx, const cgrpc_metadata *md, void *user_data);
  /* A response message arrived, before the application gets it; valid during the hook. */
  void (*on_recv)(cgrpc_client_ctx *ctx, const ProtobufCMessage *msg, void *user_data);
  /* The call is over: status is its outcome as the application will see it (code, message,
   * trailing metadata, attempts), just before it does.  Only interceptors whose start ran
   * (an outer one may end the call before the inner ones start) hear of the end. */
  void (*on_done)(cgrpc_client_ctx *ctx, const cgrpc_status *status, void *user_data);
} cgrpc_client_interceptor_hooks;

/* Appends an interceptor made of hooks (the struct is copied).  Returns 0,
 * CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_channel_options_add_interceptor_hooks(
    cgrpc_channel_options *opts, const cgrpc_client_interceptor_hooks *hooks, void *user_data);

/* Runs the inner stages.  done may be NULL: the result then passes outwards unchanged.  A
 * previous result (status and response) is discarded first. */
CGRPC_EXTERN void cgrpc_client_ctx_proceed(cgrpc_client_ctx *ctx, cgrpc_client_done_fn done,
                                           void *user_data);

/* Ends this stage; its current result passes to the stage outside it. */
CGRPC_EXTERN void cgrpc_client_ctx_finish(cgrpc_client_ctx *ctx);

/* Replaces the result with a status of the interceptor's own (fmt may be NULL); the response,
 * if any, is dropped. */
CGRPC_EXTERN void cgrpc_client_ctx_fail(cgrpc_client_ctx *ctx, cgrpc_code code, const char *fmt,
                                        ...) CGRPC_PRINTF(3, 4);

/* The result so far: the status (mutable) and the unary response (or NULL). */
CGRPC_EXTERN cgrpc_status *cgrpc_client_ctx_status(cgrpc_client_ctx *ctx);
CGRPC_EXTERN const ProtobufCMessage *cgrpc_client_ctx_response(const cgrpc_client_ctx *ctx);

CGRPC_EXTERN const cgrpc_method_desc *cgrpc_client_ctx_method(const cgrpc_client_ctx *ctx);
CGRPC_EXTERN cgrpc_channel *cgrpc_client_ctx_channel(const cgrpc_client_ctx *ctx);

/* The request message of a unary or server-streaming call: valid only until the function that
 * started the call returns (the runtime keeps the serialised bytes, not the message); NULL for
 * client streams. */
CGRPC_EXTERN const ProtobufCMessage *cgrpc_client_ctx_request(const cgrpc_client_ctx *ctx);

/* Request metadata, to read or add to before proceeding.  NULL on allocation failure.  Owned
 * by the call. */
CGRPC_EXTERN cgrpc_metadata *cgrpc_client_ctx_metadata(cgrpc_client_ctx *ctx);
/* The same, to read only: NULL when the call has none (nothing is allocated). */
CGRPC_EXTERN const cgrpc_metadata *cgrpc_client_ctx_request_metadata(const cgrpc_client_ctx *ctx);

/* The call's absolute deadline (CGRPC_TIME_INFINITE: none), and a new one (from start). */
CGRPC_EXTERN cgrpc_time cgrpc_client_ctx_deadline(const cgrpc_client_ctx *ctx);
CGRPC_EXTERN void cgrpc_client_ctx_set_deadline(cgrpc_client_ctx *ctx, cgrpc_time deadline);

/* The server call this one was made for (cgrpc_call_options_set_parent), or NULL: for
 * tracing, say.  Valid only in start (the parent may end afterwards). */
CGRPC_EXTERN const cgrpc_server_call *cgrpc_client_ctx_parent(const cgrpc_client_ctx *ctx);

/* When the call started (cgrpc_now()'s clock): for latency without keeping state. */
CGRPC_EXTERN cgrpc_time cgrpc_client_ctx_start_time(const cgrpc_client_ctx *ctx);

/* A pointer of the interceptor's own for this call (NULL until set), e.g. a span.  What it
 * points at is the interceptor's to free, at the latest in on_done. */
CGRPC_EXTERN void *cgrpc_client_ctx_data(const cgrpc_client_ctx *ctx);
CGRPC_EXTERN void cgrpc_client_ctx_set_data(cgrpc_client_ctx *ctx, void *data);

#ifdef __cplusplus
}
#endif
#endif
