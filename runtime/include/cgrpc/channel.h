/* cgrpc — client side: channels, call options and unary calls. */
#ifndef CGRPC_CHANNEL_H
#define CGRPC_CHANNEL_H

#include <cgrpc/common.h>
#include <cgrpc/metadata.h>
#include <cgrpc/method.h>
#include <cgrpc/status.h>
#include <cgrpc/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Threading.  A channel owns one I/O thread that runs its connections:
 * every HTTP/2 frame of every call on the channel is read, written and
 * timed there.  Any thread may start calls, concurrently; a blocking call
 * waits on its own thread while the I/O thread does the work, and an
 * asynchronous call's completion callback runs on the I/O thread (so it
 * must not block; it may start further calls).  There is no thread per call.
 */
typedef struct cgrpc_channel cgrpc_channel;
typedef struct cgrpc_channel_options cgrpc_channel_options;
typedef struct cgrpc_call_options cgrpc_call_options;
/* A handle on an asynchronous call: lets the caller cancel it. */
typedef struct cgrpc_call cgrpc_call;
/* The view of a call that client interceptors get (see interceptor.h). */
typedef struct cgrpc_client_ctx cgrpc_client_ctx;

/* Connectivity states (gRPC's), of a channel and of each of its addresses. */
typedef enum cgrpc_connectivity_state {
  CGRPC_CHANNEL_IDLE,              /* not connected, and not trying: a call starts it */
  CGRPC_CHANNEL_CONNECTING,        /* connecting; calls wait */
  CGRPC_CHANNEL_READY,             /* connected: calls go out at once */
  CGRPC_CHANNEL_TRANSIENT_FAILURE, /* connecting failed; calls fail fast until the backoff
                                      passes, unless they wait for ready */
  CGRPC_CHANNEL_SHUTDOWN           /* closed */
} cgrpc_connectivity_state;

/* "IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE" or "SHUTDOWN". */
CGRPC_EXTERN const char *cgrpc_connectivity_state_name(cgrpc_connectivity_state state);

/* Told of every change of a channel's state, on its I/O thread (must not block). */
typedef void (*cgrpc_channel_state_fn)(cgrpc_channel *ch, cgrpc_connectivity_state state,
                                       void *user_data);

/* ---- channel options ---------------------------------------------------- */

/* Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_channel_options_new(cgrpc_channel_options **out);
/* NULL-safe. */
CGRPC_EXTERN void cgrpc_channel_options_free(cgrpc_channel_options *opts);

/* Largest response message accepted, in bytes (default 4 MiB); a larger one
 * ends the call with RESOURCE_EXHAUSTED.  -1: no limit. */
CGRPC_EXTERN void cgrpc_channel_options_set_max_recv_message_size(cgrpc_channel_options *opts,
                                                                  int64_t bytes);
/* Largest request message sent (default: no limit); a larger one fails the
 * call locally with RESOURCE_EXHAUSTED. -1: no limit. */
CGRPC_EXTERN void cgrpc_channel_options_set_max_send_message_size(cgrpc_channel_options *opts,
                                                                  int64_t bytes);
/* Sent as :authority (default: the target's host:port). Copied. */
CGRPC_EXTERN int cgrpc_channel_options_set_authority(cgrpc_channel_options *opts,
                                                     const char *authority);
/* Put in front of cgrpc's own user-agent ("cgrpc-c/VERSION"). Copied. */
CGRPC_EXTERN int cgrpc_channel_options_set_user_agent(cgrpc_channel_options *opts,
                                                      const char *prefix);
/* The allocator for everything the channel and its calls allocate,
 * response messages included.  Copied. */
CGRPC_EXTERN void cgrpc_channel_options_set_allocator(cgrpc_channel_options *opts,
                                                      const cgrpc_allocator *alloc);

