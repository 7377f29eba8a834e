/* Messages for the wire: serialise, compress, frame into one buffer; and back. */
#include <stdio.h>

#include "base/alloc.h"
#include "wire/compress.h"
#include "wire/frame.h"
#include "wire/message.h"

cgrpc_buf *cgrpc_message_encode(const cgrpc_allocator *alloc, const ProtobufCMessage *msg,
                                size_t len, int encoding, int64_t max, int *err)
{
  if (len == SIZE_MAX)
    len = protobuf_c_message_get_packed_size(msg);
  if (len > UINT32_MAX || (max >= 0 && (int64_t)len > max)) {
    *err = CGRPC_ERR_TOO_LARGE;
    return NULL;
  }
  *err = CGRPC_ERR_NOMEM;
  if (encoding == CGRPC_ENCODING_IDENTITY) {
    cgrpc_buf *b = cgrpc_buf_new(alloc, CGRPC_FRAME_PREFIX + len);
    if (b != NULL) {
      uint8_t *p = (uint8_t *)b->data;
      cgrpc_frame_write_prefix(p, 0, (uint32_t)len);
      protobuf_c_message_pack(msg, p + CGRPC_FRAME_PREFIX);
    }
    return b;
  }
  /* Serialise, then compress straight into the buffer, after its header. */
  uint8_t small[4096];
  uint8_t *plain = len <= sizeof small ? small : cgrpc_malloc(alloc, len);
  if (plain == NULL)
    return NULL;
  protobuf_c_message_pack(msg, plain);
  uint8_t *mem = NULL;
  size_t mem_len = 0;
  size_t head = sizeof(cgrpc_buf) + CGRPC_FRAME_PREFIX;
  int rv = cgrpc_compress((cgrpc_encoding)encoding, alloc, plain, len, head, &mem, &mem_len);
  if (plain != small)
    cgrpc_free(alloc, plain);
  if (rv != 0)
    return NULL;
  if (mem_len - head > UINT32_MAX) {
    cgrpc_free(alloc, mem);
    return NULL;
  }
  cgrpc_buf *b = (cgrpc_buf *)(void *)mem;
  cgrpc_buf_wrap(b, mem + sizeof(cgrpc_buf), mem_len - sizeof(cgrpc_buf));
  cgrpc_frame_write_prefix(mem + sizeof(cgrpc_buf), 1, (uint32_t)(mem_len - head));
  return b;
}

cgrpc_code cgrpc_message_decode(const char *what, const ProtobufCMessageDescriptor *desc,
                                ProtobufCAllocator *pb, const cgrpc_allocator *alloc, int encoding,
                                const uint8_t *bytes, size_t len, int64_t max,
                                ProtobufCMessage **out, size_t *plain_len, char *why,
                                size_t why_len)
{
  *out = NULL;
  uint8_t *plain = NULL;
  if (encoding != CGRPC_ENCODING_IDENTITY) {
    int rv = cgrpc_decompress((cgrpc_encoding)encoding, alloc, bytes, len, max, &plain, &len);
    if (rv != 0)
      return cgrpc_decompress_failure(rv, max, why, why_len);
    bytes = plain;
  }
  if (plain_len != NULL)
    *plain_len = len;
  *out = protobuf_c_message_unpack(desc, pb, len, bytes);
  cgrpc_free(alloc, plain);
  if (*out == NULL) {
    snprintf(why, why_len, "failed to parse %s message (%s)", what, desc->name);
    return CGRPC_STATUS_INTERNAL;
  }
  return CGRPC_STATUS_OK;
}
