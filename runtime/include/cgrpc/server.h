/* cgrpc — server side: listeners, service registration, handlers and their calls. */
#ifndef CGRPC_SERVER_H
#define CGRPC_SERVER_H

#include <stdarg.h>

#include <cgrpc/common.h>
#include <cgrpc/metadata.h>
#include <cgrpc/method.h>
#include <cgrpc/status.h>
#include <cgrpc/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Threading.  A server has one I/O thread that accepts connections and runs
 * every HTTP/2 session, and two pools of handler threads.  When a unary
 * request is complete, the I/O thread decodes it and queues the call; a
 * thread of the fixed unary pool (cgrpc_server_options_set_handler_threads)
 * runs the server interceptors and the handler, encodes the response and
 * hands it back.  A streaming call (of any streaming kind) goes to the
 * streaming pool instead, which grows by a thread whenever every one of its
 * threads is busy, up to cgrpc_server_options_set_stream_handler_threads:
 * a blocking streaming handler holds its thread for as long as its stream
 * is open, and must not take the threads unary calls need.  So handlers run
 * concurrently, may block, and never hold up the connection; when a pool
 * runs out, calls wait for a thread and the runtime says so, once, in its
 * log (cgrpc/log.h).  A streaming handler that keeps its stream open without
 * holding a thread answers asynchronously (cgrpc_server_call_defer and
 * cgrpc_server_call_set_callbacks).  With 0 handler threads, every handler
 * runs on the I/O thread itself: the fastest choice for handlers that never
 * block, or that defer their answer.
 */
typedef struct cgrpc_server cgrpc_server;
typedef struct cgrpc_server_options cgrpc_server_options;

/* ---- options ------------------------------------------------------------ */

CGRPC_EXTERN int cgrpc_server_options_new(cgrpc_server_options **out);
CGRPC_EXTERN void cgrpc_server_options_free(cgrpc_server_options *opts);

/* Largest request message accepted (default 4 MiB); a larger one ends the
 * call with RESOURCE_EXHAUSTED.  -1: no limit. */
CGRPC_EXTERN void cgrpc_server_options_set_max_recv_message_size(cgrpc_server_options *opts,
                                                                 int64_t bytes);
/* Largest response message sent (default: no limit); a larger one ends the
 * call with RESOURCE_EXHAUSTED.  -1: no limit. */
CGRPC_EXTERN void cgrpc_server_options_set_max_send_message_size(cgrpc_server_options *opts,
                                                                 int64_t bytes);
/* Size of the handler thread pool (default: 2 x online CPUs, at least 4).
 * 0: run handlers on the I/O thread. */
CGRPC_EXTERN void cgrpc_server_options_set_handler_threads(cgrpc_server_options *opts,
                                                           int threads);
/* The most streaming handlers running at once (default 1024): their pool
 * starts empty and grows to this as streams open.  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT (max < 1). */
CGRPC_EXTERN int cgrpc_server_options_set_stream_handler_threads(cgrpc_server_options *opts,
                                                                 int max);
/* The most of those threads one connection's streams hold at once (default
 * 64, below the 100 streams a connection may open, so a client cannot take
 * the pool with a few connections); its further streams wait, in order,
 * until one of its own handlers returns -- they hold no thread meanwhile,
 * and their deadlines still run.  The first time this happens the log says
 * so.  A client that multiplexes more long-lived streams over one
 * connection needs this raised (or asynchronous handlers, which hold a
 * thread only while they run).  Returns 0 or CGRPC_ERR_INVALID_ARGUMENT
 * (max < 1). */
CGRPC_EXTERN int cgrpc_server_options_set_stream_handlers_per_connection(cgrpc_server_options *opts,
                                                                         int max);