/* Compresses every request message with this grpc-encoding: "gzip",
 * "deflate" or "identity" (the default: none).  Call options may override
 * it.  Responses are decompressed whatever is set here (we always accept
 * gzip and deflate).  Returns 0 or CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_channel_options_set_compression(cgrpc_channel_options *opts,
                                                       const char *encoding);

/* Retry throttling (gRFC A6) for every call on the channel: a token count
 * starts at max_tokens (1..1000); each failure with a status the call's
 * retry policy names takes 1, each OK adds token_ratio (> 0; 3 decimals);
 * while it is at most max_tokens / 2 no call retries.  Off by default; 0
 * switches it off.  Returns 0 or CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_channel_options_set_retry_throttling(cgrpc_channel_options *opts,
                                                            int max_tokens, double token_ratio);

/* Reconnecting, as gRPC's connection backoff describes it: when every
 * address of the target failed to connect, the channel waits initial_ms
 * (default 1000) +-jitter (0.2) before the next attempt, each wait growing
 * by multiplier (1.6) up to max_ms (120000); meanwhile calls fail at once
 * with UNAVAILABLE (their retry policy may try again later).  A successful
 * connect resets the wait.  A connect attempt is given
 * max(min_connect_timeout_ms (20000), the current wait).  A connection
 * that drops after working does not wait: the next call reconnects.
 * Returns 0 or CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_channel_options_set_connect_backoff(cgrpc_channel_options *opts,
                                                           int64_t initial_ms, double multiplier,
                                                           double jitter, int64_t max_ms,
                                                           int64_t min_connect_timeout_ms);

/* Keepalive (gRFC A8): a connection that has read nothing for time_ms sends
 * the server a PING (only while calls are open, unless
 * permit_without_calls); with no answer within timeout_ms (0: 20 s) it is
 * closed and its calls end with UNAVAILABLE (or retry, as their policy
 * says), so a dead peer or path is found without waiting for deadlines.
 * Off by default (time_ms 0).  gRPC servers refuse pings more frequent than
 * every 5 minutes unless configured otherwise (cgrpc's:
 * cgrpc_server_options_set_keepalive_policy); a server that answers GOAWAY
 * too_many_pings makes the channel ping half as often.  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_channel_options_set_keepalive(cgrpc_channel_options *opts, int64_t time_ms,
                                                     int64_t timeout_ms,
                                                     int permit_without_calls);

/* Like grpc-core (GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA), a channel sends at
 * most max_pings keepalive pings (default 2) until it sends headers or data
 * again: servers count the pings that come while they send nothing
 * (grpc-core's and cgrpc's, at default settings: the fourth, each less than
 * 5 minutes after the one before, gets GOAWAY too_many_pings), so on a long
 * quiet call the pings stop once the peer answered two.  0: no limit (only
 * against servers whose policy allows it).  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_channel_options_set_max_pings_without_data(cgrpc_channel_options *opts,
                                                                  int max_pings);

/* A gRPC service config (JSON), so that operators can change call policy
 * without recompiling: each "methodConfig" entry names methods
 * ({"service": "pkg.Svc", "method": "M"}; without "method" every method of
 * the service; an empty name every method) and may set "timeout" ("1.5s")
 * and "retryPolicy" (maxAttempts, initialBackoff, maxBackoff,
 * backoffMultiplier, retryableStatusCodes as in gRFC A6; maxAttempts 1
 * switches retries off) and "waitForReady".  Each field set replaces what
 * the .proto baked into the method; call options still win over both.
 * "retryThrottling" (maxTokens, tokenRatio) replaces
 * cgrpc_channel_options_set_retry_throttling; "loadBalancingConfig" (the
 * first of pick_first / round_robin listed) or "loadBalancingPolicy"
 * replaces cgrpc_channel_options_set_lb_policy.  Other fields are ignored.  json is copied; NULL removes it.  Returns 0,
 * CGRPC_ERR_PROTO when it is malformed (with the reason in err[0..errlen),
 * if err is not NULL), CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_channel_options_set_service_config(cgrpc_channel_options *opts,
                                                          const char *json, char *err,
                                                          size_t errlen);

/* TLS for every connection of the channel (see tls.h): the server's
 * certificate must chain to the options' CA (default: the system's roots)
 * and carry the target's host name (or the override); ALPN h2 is required.
 * Read now (tls may be freed after); NULL: plaintext (the default).
 * Failed handshakes end calls with UNAVAILABLE saying why (unknown CA, name
 * mismatch, no ALPN h2, a plaintext server).  Returns 0, CGRPC_ERR_NOMEM,
 * CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_TLS with the reason in
 * err[0..errlen) (err may be NULL). */
