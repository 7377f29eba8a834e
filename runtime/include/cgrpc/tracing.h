/* cgrpc — tracing: W3C trace context on every call, spans, and an OTLP/JSON file exporter. */
#ifndef CGRPC_TRACING_H
#define CGRPC_TRACING_H

#include <stddef.h>
#include <stdint.h>

#include <cgrpc/channel.h>
#include <cgrpc/common.h>
#include <cgrpc/server.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A tracing object, attached to servers and channels, gives each call a place in a trace:
 *
 *   cgrpc_tracing *t;
 *   cgrpc_tracing_new(&t);
 *   cgrpc_tracing_export_otlp_file(t, "/var/log/svc/spans.jsonl");   (and/or a span callback)
 *   cgrpc_tracing_attach_server(t, server_opts);
 *   cgrpc_tracing_attach_channel(t, channel_opts);
 *   ... serve; free the servers and channels ...
 *   cgrpc_tracing_free(t);
 *
 * Server: a call whose traceparent header is valid (W3C Trace Context) joins that trace, as a
 * child of the header's parent-id, with its flags (sampled or not) and its tracestate; one
 * without, or with an invalid one (version ff, all-zero ids, wrong lengths, upper-case or
 * non-hex digits), starts a new trace, sampled at the set ratio.  The call gets a span id of
 * its own ("Recv.<service>.<method>").  Handlers read the ids with cgrpc_tracing_server_ids.
 *
 * Client: a call made inside a handler (cgrpc_call_options_set_parent) joins the handler's
 * trace as a child of its span, the way the deadline propagates; any other starts a new trace.
 * The call gets a span id of its own ("Sent.<service>.<method>") and sends traceparent (and the
 * tracestate it inherited) with it.  (One span per call: its attempts -- retries -- share it,
 * and the span says how many there were; gRFC A72's separate Attempt spans are not made.)
 *
 * A sampled span that ends goes to the span callback and the exporter; unsampled ones still
 * carry their ids downstream but are not reported.
 */
typedef struct cgrpc_tracing cgrpc_tracing;

/* One finished span, valid during the callback. */
typedef struct cgrpc_span {
  const char *name;           /* "Recv.pkg.Service.Method" or "Sent.pkg.Service.Method" */
  int server;                 /* 1: a server span (kind SERVER), 0: a client span (CLIENT) */
  char trace_id[33];          /* 32 lower-case hex digits */
  char span_id[17];           /* 16 */
  char parent_span_id[17];    /* "" for a root span */
  int64_t start_unix_nano;    /* wall clock */
  int64_t end_unix_nano;
  cgrpc_code code;
  const char *message;        /* the status message ("" when OK) */
  const char *peer;           /* server: the client's address; client: the channel's authority */
  int attempts;               /* client: HTTP/2 streams the call took (1 + retries); server: 1 */
  int transparent_retries;    /* client */
  int previous_rpc_attempts;  /* server: grpc-previous-rpc-attempts as received */
  /* Messages, in order: up to CGRPC_SPAN_MAX_EVENTS of them (the rest counted, not kept). */
  size_t nevents;
  size_t dropped_events;
  const struct cgrpc_span_event *events;
} cgrpc_span;

typedef struct cgrpc_span_event {
  int64_t unix_nano;
  int outbound;       /* 1: "Outbound message", 0: "Inbound message" */
  uint32_t sequence;  /* per direction, from 0 */
  size_t size;        /* serialised, uncompressed */
} cgrpc_span_event;

#define CGRPC_SPAN_MAX_EVENTS 128

typedef void (*cgrpc_span_fn)(const cgrpc_span *span, void *user_data);

/* Returns 0, CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_tracing_new(cgrpc_tracing **out);
/* Flushes the exporter and frees t; its servers and channels must be gone.  NULL-safe. */
CGRPC_EXTERN void cgrpc_tracing_free(cgrpc_tracing *t);

/* The share of new traces that are sampled (default 1: all); traces that come with a
 * traceparent keep its choice.  Returns 0 or CGRPC_ERR_INVALID_ARGUMENT (outside 0..1). */
CGRPC_EXTERN int cgrpc_tracing_set_sample_ratio(cgrpc_tracing *t, double ratio);
/* Calls fn with each sampled span that ends (on the thread that ends it: an I/O thread or a
 * handler's; it must not block).  Before attaching. */
CGRPC_EXTERN void cgrpc_tracing_set_span_callback(cgrpc_tracing *t, cgrpc_span_fn fn,
                                                  void *user_data);
/* Appends each sampled span to path as one OTLP/JSON ExportTraceServiceRequest per line (the
 * OpenTelemetry file exporter's format), written by a thread of its own so that calls never
 * wait for the disk.  service_name goes in the resource ("service.name"; NULL: "cgrpc").
 * Before attaching.  Returns 0, CGRPC_ERR_INVALID_ARGUMENT, CGRPC_ERR_SYSTEM (cannot open
 * path) or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_tracing_export_otlp_file(cgrpc_tracing *t, const char *path,
                                                const char *service_name);

/* Adds the interceptors.  Returns 0, CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_tracing_attach_server(cgrpc_tracing *t, cgrpc_server_options *opts);
CGRPC_EXTERN int cgrpc_tracing_attach_channel(cgrpc_tracing *t, cgrpc_channel_options *opts);

/* The trace id and span id of a server call (hex, NUL-terminated, 33 and 17 bytes), and
 * whether it is sampled.  Returns 1, or 0 when the call has no trace (no tracing attached). */
CGRPC_EXTERN int cgrpc_tracing_server_ids(const cgrpc_server_call *call, char trace_id[33],
                                          char span_id[17], int *sampled);

#ifdef __cplusplus
}
#endif
#endif