/* When the handler of a stream the client sends on gets its thread: */
typedef enum cgrpc_stream_start {
  /* The default: client-streaming handlers as STREAM_START_ON_FIRST_MESSAGE,
   * bidi handlers as STREAM_START_AT_ONCE (a bidi handler may speak first). */
  CGRPC_STREAM_START_DEFAULT = 0,
  /* As soon as the stream opens, before any message. */
  CGRPC_STREAM_START_AT_ONCE,
  /* When the first request message arrives, or the client ends its side
   * with none: a stream that never sends holds no thread (and a handler's
   * first receive finds a message waiting).  For servers whose bidi
   * handlers all wait for the client to speak first. */
  CGRPC_STREAM_START_ON_FIRST_MESSAGE,
} cgrpc_stream_start;
/* With handlers on the I/O thread (0 handler threads) every handler starts
 * at once.  Returns 0 or CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_server_options_set_stream_start(cgrpc_server_options *opts,
                                                       cgrpc_stream_start when);
/* SETTINGS_MAX_CONCURRENT_STREAMS advertised per connection (default 100). */
CGRPC_EXTERN void cgrpc_server_options_set_max_concurrent_streams(cgrpc_server_options *opts,
                                                                  uint32_t n);
/*
 * At most n connections open at once, over all listeners (default 0: no
 * limit).  At n the server stops accepting: a new connection waits in the
 * kernel's listen backlog (TCP handshake done, nothing read from it, no
 * SETTINGS sent, so its calls wait -- up to their deadline) and is accepted,
 * oldest first, as soon as an open one closes.  Beyond the backlog (1024, or
 * net.core.somaxconn if smaller) the kernel drops the client's SYNs and its
 * connect retries.  This is what nginx does at worker_connections and Go's
 * netutil.LimitListener: a burst over the limit is queued, not failed, and
 * no client is sent into reconnect backoff (which could keep it away for
 * up to 2 minutes after room frees).  The other way, accept-and-close
 * (grpc C-core's connection quota, Envoy's overload manager), fails calls
 * fast with UNAVAILABLE so that clients go elsewhere; where that is wanted,
 * give calls short deadlines or put the limit in the load balancer.  A
 * connection counts from accept until it is closed, including while it
 * drains after GOAWAY (max_connection_age, too_many_pings).  Size n with
 * the process's fd limit (RLIMIT_NOFILE) in mind.  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT.
 */
CGRPC_EXTERN int cgrpc_server_options_set_max_connections(cgrpc_server_options *opts,
                                                          uint32_t n);
/* Glitches: streams a client resets, streams the server must reset because the
 * client broke a rule (flow control, concurrency, header size), and empty
 * DATA frames -- work for the server that serves no request.  Each client
 * address (all its connections together) and each connection may have
 * burst of them (default 20000), then per_second more (default 5000);
 * past that, the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed
 * (its calls cancelled), and so is any connection from that address that
 * glitches before the budget has refilled.  Reconnecting does not start
 * the count over.  Returns 0 or CGRPC_ERR_INVALID_ARGUMENT (burst < 1). */
CGRPC_EXTERN int cgrpc_server_options_set_glitch_limit(cgrpc_server_options *opts, uint32_t burst,
                                                       uint32_t per_second);
/* Compressed request messages of streams are inflated on the handler's
 * thread as it reads them, and the handler holds each until its next read
 * (or its end).  What the handlers of one connection hold so at once is at
 * most bytes (default 32 MiB; one message alone may pass it): a reader waits
 * until it has room for the largest message it may get, twice (inflated,
 * then unpacked: 8 MiB at the default max receive size), then keeps what
 * its message took.  This bounds what a client can
 * make the server hold with small messages that inflate a thousandfold.
 * Handlers on the I/O thread, and callbacks, hold nothing past the callback.
 * Returns 0 or CGRPC_ERR_INVALID_ARGUMENT (0). */
CGRPC_EXTERN int cgrpc_server_options_set_inflate_budget(cgrpc_server_options *opts, size_t bytes);
/* What the streaming handlers of one connection have sent (the blocking
 * send) and the client has not yet taken, at most bytes between them
 * (default 32 MiB; one message alone may pass it): a send waits until its
 * message fits, so a hundred streams whose client never reads hold this
 * much, not a hundred messages.  Each stream also has its own bound (a
 * send waits while 64 KiB of it waits unsent).  Non-blocking sends
 * (try_send, callbacks) are bounded per stream only.  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT (0). */