CGRPC_EXTERN int cgrpc_channel_options_set_tls(cgrpc_channel_options *opts,
                                               const cgrpc_tls_options *tls, char *err,
                                               size_t errlen);

/* Per-call credentials: fn runs on the thread starting each call, before
 * the call goes out, and adds request metadata to md -- typically
 * "authorization: Bearer <token>", fetched or refreshed as needed
 * (cgrpc_metadata_add_str(md, "authorization", "Bearer ...")).  path is
 * the method's ("/pkg.Service/Method").  Returning nonzero fails the call
 * with UNAUTHENTICATED.  Credentials are secrets: they are attached only on
 * a TLS channel; on a plaintext one the call fails with UNAUTHENTICATED
 * unless allow_insecure is nonzero (tests, loopback, a trusted sidecar).
 * Call options may set their own instead.  fn NULL: none. */
typedef int (*cgrpc_call_credentials_fn)(const char *path, cgrpc_metadata *md, void *user_data);
CGRPC_EXTERN void cgrpc_channel_options_set_call_credentials(cgrpc_channel_options *opts,
                                                             cgrpc_call_credentials_fn fn,
                                                             void *user_data,
                                                             int allow_insecure);

/* Load balancing over the target's addresses: "pick_first" (the default:
 * the addresses are tried in order and every call goes to the first that
 * connects, until it fails) or "round_robin" (every address is kept
 * connected -- each reconnecting with its own backoff -- and calls rotate
 * over the READY ones, so an address that goes away just drops out of the
 * rotation).  Returns 0 or CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_channel_options_set_lb_policy(cgrpc_channel_options *opts,
                                                     const char *policy);

/* The connection pool of each address: size connections are kept open
 * (default 1) and calls go to the least busy one; when all of them carry as
 * many streams as the server allows (its MAX_CONCURRENT_STREAMS), another is
 * opened, up to max (default 8; at least size).  Beyond that, calls queue
 * for a free stream.  Returns 0 or CGRPC_ERR_INVALID_ARGUMENT (size < 1,
 * max < size, or over 65536). */
CGRPC_EXTERN int cgrpc_channel_options_set_pool(cgrpc_channel_options *opts, int size, int max);

/* Calls fn on every change of the channel's state (see
 * cgrpc_channel_get_state), on the I/O thread.  NULL: none. */
CGRPC_EXTERN void cgrpc_channel_options_set_state_watcher(cgrpc_channel_options *opts,
                                                          cgrpc_channel_state_fn fn,
                                                          void *user_data);

/* Appends a client interceptor that has only a start hook, fn (see
 * interceptor.h for interceptors with every hook).  Interceptors run in the
 * order added, the first outermost.  Returns 0 or CGRPC_ERR_NOMEM. */
typedef void (*cgrpc_client_interceptor_fn)(cgrpc_client_ctx *ctx, void *user_data);
CGRPC_EXTERN int cgrpc_channel_options_add_interceptor(cgrpc_channel_options *opts,
                                                       cgrpc_client_interceptor_fn fn,
                                                       void *user_data);

/* ---- channel ------------------------------------------------------------ */

/*
 * Creates a channel to target and starts its I/O thread.  Nothing connects
 * until the first call (or cgrpc_channel_get_state(ch, 1)).  Targets:
 * "host:port", "[::1]:port" and "dns:///host:port" (resolved then, and again
 * when every address failed: each A/AAAA record is an address), address
 * lists "ipv4:1.2.3.4:5001,1.2.3.4:5002" and "ipv6:[::1]:5001,[::1]:5002",
 * "unix:/path" and "unix:///path"; at most 32 addresses.  :authority is the
 * host:port (of a list: its first entry; "localhost" for unix:) unless the
 * options set one.  opts may be NULL; it is copied.
 * Returns 0, CGRPC_ERR_BAD_TARGET, CGRPC_ERR_NOMEM or CGRPC_ERR_SYSTEM.
 */
