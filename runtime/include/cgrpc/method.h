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

/* Policy baked into generated code from the (cgrpc.service) and
 * (cgrpc.method) options of the .proto (see cgrpc/options.proto). */
typedef struct cgrpc_method_policy {
  /* Deadline for each call, counted from its start; 0 = none.  Call options
   * override it. */
  int64_t timeout_ms;
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

/* One method.  Generated code keeps these in static tables. */
typedef struct cgrpc_method_desc {
  const char *path; /* "/package.Service/Method", as sent in :path */
  const char *name; /* "Method" */
  cgrpc_method_kind kind;
  const ProtobufCMessageDescriptor *request;
  const ProtobufCMessageDescriptor *response;
  const cgrpc_method_policy *policy; /* NULL: no baked policy */
  cgrpc_handler_invoker invoke_handler;      /* server side */
  cgrpc_unary_done_invoker invoke_unary_done; /* client side, unary methods; else NULL */
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
