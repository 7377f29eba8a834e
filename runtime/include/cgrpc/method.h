/* cgrpc — method and service descriptions: what generated code hands the runtime. */
#ifndef CGRPC_METHOD_H
#define CGRPC_METHOD_H

#include <protobuf-c/protobuf-c.h>

#include <cgrpc/common.h>
#include <cgrpc/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cgrpc_server_call cgrpc_server_call;

/* The four kinds of gRPC method. */
typedef enum cgrpc_method_kind {
  CGRPC_METHOD_UNARY = 0,
  CGRPC_METHOD_CLIENT_STREAMING = 1,
  CGRPC_METHOD_SERVER_STREAMING = 2,
  CGRPC_METHOD_BIDI_STREAMING = 3
} cgrpc_method_kind;

/* A retry policy, as gRFC A6 defines it.  Before attempt n+1 (n >= 1) the
 * call waits a delay drawn uniformly from
 *   [d * (1 - jitter), d],  d = min(initial_backoff_ms * backoff_multiplier^(n-1), max_backoff_ms),
 * so jitter 1.0 is A6's random(0, d) and 0.0 waits exactly d. */
typedef struct cgrpc_retry_policy {
  int max_attempts;           /* attempts in all, the first included; < 2: no retries */
  int64_t initial_backoff_ms; /* > 0 */
  int64_t max_backoff_ms;     /* >= initial_backoff_ms */
  double backoff_multiplier;  /* > 0 (gRFC A6); the .proto's options ask for >= 1 */
  double jitter;              /* 0..1 */
  uint32_t retryable_codes;   /* bit (1u << code) for each cgrpc_code that is retried */
} cgrpc_retry_policy;

/* The header that carries a call's idempotency key unless the policy names another. */
#define CGRPC_IDEMPOTENCY_KEY_HEADER "idempotency-key"

/* Policy baked into generated code from the (cgrpc.service) and
 * (cgrpc.method) options of the .proto (see cgrpc/options.proto), merged
 * (the method's own settings over the service's).  Call options and a
 * channel's service config override it at run time. */
typedef struct cgrpc_method_policy {
  /* Deadline for each call, counted from its start; 0 = none.  It covers
   * every attempt of a retried call. */
  int64_t timeout_ms;
  /* Retries; retry.max_attempts < 2 means none. */
  cgrpc_retry_policy retry;
  /* The method is safe to run more than once for one logical call (our
   * option, or protobuf's idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS):
   * each call carries an idempotency key, the same on every attempt. */
  int idempotent;
  /* The key's header; NULL = CGRPC_IDEMPOTENCY_KEY_HEADER. */
  const char *idempotency_key_header;
} cgrpc_method_policy;

/* Calls a typed handler: casts handler back to its real type and the
 * messages to their generated types, passing what its kind takes (unary:
 * request and response; client-streaming: response; server-streaming:
 * request; bidi: neither).  Generated per method. */
typedef cgrpc_code (*cgrpc_handler_invoker)(cgrpc_fn handler, cgrpc_server_call *call,
                                            const ProtobufCMessage *request,
                                            ProtobufCMessage *response, void *user_data);

/* Calls a typed client completion callback the same way.  Generated per method. */
typedef void (*cgrpc_unary_done_invoker)(cgrpc_fn done, cgrpc_status *status,
                                         ProtobufCMessage *response, void *user_data);

/* The callbacks of an asynchronous stream, by their place in a generated callbacks struct:
 * client calls (cgrpc_call_start_stream_typed)... */
enum {
  CGRPC_CALLBACK_HEADERS = 0,    /* arg: const cgrpc_metadata *, the response headers */
  CGRPC_CALLBACK_MESSAGE = 1,    /* arg: ProtobufCMessage *, a response (the callback's) */
  CGRPC_CALLBACK_SEND_READY = 2, /* arg: NULL */
  CGRPC_CALLBACK_DONE = 3,       /* arg: cgrpc_status * */
  CGRPC_CALLBACK_COUNT = 4
};
/* ... and server calls (cgrpc_server_call_set_callbacks_typed). */
enum {
  CGRPC_SERVER_CALLBACK_MESSAGE = 0,    /* arg: const ProtobufCMessage *, a request */
  CGRPC_SERVER_CALLBACK_RECV_DONE = 1,  /* arg: NULL */
  CGRPC_SERVER_CALLBACK_SEND_READY = 2, /* arg: NULL */
  CGRPC_SERVER_CALLBACK_CANCEL = 3,     /* arg: NULL */
  CGRPC_SERVER_CALLBACK_COUNT = 4
};

/* Calls the typed callback fn of a streaming method, which is one of the CGRPC_CALLBACK_*
 * (call is a cgrpc_call *) or CGRPC_SERVER_CALLBACK_* (call is a cgrpc_server_call *), casting
 * call and arg to their generated types.  Generated per streaming method, one for each side. */
typedef void (*cgrpc_callback_invoker)(cgrpc_fn fn, int which, void *call, void *arg,
                                       void *user_data);

/* One method.  Generated code keeps these in static tables, with designated initializers:
 * fields may be added. */
typedef struct cgrpc_method_desc {
  const char *path; /* "/package.Service/Method", as sent in :path */
  const char *name; /* "Method" */
  cgrpc_method_kind kind;
  const ProtobufCMessageDescriptor *request;
  const ProtobufCMessageDescriptor *response;
  const cgrpc_method_policy *policy; /* NULL: no baked policy */
  cgrpc_handler_invoker invoke_handler;      /* server side */
  cgrpc_unary_done_invoker invoke_unary_done; /* client side, unary methods; else NULL */
  cgrpc_callback_invoker invoke_client_callback; /* streaming methods; else NULL */
  cgrpc_callback_invoker invoke_server_callback; /* streaming methods; else NULL */
} cgrpc_method_desc;

/* One service: its fully-qualified name and its methods in .proto order. */
typedef struct cgrpc_service_desc {
  const char *name; /* "package.Service" */
  size_t n_methods;
  const cgrpc_method_desc *methods;
} cgrpc_service_desc;

#ifdef __cplusplus
}
#endif
#endif