CGRPC_EXTERN int cgrpc_channel_new(cgrpc_channel **out, const char *target,
                                   const cgrpc_channel_options *opts);

/* Cancels the calls still running (their callbacks see CANCELLED), closes the
 * connections and joins the I/O thread.  Must not be called from a callback
 * of the channel's own calls.  NULL-safe. */
CGRPC_EXTERN void cgrpc_channel_free(cgrpc_channel *ch);

/* The :authority the channel's calls carry (the target's host:port, or the one set in its
 * options); owned by the channel. */
CGRPC_EXTERN const char *cgrpc_channel_authority(const cgrpc_channel *ch);

/* The channel's connectivity state.  With pick_first it is the state of the
 * address in use (or of the one being tried); with round_robin READY when
 * any address is, else CONNECTING when any is, else TRANSIENT_FAILURE.  A
 * channel starts IDLE, and goes back to IDLE with pick_first when its
 * connection closes (a GOAWAY, the server's idle limit); the next call
 * connects again.  try_to_connect nonzero: an IDLE channel starts
 * connecting.  Any thread. */
CGRPC_EXTERN cgrpc_connectivity_state cgrpc_channel_get_state(cgrpc_channel *ch,
                                                              int try_to_connect);

/* Waits until the state differs from last (usually what get_state just
 * said) or deadline (cgrpc_now() clock) passes.  Returns 1 when it changed,
 * 0 at the deadline.  Not from the channel's own callbacks. */
CGRPC_EXTERN int cgrpc_channel_wait_for_state_change(cgrpc_channel *ch,
                                                     cgrpc_connectivity_state last,
                                                     cgrpc_time deadline);

/* The number of addresses the target resolved to (0 before the first
 * connect), and the state of address i (0-based, in the resolver's order);
 * its name ("ipv4:127.0.0.1:5001") goes to name[0..cap) if name is not
 * NULL.  An index out of range is SHUTDOWN.  Any thread. */
CGRPC_EXTERN int cgrpc_channel_address_count(cgrpc_channel *ch);
CGRPC_EXTERN cgrpc_connectivity_state cgrpc_channel_address_state(cgrpc_channel *ch, int i,
                                                                  char *name, size_t cap);

/* The allocator the channel hands protobuf-c for response messages; free
 * them with protobuf_c_message_free_unpacked(msg, this).  NULL when the
 * channel uses malloc, which protobuf-c also takes as NULL. */
CGRPC_EXTERN ProtobufCAllocator *cgrpc_channel_protobuf_allocator(cgrpc_channel *ch);

/* ---- call options ------------------------------------------------------- */

/* Per-call settings.  One options object may serve many calls, also from
 * several threads at once, as long as nobody changes it meanwhile.  Calls
 * copy what they need when they start. */
CGRPC_EXTERN int cgrpc_call_options_new(cgrpc_call_options **out);
CGRPC_EXTERN void cgrpc_call_options_free(cgrpc_call_options *opts);

/* Deadline as a timeout from the call's start, overriding the method's baked
 * timeout.  0 or less: no deadline at all. */
CGRPC_EXTERN void cgrpc_call_options_set_timeout_ms(cgrpc_call_options *opts, int64_t ms);
/* Absolute deadline (cgrpc_now() clock), overriding any timeout.
 * CGRPC_TIME_INFINITE: no deadline. */