CGRPC_EXTERN int cgrpc_server_options_set_unsent_budget(cgrpc_server_options *opts, size_t bytes);
/* A frame, or a header block (HEADERS and its CONTINUATIONs), that a client
 * has begun must arrive whole within ms (default 20000; 0: no limit), or the
 * connection ends with GOAWAY ENHANCE_YOUR_CALM and its calls are
 * cancelled: a client that trickles a request's headers a byte a second
 * cannot hold a connection.  Between frames a connection may stay quiet
 * (keepalive and max_connection_idle govern that).  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT (ms < 0). */
CGRPC_EXTERN int cgrpc_server_options_set_frame_timeout(cgrpc_server_options *opts, int64_t ms);
CGRPC_EXTERN void cgrpc_server_options_set_allocator(cgrpc_server_options *opts,
                                                     const cgrpc_allocator *alloc);

/* Server keepalive (gRFC A8): a connection that has read nothing for
 * time_ms (default 2 hours; 0: never) gets a PING, open calls or not, and
 * is closed (its calls cancelled) when no
 * answer comes within timeout_ms (0: the default, 20 s).  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_server_options_set_keepalive(cgrpc_server_options *opts, int64_t time_ms,
                                                    int64_t timeout_ms);
/* What clients' pings may do (gRFC A8's enforcement): a ping sooner than
 * min_ping_interval_ms (default 5 minutes; 0: no policing) after the
 * previous one is a strike -- and any ping within 2 hours when no call is
 * open, unless permit_without_calls -- and after 2 strikes the connection
 * gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (no new calls; those open
 * finish).  Sending headers or data to the client clears the strikes.
 * Returns 0 or CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_server_options_set_keepalive_policy(cgrpc_server_options *opts,
                                                           int64_t min_ping_interval_ms,
                                                           int permit_without_calls);

/* Connection lifetime (gRFC A9).  max_connection_idle: a connection with no
 * call open that has read nothing for ms gets GOAWAY "max_idle" and closes,
 * freeing what it holds.  max_connection_age: at age_ms (+-10% jitter) a
 * connection gets GOAWAY "max_age" -- clients open a new one for new calls,
 * which spreads them over servers behind a load balancer -- and its calls
 * in flight get grace_ms to finish before they are cancelled (0: as long as
 * they take).  All off (0) by default.  Return 0 or
 * CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_server_options_set_max_connection_idle(cgrpc_server_options *opts,
                                                              int64_t ms);
CGRPC_EXTERN int cgrpc_server_options_set_max_connection_age(cgrpc_server_options *opts,
                                                             int64_t age_ms, int64_t grace_ms);

/*
 * Server interceptors wrap every call of every kind.  An interceptor is a set
 * of hooks, each optional, kept in the order added, the first outermost:
 *   start      runs on the handler's thread before the handler (the first
 *              interceptor's first): it either calls cgrpc_server_call_proceed
 *              (go on inwards) or ends the call with
 *              cgrpc_server_call_set_status + cgrpc_server_call_finish (an
 *              authentication check, a cache); NULL proceeds.
 *   on_recv    each request message as the handler gets it: the one request
 *              of unary and server-streaming calls just before the handler
 *              runs (its thread), each message of a client stream as
 *              cgrpc_server_call_recv returns it (the handler's thread) or
 *              just before on_message (the I/O thread).
 *   on_send    each response message, as the handler sends it (its thread;
 *              for unary and client-streaming calls the one response, when
 *              the handler has finished).
 *   on_done    once, with the status the call ends with: the handler's, the
 *              runtime's own (a passed deadline, a malformed message), or
 *              CANCELLED when the client went away -- once the status is
 *              settled and the handler has finished (so on the I/O thread,
 *              or on the handler's thread when it finishes last).
 * On the way out (start, on_send) hooks run outermost first; on the way in
 * (on_recv) and at the end (on_done) innermost first.  Only interceptors
 * whose start ran see the other hooks (an outer one may end the call before
 * the inner ones start).  Hooks other than start observe: messages are valid
 * during the hook and must not be kept or changed.  on_send may run
 * concurrently with on_recv and on_done of the same (streaming) call.  None
 * may block.  Calls the runtime refuses before any handler could run
 * (unknown method, malformed headers) go through no hook.
 */
typedef void (*cgrpc_server_interceptor_fn)(cgrpc_server_call *call, void *user_data);

