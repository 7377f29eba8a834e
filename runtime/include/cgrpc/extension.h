/* cgrpc — the extension API: what optional parts built on the runtime (authentication,
 * de-duplication, metrics...) need of a server call beyond what a handler uses. */
#ifndef CGRPC_EXTENSION_H
#define CGRPC_EXTENSION_H

#include <cgrpc/server.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Attachments: an interceptor may attach data of its own to a call -- what an
 * authentication interceptor learnt of the caller, say -- for handlers and later stages to
 * read.  kind tells attachments apart: the address of something static of the attaching
 * module.  A call holds one attachment of each kind; attaching again with the same kind frees
 * the one before (through its free_fn, which may be NULL).  What is attached when the call
 * ends is freed with it.  One thread at a time per call.
 */
CGRPC_EXTERN void cgrpc_server_call_attach(cgrpc_server_call *call, const void *kind, void *data,
                                           void (*free_fn)(void *data));

/* The data attached to call if it is of kind, else NULL. */
CGRPC_EXTERN void *cgrpc_server_call_attachment(const cgrpc_server_call *call, const void *kind);

/* The response metadata the call's stages have added so far (never NULL; owned by the call):
 * to record an answer, e.g. for replaying it later. */
CGRPC_EXTERN const cgrpc_metadata *cgrpc_server_call_initial_metadata_out(
    const cgrpc_server_call *call);
CGRPC_EXTERN const cgrpc_metadata *cgrpc_server_call_trailing_metadata_out(
    const cgrpc_server_call *call);

/* A protobuf-c allocator that allocates in the call's memory (freed with the call, like
 * cgrpc_server_call_alloc): messages unpacked with it need no freeing.  Owned by the call. */
CGRPC_EXTERN ProtobufCAllocator *cgrpc_server_call_protobuf_allocator(cgrpc_server_call *call);

/* Nonzero when the call's interceptors and handler run on a handler thread, where blocking
 * is allowed; 0 when they run on the server's I/O thread (cgrpc_server_options_set_handler_threads
 * 0), where blocking would stall every connection. */
CGRPC_EXTERN int cgrpc_server_call_may_block(const cgrpc_server_call *call);

#ifdef __cplusplus
}
#endif
#endif