CGRPC_EXTERN void cgrpc_call_options_set_deadline(cgrpc_call_options *opts, cgrpc_time deadline);
/* This call's request compression, overriding the channel's: "gzip",
 * "deflate" or "identity".  Returns 0 or CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_call_options_set_compression(cgrpc_call_options *opts,
                                                    const char *encoding);
/* This call's retry policy, replacing the method's (the one baked from the
 * .proto; see cgrpc_retry_policy in method.h).  policy is copied; NULL: no
 * retries for this call.  A stream the server refused before processing
 * it is still sent again once, as gRPC does.  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_call_options_set_retry_policy(cgrpc_call_options *opts,
                                                     const cgrpc_retry_policy *policy);
/* The call's idempotency key, chosen by the caller (1-128 printable ASCII
 * characters, copied), sent on every attempt in the method's key header
 * even when the method is not marked idempotent.  By default an idempotent
 * method's calls carry a fresh random key each (128 bits, 32 hex digits).
 * NULL: back to the default.  Returns 0, CGRPC_ERR_INVALID_ARGUMENT,
 * CGRPC_ERR_BAD_VALUE or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_call_options_set_idempotency_key(cgrpc_call_options *opts,
                                                        const char *key);
/* Wait for ready: while no address of the channel can be used (every one
 * failed to connect and waits out its backoff: TRANSIENT_FAILURE), calls
 * with this set wait -- until a connection is READY, their deadline passes
 * or they are cancelled -- instead of failing at once with UNAVAILABLE (the
 * default, as in gRPC).  While the channel is IDLE or CONNECTING every call
 * waits.  Nonzero: on. */
CGRPC_EXTERN void cgrpc_call_options_set_wait_for_ready(cgrpc_call_options *opts, int wait);
/* This call's credentials, instead of the channel's (see
 * cgrpc_channel_options_set_call_credentials).  fn NULL: none at all. */
CGRPC_EXTERN void cgrpc_call_options_set_call_credentials(cgrpc_call_options *opts,
                                                          cgrpc_call_credentials_fn fn,
                                                          void *user_data, int allow_insecure);
/* Deadline propagation: calls started with these options are made on behalf
 * of parent, a call this process is serving (a server handler's call).
 * Each gets min(its own deadline, parent's deadline) -- so the time left
 * shrinks down a chain of services -- and is cancelled when parent is
 * (the client went away, or its deadline passed).  Use such options only
 * while parent is running (inside its handler).  NULL: none. */
CGRPC_EXTERN void cgrpc_call_options_set_parent(cgrpc_call_options *opts,
                                                const cgrpc_server_call *parent);
/* Adds request metadata.  Same rules and errors as cgrpc_metadata_add. */
CGRPC_EXTERN int cgrpc_call_options_add_metadata(cgrpc_call_options *opts, const char *key,
                                                 const void *value, size_t len);
/* The request metadata list itself (created on first use), or NULL on
 * allocation failure.  Owned by opts. */
CGRPC_EXTERN cgrpc_metadata *cgrpc_call_options_metadata(cgrpc_call_options *opts);

/* ---- unary calls -------------------------------------------------------- */

/*
 * A blocking unary call.  Returns when the call is done, with its code (also
 * in status->code when status is not NULL).  On OK, *response holds the
 * reply, owned by the caller (free it with protobuf_c_message_free_unpacked
 * and cgrpc_channel_protobuf_allocator(ch)); otherwise *response is NULL.
 * status, if given, must be initialised; it is cleared first.
 * opts may be NULL.  Local failures are statuses too: no connection is
 * UNAVAILABLE, a passed deadline DEADLINE_EXCEEDED, bad arguments INTERNAL.
 */
CGRPC_EXTERN cgrpc_code cgrpc_unary_call(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                         const ProtobufCMessage *request,
                                         ProtobufCMessage **response,
                                         const cgrpc_call_options *opts, cgrpc_status *status);

/*
 * Completion of an asynchronous unary call.  status is valid during the
 * callback (take it with cgrpc_status_move to keep it).  response is NULL
 * unless status->code is OK; it belongs to the callback.
 */
typedef void (*cgrpc_unary_done)(cgrpc_status *status, ProtobufCMessage *response,
                                 void *user_data);