typedef struct cgrpc_server_interceptor_hooks {
  cgrpc_server_interceptor_fn start;
  void (*on_recv)(cgrpc_server_call *call, const ProtobufCMessage *msg, void *user_data);
  void (*on_send)(cgrpc_server_call *call, const ProtobufCMessage *msg, void *user_data);
  void (*on_done)(cgrpc_server_call *call, cgrpc_code code, const char *message,
                  void *user_data);
} cgrpc_server_interceptor_hooks;

/* Appends an interceptor made of hooks (the struct is copied).  Returns 0,
 * CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_server_options_add_interceptor_hooks(
    cgrpc_server_options *opts, const cgrpc_server_interceptor_hooks *hooks, void *user_data);

/* Appends an interceptor that has only a start hook, fn. */
CGRPC_EXTERN int cgrpc_server_options_add_interceptor(cgrpc_server_options *opts,
                                                      cgrpc_server_interceptor_fn fn,
                                                      void *user_data);

/* ---- server ------------------------------------------------------------- */

/* opts may be NULL; it is copied.  Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_server_new(cgrpc_server **out, const cgrpc_server_options *opts);

/*
 * Listens on address: "host:port" (IPv4 or IPv6, "[::]:port"), with port 0
 * picking a free port, or "unix:/path" (an existing socket file is replaced).
 * The bound port goes to *port_out when it is not NULL (0 for Unix sockets).
 * Before cgrpc_server_start only.
 * Returns 0, CGRPC_ERR_ADDRESS, CGRPC_ERR_SYSTEM, CGRPC_ERR_STATE or CGRPC_ERR_NOMEM.
 */
CGRPC_EXTERN int cgrpc_server_add_listener(cgrpc_server *srv, const char *address, int *port_out);

/*
 * As cgrpc_server_add_listener, with TLS (see tls.h): the options need a
 * certificate and key; with cgrpc_tls_options_require_client_cert, also a
 * CA for client certificates (mTLS).  They are read now (tls may be freed
 * after).  A plaintext client on this port fails its handshake.  Returns
 * the errors above, or CGRPC_ERR_TLS with the reason in err[0..errlen)
 * (file names and mbedTLS's words, never key material; err may be NULL).
 */
CGRPC_EXTERN int cgrpc_server_add_tls_listener(cgrpc_server *srv, const char *address,
                                               const cgrpc_tls_options *tls, int *port_out,
                                               char *err, size_t errlen);

/* Reads the certificate, key and CA files of every TLS listener again (a
 * renewed certificate) without a restart: handshakes from now on use them;
 * connections already open keep theirs.  All or nothing: when a file does
 * not load, nothing changes and CGRPC_ERR_TLS says why in err.  Any thread,
 * any time.  Returns 0, CGRPC_ERR_TLS, CGRPC_ERR_NOMEM or
 * CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_server_reload_tls(cgrpc_server *srv, char *err, size_t errlen);

/*
 * Registers the methods of a service.  handlers[i] is the handler of
 * svc->methods[i] (generated code passes its skeleton's function pointers);
 * a NULL one answers UNIMPLEMENTED.  svc must outlive the server.
 * Before cgrpc_server_start only.
 * Returns 0, CGRPC_ERR_EXISTS (a path is taken), CGRPC_ERR_STATE or CGRPC_ERR_NOMEM.
 */
CGRPC_EXTERN int cgrpc_server_register_service(cgrpc_server *srv, const cgrpc_service_desc *svc,
                                               const cgrpc_fn *handlers, void *user_data);

/* Starts the I/O thread and the handler threads; returns at once.
 * Returns 0, CGRPC_ERR_STATE (no listener, or started) or CGRPC_ERR_SYSTEM. */
CGRPC_EXTERN int cgrpc_server_start(cgrpc_server *srv);

/*
 * Graceful shutdown: stops accepting, sends GOAWAY, lets calls in flight run
 * for up to grace_ms (negative: no limit), then answers the rest UNAVAILABLE
 * (their handlers see cgrpc_server_call_is_cancelled) and closes every
 * connection.  Blocks until done, which includes every running handler
 * having returned and every deferred call having been finished: handlers
 * must watch for cancellation.  Any thread but the server's own.
 */
CGRPC_EXTERN void cgrpc_server_shutdown(cgrpc_server *srv, int64_t grace_ms);

