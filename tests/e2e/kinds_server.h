/* An in-process server with one method of each kind (and a few with a purpose), for the suites
 * that watch calls from both ends: interceptors, headers, handler pools.  Its methods are
 * described by hand over e2e.proto's messages, so these suites test the runtime's API
 * whatever the generated stubs look like. */
#ifndef CGRPC_TEST_KINDS_SERVER_H
#define CGRPC_TEST_KINDS_SERVER_H

#include <cgrpc/cgrpc.h>

#include "e2e.pb-c.h"

/* The methods (kinds_methods[i]):
 *   K_UNARY     EchoRequest -> EchoReply: the payload back; status_code/sleep_ms as asked.
 *   K_DOWNLOAD  EchoRequest -> stream Chunk: response_size chunks (seq 0, 1, ...); status_code
 *               at once instead, when set (a Trailers-Only answer).
 *   K_UPLOAD    stream Chunk -> UploadSummary: counts them.
 *   K_CHAT      stream Chunk <-> stream Chunk: each one back.
 *   K_FLAKY     EchoRequest -> EchoReply: UNAVAILABLE for the first status_code attempts of a
 *               call (by grpc-previous-rpc-attempts), then OK.
 *   K_EARLY     stream Chunk <-> stream Chunk: sends its headers (initial metadata
 *               "x-early: yes") before reading anything, then echoes as K_CHAT.
 *   K_HOLD      EchoRequest -> stream Chunk: one chunk, then blocks (a blocking handler
 *               holding its thread) until kinds_release() or the call is cancelled.
 *   K_RELAY     stream Chunk <-> stream Chunk: K_CHAT from callbacks, holding no thread.
 *   K_PROXY     EchoRequest -> EchoReply: calls K_UNARY on the kinds_set_downstream channel
 *               with the request, as a child call (cgrpc_call_options_set_parent), and answers
 *               with its code; OK when there is no downstream. */
enum { K_UNARY, K_DOWNLOAD, K_UPLOAD, K_CHAT, K_FLAKY, K_EARLY, K_HOLD, K_RELAY, K_PROXY, K_COUNT };
extern const cgrpc_method_desc kinds_methods[K_COUNT];

typedef struct kinds_server {
  cgrpc_server *srv;
  int port;
} kinds_server;

/* Starts a server with opts (NULL: the defaults) serving every method; fails the test if it
 * cannot. */
void kinds_start(kinds_server *k, const cgrpc_server_options *opts);
/* The same, returning the first failure's cgrpc error instead (k->srv then NULL). */
int kinds_try_start(kinds_server *k, const cgrpc_server_options *opts);
void kinds_stop(kinds_server *k);

/* The channel K_PROXY calls (NULL: none). */
void kinds_set_downstream(cgrpc_channel *ch);

/* Lets every K_HOLD handler return (OK). */
void kinds_release(void);
/* How many K_HOLD handlers are blocked now. */
int kinds_holding(void);
/* What K_EARLY's handler got when it tried to add initial metadata, and to send its headers
 * again, after sending them (both must be CGRPC_ERR_STATE). */
int kinds_early_late_md_rv(void);
int kinds_early_second_send_rv(void);

#endif