/*
 * Starts an asynchronous unary call.  The request is serialised before this
 * returns, so the caller may free it at once.  done runs exactly once, on the
 * channel's I/O thread -- or on this thread before the function returns, if
 * an interceptor ends the call at once.  If call_out is not NULL it receives
 * a handle for cgrpc_call_cancel, to be released with cgrpc_call_free.
 * Returns 0 (done will run) or CGRPC_ERR_INVALID_ARGUMENT / CGRPC_ERR_NOMEM
 * (done will not run).
 */
CGRPC_EXTERN int cgrpc_unary_call_start(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                        const ProtobufCMessage *request,
                                        const cgrpc_call_options *opts, cgrpc_unary_done done,
                                        void *user_data, cgrpc_call **call_out);

/* For generated code: as cgrpc_unary_call_start, but done is a typed
 * callback run through method->invoke_unary_done. */
CGRPC_EXTERN int cgrpc_unary_call_start_typed(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                              const ProtobufCMessage *request,
                                              const cgrpc_call_options *opts, cgrpc_fn done,
                                              void *user_data, cgrpc_call **call_out);

/* ---- streaming calls -------------------------------------------------------------------- */

/*
 * Starts a streaming call (client-streaming, server-streaming or bidi; a
 * unary method works too).  For a server-streaming (or unary) method,
 * request is the one request: it is sent and the client's side closed at
 * once.  For client-streaming and bidi methods request must be NULL and
 * messages go with cgrpc_call_send.  The handle is the caller's: release it
 * with cgrpc_call_free (which cancels the call if it is still running).
 * Returns 0, CGRPC_ERR_INVALID_ARGUMENT, CGRPC_ERR_TOO_LARGE (request over
 * the channel's send limit) or CGRPC_ERR_NOMEM.
 *
 * Blocking use, from any one thread at a time per direction: send and
 * close_send on one side, recv and finish on the other, e.g. a writer thread
 * and a reader thread.  Flow control is end to end: send blocks while the
 * call's send buffer (64 KiB) is full because the server reads slower than
 * we write, and a server cannot send faster than recv takes messages.
 */
CGRPC_EXTERN int cgrpc_call_start_stream(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                         const ProtobufCMessage *request,
                                         const cgrpc_call_options *opts, cgrpc_call **call_out);

/* Sends one message; it is serialised before this returns.  Blocks while the
 * send buffer is full.  Returns 0, or CGRPC_ERR_CLOSED when the call is over
 * or the sending side was closed (cgrpc_call_finish tells why).  A message
 * over the channel's send limit ends the call with RESOURCE_EXHAUSTED and
 * returns CGRPC_ERR_CLOSED. */
CGRPC_EXTERN int cgrpc_call_send(cgrpc_call *call, const ProtobufCMessage *msg);

/* As cgrpc_call_send, but returns CGRPC_ERR_AGAIN instead of blocking; the
 * on_send_ready callback of an asynchronous call says when to try again. */
CGRPC_EXTERN int cgrpc_call_try_send(cgrpc_call *call, const ProtobufCMessage *msg);

/* cgrpc_call_send with flags (CGRPC_SEND_*). */
CGRPC_EXTERN int cgrpc_call_send_flags(cgrpc_call *call, const ProtobufCMessage *msg,
                                       unsigned flags);

/* Half-close: no more messages from the client.  Idempotent.  Returns 0 or
 * CGRPC_ERR_CLOSED. */
CGRPC_EXTERN int cgrpc_call_close_send(cgrpc_call *call);

/* Receives the next message.  Blocks until one arrives: returns 1 with *msg
 * (the caller's, freed as a unary response is), or 0 once the server has
 * ended the call -- cgrpc_call_finish then gives the status. */
CGRPC_EXTERN int cgrpc_call_recv(cgrpc_call *call, ProtobufCMessage **msg);

/* For client-streaming calls: closes the sending side, receives the one
 * response and finishes the call.  *response is set (the caller's) only
 * when the code is OK; a server that ends with OK but no message, or with
 * two, makes the call INTERNAL. */
CGRPC_EXTERN cgrpc_code cgrpc_call_close_and_recv(cgrpc_call *call, ProtobufCMessage **response,
                                                  cgrpc_status *status);

