/* cgrpc — client interceptors: code that wraps every unary call on a channel. */
#ifndef CGRPC_INTERCEPTOR_H
#define CGRPC_INTERCEPTOR_H

#include <cgrpc/channel.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A client interceptor (cgrpc_channel_options_add_interceptor) is called
 * once per call, outermost first, with a context for its stage of the call.
 * It may read and change the call before it goes out (metadata, deadline),
 * then either
 *   - cgrpc_client_ctx_proceed(ctx, done, ud): run the inner stages (the
 *     next interceptors, then the network attempt); when they end, done runs
 *     and sees their result, which it may change, and then calls
 *     cgrpc_client_ctx_finish -- or cgrpc_client_ctx_proceed again, to retry
 *     (the runtime's own retries, per the call's retry policy, happen inside
 *     the interceptors and share one budget per call: attempts made before
 *     count towards max_attempts and grpc-previous-rpc-attempts, and a client
 *     stream's messages are not kept for an interceptor's retry);
 *   - or cgrpc_client_ctx_fail + cgrpc_client_ctx_finish: end the call
 *     without going further.
 * Interceptors and done callbacks must not block.  They run on the thread
 * that started the call or on the channel's I/O thread.
 */
typedef void (*cgrpc_client_done_fn)(cgrpc_client_ctx *ctx, void *user_data);

/* Runs the inner stages.  done may be NULL: the result then passes outwards
 * unchanged.  A previous result (status and response) is discarded first. */
CGRPC_EXTERN void cgrpc_client_ctx_proceed(cgrpc_client_ctx *ctx, cgrpc_client_done_fn done,
                                           void *user_data);

/* Ends this stage; its current result passes to the stage outside it. */
CGRPC_EXTERN void cgrpc_client_ctx_finish(cgrpc_client_ctx *ctx);

/* Replaces the result with a status of the interceptor's own (fmt may be
 * NULL); the response, if any, is dropped. */
CGRPC_EXTERN void cgrpc_client_ctx_fail(cgrpc_client_ctx *ctx, cgrpc_code code, const char *fmt,
                                        ...) CGRPC_PRINTF(3, 4);

/* The result so far: the status (mutable) and the response (or NULL). */
CGRPC_EXTERN cgrpc_status *cgrpc_client_ctx_status(cgrpc_client_ctx *ctx);
CGRPC_EXTERN const ProtobufCMessage *cgrpc_client_ctx_response(const cgrpc_client_ctx *ctx);

CGRPC_EXTERN const cgrpc_method_desc *cgrpc_client_ctx_method(const cgrpc_client_ctx *ctx);
CGRPC_EXTERN cgrpc_channel *cgrpc_client_ctx_channel(const cgrpc_client_ctx *ctx);

/* The request message: valid only until the function that started the call
 * returns (the runtime keeps the serialised bytes, not the message). */
CGRPC_EXTERN const ProtobufCMessage *cgrpc_client_ctx_request(const cgrpc_client_ctx *ctx);

/* Request metadata, to read or add to before proceeding.  NULL on
 * allocation failure.  Owned by the call. */
CGRPC_EXTERN cgrpc_metadata *cgrpc_client_ctx_metadata(cgrpc_client_ctx *ctx);

/* The call's absolute deadline (CGRPC_TIME_INFINITE: none), and a new one. */
CGRPC_EXTERN cgrpc_time cgrpc_client_ctx_deadline(const cgrpc_client_ctx *ctx);
CGRPC_EXTERN void cgrpc_client_ctx_set_deadline(cgrpc_client_ctx *ctx, cgrpc_time deadline);

#ifdef __cplusplus
}
#endif
#endif
