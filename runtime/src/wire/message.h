/* Internal: one gRPC message for the wire -- serialised, compressed if asked, framed. */
#ifndef CGRPC_MESSAGE_H
#define CGRPC_MESSAGE_H

#include <protobuf-c/protobuf-c.h>

#include <cgrpc/status.h>

#include "base/bufq.h"

/* A buffer holding msg framed for the wire, compressed with encoding (a cgrpc_encoding)
 * unless that is identity.  len is msg's serialised size if the caller has it
 * (protobuf_c_message_get_packed_size walks the whole message), else SIZE_MAX.  A message
 * whose serialised size is over max (max >= 0) is CGRPC_ERR_TOO_LARGE.  Returns the buffer
 * (one cgrpc_free frees it), or NULL with *err set (CGRPC_ERR_TOO_LARGE, CGRPC_ERR_NOMEM). */
cgrpc_buf *cgrpc_message_encode(const cgrpc_allocator *alloc, const ProtobufCMessage *msg,
                                size_t len,
                                int encoding, int64_t max, int *err);

/* Decodes one message as it came off the wire: inflated with encoding (a cgrpc_encoding;
 * identity: as it is) to at most max bytes (max >= 0), then unpacked with pb.  The inflated
 * bytes live in alloc until unpacked.  Returns CGRPC_STATUS_OK with *out (and, unless
 * plain_len is NULL, the message's size inflated), or the status the call ends with
 * (RESOURCE_EXHAUSTED, INTERNAL) and why ("what" names the message: "request", "response"). */
cgrpc_code cgrpc_message_decode(const char *what, const ProtobufCMessageDescriptor *desc,
                                ProtobufCAllocator *pb, const cgrpc_allocator *alloc, int encoding,
                                const uint8_t *bytes, size_t len, int64_t max,
                                ProtobufCMessage **out, size_t *plain_len, char *why,
                                size_t why_len);

#endif