/* Shuts down (grace 0) if still running, then frees.  NULL-safe. */
CGRPC_EXTERN void cgrpc_server_free(cgrpc_server *srv);

/* ---- the call a handler serves ------------------------------------------ */

/*
 * A unary handler as generated code types it:
 *   cgrpc_code handler(cgrpc_server_call *call, const Req *request,
 *                      Resp *response, void *user_data);
 * request is decoded and owned by the runtime; response is initialised
 * (Resp__INIT) and owned by the runtime, which encodes it when the handler
 * returns OK.  Strings and arrays put into the response must stay valid
 * until then: allocate them with cgrpc_server_call_alloc/strdup/printf,
 * which the runtime frees with the call.  The return value is the status;
 * add a message with cgrpc_server_call_set_status.
 */

/*
 * Streaming handlers, as generated code types them, take a typed handle of
 * their method's (a cgrpc_server_call underneath; <method>_server_call()
 * gives it back):
 *   client-streaming: cgrpc_code h(<M>ServerCall *call, Resp *response, void *user_data);
 *   server-streaming: cgrpc_code h(<M>ServerCall *call, const Req *request, void *user_data);
 *   bidi:             cgrpc_code h(<M>ServerCall *call, void *user_data);
 * They read requests with the method's typed recv (cgrpc_server_call_recv)
 * and write responses with its send (cgrpc_server_call_send), in plain
 * sequence; returning ends the call with that status (after the messages
 * sent).  A client-streaming handler fills response as a unary one does.  A
 * blocking streaming handler holds a thread of the streaming pool for as
 * long as it runs; servers that keep many streams open use the asynchronous
 * form (cgrpc_server_call_set_callbacks, or the method's typed
 * _set_callbacks).
 */

/* The next request message.  Blocks until one arrives: returns 1 with *msg,
 * valid until the next recv or the end of the handler; 0 once the client
 * has closed its side; CGRPC_ERR_CLOSED if the call was cancelled.  On the
 * I/O thread (0 handler threads, or from a callback) it never blocks: it
 * returns CGRPC_ERR_AGAIN when no message waits (use the callbacks there). */
CGRPC_EXTERN int cgrpc_server_call_recv(cgrpc_server_call *call, const ProtobufCMessage **msg);

/* Sends one response message (serialised before this returns; the first one
 * also sends the response headers).  Blocks while the send buffer is full
 * because the client reads slower -- except on the I/O thread, where it
 * acts as cgrpc_server_call_try_send.  Returns 0, or CGRPC_ERR_CLOSED when
 * the call was cancelled or is over. */
CGRPC_EXTERN int cgrpc_server_call_send(cgrpc_server_call *call, const ProtobufCMessage *msg);

/* As cgrpc_server_call_send, but CGRPC_ERR_AGAIN instead of blocking; then
 * on_send_ready says when to try again. */
CGRPC_EXTERN int cgrpc_server_call_try_send(cgrpc_server_call *call, const ProtobufCMessage *msg);

/* cgrpc_server_call_send with flags (CGRPC_SEND_NO_COMPRESS, CGRPC_SEND_NO_BLOCK). */
CGRPC_EXTERN int cgrpc_server_call_send_flags(cgrpc_server_call *call, const ProtobufCMessage *msg,
                                              unsigned flags);

/* Sends the response headers now, with the initial metadata added so far,
 * before any message (by default they go with the first message, or with the
 * answer): a client waiting for them (cgrpc_call_recv_headers) learns that the
 * call was accepted, and its metadata, at once.  Initial metadata can no
 * longer be added after this.  Any kind of call, any thread of the handler's
 * side.  Returns 0, CGRPC_ERR_STATE (sent already) or CGRPC_ERR_CLOSED (the
 * call is over). */
CGRPC_EXTERN int cgrpc_server_call_send_headers(cgrpc_server_call *call);

/* When the server received the call's headers (cgrpc_now()'s clock). */
CGRPC_EXTERN cgrpc_time cgrpc_server_call_start_time(const cgrpc_server_call *call);

/* Compresses this call's response messages with a grpc-encoding ("gzip",
 * "deflate" or "identity").  Before the response headers go out (the first
 * send, or the end of a unary handler).  Returns 0,
 * CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_STATE. */
