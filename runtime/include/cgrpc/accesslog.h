/* cgrpc — access logs: one structured line per finished call, and the runtime's own events. */
#ifndef CGRPC_ACCESSLOG_H
#define CGRPC_ACCESSLOG_H

#include <stddef.h>

#include <cgrpc/channel.h>
#include <cgrpc/common.h>
#include <cgrpc/log.h>
#include <cgrpc/server.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An access log writes one line per finished call of the servers and channels it is attached
 * to, with go-grpc-middleware's field names (doc/observability.md):
 *
 *   {"time":"2026-12-08T01:02:03.456Z","level":"info","msg":"finished call",
 *    "grpc.component":"server","grpc.service":"pkg.Svc","grpc.method":"Get",
 *    "grpc.method_type":"unary","peer.address":"127.0.0.1:51234",
 *    "grpc.start_time":"2026-12-08T01:02:03.455Z","grpc.request.deadline":"...",
 *    "grpc.code":"OK","grpc.time_ms":0.84,"attempts":1,"idempotency_key_hash":"9f2c..."}
 *
 * ("grpc.error" with the status message when the code is not OK; "grpc.request.deadline"
 * only when the call has one; the idempotency key, when the call carries one, as the first 16
 * hex digits of its SHA-256 -- enough to follow a key across retries and replicas, useless
 * for replaying it.)  Never written: metadata of any kind (so no authorization, cookies, tokens
 * or -bin values) and no message bodies.
 *
 *   cgrpc_access_log *log;
 *   cgrpc_access_log_new(&log);                   (JSON lines to stderr)
 *   cgrpc_access_log_attach_server(log, server_opts);
 *   cgrpc_access_log_attach_channel(log, channel_opts);
 *   ... serve; free the servers and channels ...
 *   cgrpc_access_log_free(log);                   (writes what is still queued)
 *
 * Lines never wait for the sink: a call's hooks (often on an I/O thread) format the line and
 * queue it; a thread of the log's own hands queued lines to the sink in order.  When the queue
 * is full (1 MiB of lines by default) further lines are dropped and counted, and the next line
 * written says how many ("dropped" field).
 */
typedef struct cgrpc_access_log cgrpc_access_log;

typedef enum cgrpc_access_log_format {
  CGRPC_ACCESS_LOG_JSON = 0, /* one JSON object per line (JSON Lines) */
  CGRPC_ACCESS_LOG_LOGFMT = 1 /* key=value pairs, values quoted when they need it */
} cgrpc_access_log_format;

/* Gets each line (without its newline), on the log's own thread, in order.  It may block
 * (lines queue meanwhile) but must not free the log. */
typedef void (*cgrpc_access_log_sink)(cgrpc_log_level level, const char *line, size_t len,
                                      void *user_data);

/* A log writing JSON lines to stderr.  Returns 0, CGRPC_ERR_INVALID_ARGUMENT, CGRPC_ERR_NOMEM
 * or CGRPC_ERR_SYSTEM (its thread). */
CGRPC_EXTERN int cgrpc_access_log_new(cgrpc_access_log **out);
/* Writes what is queued, stops its thread, frees the log.  The servers and channels it is
 * attached to must be gone.  NULL-safe. */
CGRPC_EXTERN void cgrpc_access_log_free(cgrpc_access_log *log);

/* The settings below take effect for the lines that follow. */
CGRPC_EXTERN void cgrpc_access_log_set_format(cgrpc_access_log *log,
                                              cgrpc_access_log_format format);
/* Where lines go (NULL: stderr, the default). */
CGRPC_EXTERN void cgrpc_access_log_set_sink(cgrpc_access_log *log, cgrpc_access_log_sink sink,
                                            void *user_data);
/* The level a call ending with code is logged at.  The defaults are go-grpc-middleware's:
 * info for OK, Canceled, InvalidArgument, NotFound, AlreadyExists, Unauthenticated; warning for
 * DeadlineExceeded, PermissionDenied, ResourceExhausted, FailedPrecondition, Aborted,
 * OutOfRange, Unavailable; error for Unknown, Unimplemented, Internal, DataLoss.  Returns 0 or
 * CGRPC_ERR_INVALID_ARGUMENT. */
CGRPC_EXTERN int cgrpc_access_log_set_code_level(cgrpc_access_log *log, cgrpc_code code,
                                                 cgrpc_log_level level);
/* Lines below min are not written (default CGRPC_LOG_INFO; CGRPC_LOG_DEBUG writes all). */
CGRPC_EXTERN void cgrpc_access_log_set_min_level(cgrpc_access_log *log, cgrpc_log_level min);

/* One line per call of servers made with opts (an interceptor, added at this point of opts'
 * list).  Returns 0, CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_access_log_attach_server(cgrpc_access_log *log,
                                                cgrpc_server_options *opts);
/* The same for calls of channels made with opts ("peer.address" is the channel's authority;
 * "attempts" how many HTTP/2 streams the call took, retries included). */
CGRPC_EXTERN int cgrpc_access_log_attach_channel(cgrpc_access_log *log,
                                                 cgrpc_channel_options *opts);

/* Sends the runtime's own log lines through this log too, formatted the same way with
 * "grpc.component":"runtime", at their own levels: connections up (info) and closed with
 * why (info: a TLS handshake that failed, a peer that went away, an idle or aged connection),
 * GOAWAY received (info, warn when not NO_ERROR), keepalive failures, handler pools
 * exhausted, clients sent GOAWAY for too many glitches, retries throttled (warn).  Replaces
 * the process's log handler and lowers its level to debug (cgrpc_log_set_handler,
 * cgrpc_log_set_level) until the log is freed, which sets them back to the defaults. */
CGRPC_EXTERN void cgrpc_access_log_capture_runtime(cgrpc_access_log *log);

/* How many lines were dropped because the queue was full, since the log was made. */
CGRPC_EXTERN unsigned long cgrpc_access_log_dropped(const cgrpc_access_log *log);

#ifdef __cplusplus
}
#endif
#endif
