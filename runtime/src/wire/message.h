/* Internal: one gRPC message for the wire -- serialised, compressed if asked, framed. */
#ifndef CGRPC_MESSAGE_H
#define CGRPC_MESSAGE_H

#include <protobuf-c/protobuf-c.h>

#include "base/bufq.h"

/* A buffer holding msg framed for the wire, compressed with encoding (a cgrpc_encoding)
 * unless that is identity.  A message whose serialised size is over max (max >= 0) is
 * CGRPC_ERR_TOO_LARGE.  Returns the buffer (one cgrpc_free frees it), or NULL with *err set
 * (CGRPC_ERR_TOO_LARGE, CGRPC_ERR_NOMEM). */
cgrpc_buf *cgrpc_message_encode(const cgrpc_allocator *alloc, const ProtobufCMessage *msg,
                                int encoding, int64_t max, int *err);

#endif