CGRPC_EXTERN int cgrpc_server_call_set_compression(cgrpc_server_call *call, const char *encoding);

/* Nonzero when the request -- for streams, the last message recv gave --
 * arrived compressed. */
CGRPC_EXTERN int cgrpc_server_call_request_compressed(const cgrpc_server_call *call);

/*
 * The asynchronous form of a streaming handler: the handler calls
 * cgrpc_server_call_defer and this, and returns.  Callbacks run on the I/O
 * thread and must not block: on_message with each request (valid during
 * the callback), on_recv_done once the client closed its side, on_send_ready
 * after a CGRPC_ERR_AGAIN, and on_cancel if the call ends before the handler
 * finished it (the handler must still call cgrpc_server_call_finish).  Once
 * cgrpc_server_call_finish has been called no callback starts any more (so
 * state they use may be freed right before finishing, on the I/O thread);
 * a callback already running when another thread finishes the call keeps
 * the call, its arena included, valid until it returns.  Any may be NULL.
 * The struct is copied.
 */
typedef struct cgrpc_server_call_callbacks {
  void (*on_message)(cgrpc_server_call *call, const ProtobufCMessage *msg, void *user_data);
  void (*on_recv_done)(cgrpc_server_call *call, void *user_data);
  void (*on_send_ready)(cgrpc_server_call *call, void *user_data);
  void (*on_cancel)(cgrpc_server_call *call, void *user_data);
} cgrpc_server_call_callbacks;

CGRPC_EXTERN void cgrpc_server_call_set_callbacks(cgrpc_server_call *call,
                                                  const cgrpc_server_call_callbacks *callbacks,
                                                  void *user_data);

/* For generated code: as cgrpc_server_call_set_callbacks, with typed callbacks: callbacks[i]
 * is the callback for CGRPC_SERVER_CALLBACK_i (or NULL), called through
 * method->invoke_server_callback.  The array is copied. */
CGRPC_EXTERN void cgrpc_server_call_set_callbacks_typed(
    cgrpc_server_call *call, const cgrpc_fn callbacks[CGRPC_SERVER_CALLBACK_COUNT],
    void *user_data);

CGRPC_EXTERN const cgrpc_method_desc *cgrpc_server_call_method(const cgrpc_server_call *call);
/* The request's :path. */
CGRPC_EXTERN const char *cgrpc_server_call_path(const cgrpc_server_call *call);
/* The request's :authority, or "". */
CGRPC_EXTERN const char *cgrpc_server_call_authority(const cgrpc_server_call *call);
/* The peer: "ipv4:127.0.0.1:40000", "ipv6:[::1]:40000" or "unix:/path". */
CGRPC_EXTERN const char *cgrpc_server_call_peer(const cgrpc_server_call *call);
/* mTLS: the verified client certificate's subject ("CN=alice,O=Example"),
 * or NULL when the call did not come with one (plaintext, or TLS without
 * client certificates).  Owned by the call. */
CGRPC_EXTERN const char *cgrpc_server_call_peer_subject(const cgrpc_server_call *call);
/* Its i-th subjectAltName (0-based): "DNS:alice.example", "URI:spiffe://..."
 * or "email:..."; NULL past the last.  Owned by the call. */
CGRPC_EXTERN const char *cgrpc_server_call_peer_san(const cgrpc_server_call *call, int i);
/* Custom request metadata (never NULL).  Owned by the call. */
CGRPC_EXTERN const cgrpc_metadata *cgrpc_server_call_metadata(const cgrpc_server_call *call);
/* The call's idempotency key: the value of the request header its method's
 * policy names (cgrpc_method_policy.idempotency_key_header, by default
 * CGRPC_IDEMPOTENCY_KEY_HEADER), or NULL when the request has none or an
 * empty one.  Clients send one key per logical call, the same on every
 * retry attempt.  Owned by the call.  See also cgrpc/dedup.h. */
CGRPC_EXTERN const char *cgrpc_server_call_idempotency_key(const cgrpc_server_call *call);
/* The decoded request, and the response being built. */
CGRPC_EXTERN const ProtobufCMessage *cgrpc_server_call_request(const cgrpc_server_call *call);
CGRPC_EXTERN ProtobufCMessage *cgrpc_server_call_response(cgrpc_server_call *call);

