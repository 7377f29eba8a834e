/* Internal: building header lists for nghttp2, and recognising the headers gRPC uses. */
#ifndef CGRPC_HEADERS_H
#define CGRPC_HEADERS_H

#include <nghttp2/nghttp2.h>

#include <cgrpc/metadata.h>
#include <cgrpc/status.h>

#include "base/arena.h"

/* A header list under construction.  Values are kept in a small arena (no
 * allocation for typical lists); nghttp2 copies them on submit. */
typedef struct cgrpc_nvbuf {
  nghttp2_nv *nv;
  size_t n;
  size_t size; /* the list's size, by HTTP/2's measure (below) */
  size_t cap;
  const cgrpc_allocator *alloc;
  cgrpc_arena arena;
  nghttp2_nv inline_nv[16];
  max_align_t inline_mem[64];
} cgrpc_nvbuf;

void cgrpc_nvbuf_init(cgrpc_nvbuf *b, const cgrpc_allocator *alloc);
void cgrpc_nvbuf_clear(cgrpc_nvbuf *b);

/* Adds a header whose name and value outlive the submit (string literals). */
int cgrpc_nvbuf_add_static(cgrpc_nvbuf *b, const char *name, const char *value);
/* Adds a header, copying nothing: name and value must live until submit. */
int cgrpc_nvbuf_add(cgrpc_nvbuf *b, const char *name, size_t name_len, const char *value,
                    size_t value_len);
/* Adds every entry of md, base64-encoding -bin values. */
int cgrpc_nvbuf_add_metadata(cgrpc_nvbuf *b, const cgrpc_metadata *md);
/* Adds grpc-status and, if message is not empty, grpc-message (percent-encoded, cut to
 * CGRPC_STATUS_MESSAGE_WIRE_MAX bytes at a character's start). */
int cgrpc_nvbuf_add_status(cgrpc_nvbuf *b, cgrpc_code code, const char *message);
/* Adds grpc-timeout for a timeout of ns nanoseconds. */
int cgrpc_nvbuf_add_timeout(cgrpc_nvbuf *b, int64_t ns);

/* Header list sizes, by HTTP/2's measure (RFC 7540 6.5.2: name + value + 32 per field).
 *
 * A header list nghttp2 will send: its encoded block must stay within nghttp2's 64 KiB (its
 * bound is 12 + 13 per field + names and values, which this measure exceeds). */
#define CGRPC_MAX_SEND_HEADER_LIST (64 * 1024 - 16)
/* The longest grpc-message sent, encoded: a longer message is cut, so a status always fits. */
#define CGRPC_STATUS_MESSAGE_WIRE_MAX 8192
/* What our own headers of an answer take besides grpc-message and the metadata. */
#define CGRPC_OWN_HEADERS_SIZE 512

/* The size of every entry of md as sent (-bin values base64-encoded). */
size_t cgrpc_metadata_list_size(const cgrpc_metadata *md);
/* The size of grpc-status and grpc-message as cgrpc_nvbuf_add_status sends them. */
size_t cgrpc_status_list_size(const char *message);

/* The headers gRPC itself reads. */
typedef enum cgrpc_header {
  CGRPC_HDR_OTHER = 0, /* custom metadata, or ignored */
  CGRPC_HDR_STATUS,    /* :status */
  CGRPC_HDR_METHOD,    /* :method */
  CGRPC_HDR_PATH,      /* :path */
  CGRPC_HDR_AUTHORITY, /* :authority */
  CGRPC_HDR_PSEUDO,    /* another pseudo-header */
  CGRPC_HDR_CONTENT_TYPE,
  CGRPC_HDR_TE,
  CGRPC_HDR_GRPC_STATUS,
  CGRPC_HDR_GRPC_MESSAGE,
  CGRPC_HDR_GRPC_TIMEOUT,
  CGRPC_HDR_GRPC_ENCODING,
  CGRPC_HDR_GRPC_OTHER /* another reserved grpc-* header */
} cgrpc_header;

cgrpc_header cgrpc_header_classify(const uint8_t *name, size_t len);

/* Nonzero for "application/grpc", "application/grpc+..." and "application/grpc;...". */
int cgrpc_content_type_is_grpc(const uint8_t *value, size_t len);

#endif