/* Waits for the response headers: returns 1 with *md (their custom metadata,
 * owned by the call and valid until it is freed) as soon as they arrive,
 * before any message; 0 when the call ended without them (a Trailers-Only
 * answer or a failure: cgrpc_call_finish says which), *md then empty;
 * CGRPC_ERR_INVALID_ARGUMENT for an asynchronous call.  From the reading
 * side. */
CGRPC_EXTERN int cgrpc_call_recv_headers(cgrpc_call *call, const cgrpc_metadata **md);

/* Waits for the end of the call and returns its code; status (optional,
 * initialised) receives the whole outcome.  Messages not received are
 * dropped (once the server has ended the call, finish returns its status at
 * once, however many were still unread).  A call the server has ended is
 * in time whenever its messages are read: the deadline stops there.  Call
 * it once. */
CGRPC_EXTERN cgrpc_code cgrpc_call_finish(cgrpc_call *call, cgrpc_status *status);

/*
 * The asynchronous form: callbacks run on the channel's I/O thread and must
 * not block.  on_headers gets the response headers' metadata as soon as
 * they arrive (valid until the call is freed; not called for a
 * Trailers-Only answer).  on_message gets each message (the callback's to
 * free); the next is delivered once it returns, so a slow callback slows
 * the server down.  on_send_ready follows a CGRPC_ERR_AGAIN from
 * cgrpc_call_try_send once there is room.  on_done runs last, exactly once,
 * with the status.  Any of them may be NULL.
 */
typedef struct cgrpc_call_callbacks {
  void (*on_message)(cgrpc_call *call, ProtobufCMessage *msg, void *user_data);
  void (*on_send_ready)(cgrpc_call *call, void *user_data);
  void (*on_done)(cgrpc_call *call, cgrpc_status *status, void *user_data);
  void (*on_headers)(cgrpc_call *call, const cgrpc_metadata *md, void *user_data);
} cgrpc_call_callbacks;

/* As cgrpc_call_start_stream, with callbacks instead of recv/finish (the
 * struct is copied).  send, try_send and close_send work as above. */
CGRPC_EXTERN int cgrpc_call_start_stream_async(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                               const ProtobufCMessage *request,
                                               const cgrpc_call_options *opts,
                                               const cgrpc_call_callbacks *callbacks,
                                               void *user_data, cgrpc_call **call_out);

/* For generated code: as cgrpc_call_start_stream_async, with typed callbacks: callbacks[i] is
 * the callback for CGRPC_CALLBACK_i (or NULL), called through
 * method->invoke_client_callback.  The array is copied. */
CGRPC_EXTERN int cgrpc_call_start_stream_typed(cgrpc_channel *ch, const cgrpc_method_desc *method,
                                               const ProtobufCMessage *request,
                                               const cgrpc_call_options *opts,
                                               const cgrpc_fn callbacks[CGRPC_CALLBACK_COUNT],
                                               void *user_data, cgrpc_call **call_out);

/* ---- every call ------------------------------------------------------------------------- */

/* Cancels the call: it ends with CANCELLED unless it already ended, and the
 * server sees RST_STREAM(CANCEL).  Blocked send/recv/finish return.  Any
 * thread.  NULL-safe. */
CGRPC_EXTERN void cgrpc_call_cancel(cgrpc_call *call);

/* Nonzero when the response message received last arrived compressed (its
 * compressed flag was set): for a blocking stream the one cgrpc_call_recv
 * returned last, in on_message the one being delivered, for an asynchronous
 * unary call its response (once done has run).  0 before any message and
 * for NULL.  The server's counterpart is cgrpc_server_call_request_compressed. */
CGRPC_EXTERN int cgrpc_call_response_compressed(const cgrpc_call *call);

/* Releases the handle.  A streaming call still running is cancelled first;
 * an asynchronous unary call is not.  NULL-safe. */
CGRPC_EXTERN void cgrpc_call_free(cgrpc_call *call);

#ifdef __cplusplus
}
#endif
#endif