/* The deadline from the client's grpc-timeout, or CGRPC_TIME_INFINITE. */
CGRPC_EXTERN cgrpc_time cgrpc_server_call_deadline(const cgrpc_server_call *call);
/* Milliseconds left before the deadline (0 when passed), or -1 without one. */
CGRPC_EXTERN int64_t cgrpc_server_call_remaining_ms(const cgrpc_server_call *call);
/* Nonzero once the call can no longer succeed: the client cancelled or went
 * away, or the deadline passed.  Long handlers should poll it. */
CGRPC_EXTERN int cgrpc_server_call_is_cancelled(const cgrpc_server_call *call);

/* Response headers and trailers.  Initial metadata must be added before the
 * handler finishes.  Same rules and errors as cgrpc_metadata_add. */
CGRPC_EXTERN int cgrpc_server_call_add_initial_metadata(cgrpc_server_call *call, const char *key,
                                                        const void *value, size_t len);
CGRPC_EXTERN int cgrpc_server_call_add_trailing_metadata(cgrpc_server_call *call, const char *key,
                                                         const void *value, size_t len);
/* How many attempts of this logical call the client made before this one
 * (its grpc-previous-rpc-attempts header; 0 for a first attempt). */
CGRPC_EXTERN int cgrpc_server_call_previous_attempts(const cgrpc_server_call *call);

/* Server pushback (gRFC A6): tells a client with a retry policy to wait ms
 * before its next attempt, or (ms < 0) not to retry this call at all; sent
 * as grpc-retry-pushback-ms in the trailers.  Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_server_call_set_retry_pushback_ms(cgrpc_server_call *call, int64_t ms);

/* Memory that lives until the call ends (for response fields).  NULL when
 * out of memory.  Not thread-safe: one thread at a time per call. */
CGRPC_EXTERN void *cgrpc_server_call_alloc(cgrpc_server_call *call, size_t size);
CGRPC_EXTERN char *cgrpc_server_call_strdup(cgrpc_server_call *call, const char *s);
CGRPC_EXTERN char *cgrpc_server_call_printf(cgrpc_server_call *call, const char *fmt, ...)
    CGRPC_PRINTF(2, 3);

/* Sets the status the call ends with, and its message (printf-style; fmt may
 * be NULL).  Returns code, so a handler can `return cgrpc_server_call_set_status(...)`. */
CGRPC_EXTERN cgrpc_code cgrpc_server_call_set_status(cgrpc_server_call *call, cgrpc_code code,
                                                     const char *fmt, ...) CGRPC_PRINTF(3, 4);

/* From a handler: the answer will come later.  The handler's return value is
 * then ignored; call cgrpc_server_call_finish (any thread) when the response
 * and status are set.  Until then call, request and response stay valid. */
CGRPC_EXTERN void cgrpc_server_call_defer(cgrpc_server_call *call);

/*
 * Ends the current stage of the call: a deferred handler's answer, or an
 * interceptor's (after proceed's done callback, or instead of proceeding).
 * The result (status, response, trailers) passes outwards, and once the
 * outermost stage finishes it is sent.  Any thread; exactly once per stage.
 */
CGRPC_EXTERN void cgrpc_server_call_finish(cgrpc_server_call *call);

/*
 * From a server interceptor: runs the next interceptor, or the handler.
 * When the inner stages have finished, done(call, user_data) runs, and must
 * eventually call cgrpc_server_call_finish; with done NULL the result passes
 * outwards unchanged.
 */
typedef void (*cgrpc_server_done_fn)(cgrpc_server_call *call, void *user_data);
CGRPC_EXTERN void cgrpc_server_call_proceed(cgrpc_server_call *call, cgrpc_server_done_fn done,
                                            void *user_data);

/* The status set so far (OK until something sets another). */
CGRPC_EXTERN cgrpc_code cgrpc_server_call_status_code(const cgrpc_server_call *call);
CGRPC_EXTERN const char *cgrpc_server_call_status_message(const cgrpc_server_call *call);

#ifdef __cplusplus
}
#endif
#endif
