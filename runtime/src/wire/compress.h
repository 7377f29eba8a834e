/* Internal: per-message compression (grpc-encoding), gzip and deflate by zlib. */
#ifndef CGRPC_COMPRESS_H
#define CGRPC_COMPRESS_H

#include <cgrpc/common.h>
#include <cgrpc/status.h>

typedef enum cgrpc_encoding {
  CGRPC_ENCODING_UNKNOWN = -1,
  CGRPC_ENCODING_IDENTITY = 0,
  CGRPC_ENCODING_DEFLATE = 1,
  CGRPC_ENCODING_GZIP = 2
} cgrpc_encoding;

/* What we accept, as grpc-accept-encoding says it. */
#define CGRPC_ACCEPT_ENCODING "identity,deflate,gzip"

/* Parses a grpc-encoding value (case-sensitive, as gRPC's names are). */
cgrpc_encoding cgrpc_encoding_parse(const char *s, size_t n);
/* "identity", "deflate" or "gzip". */
const char *cgrpc_encoding_name(cgrpc_encoding e);

/* Compresses src into a new buffer of alloc, with room for prefix bytes
 * before the data (left for the caller).  Returns 0 with *out (the buffer)
 * and *out_len (prefix + compressed bytes), or CGRPC_ERR_NOMEM. */
int cgrpc_compress(cgrpc_encoding e, const cgrpc_allocator *alloc, const uint8_t *src, size_t n,
                   size_t prefix, uint8_t **out, size_t *out_len);

/* Decompresses src into a new buffer of alloc.  More than max bytes (max
 * >= 0) is CGRPC_ERR_TOO_LARGE; corrupt input CGRPC_ERR_PROTO; else
 * CGRPC_ERR_NOMEM or 0 with *out, *out_len. */
int cgrpc_decompress(cgrpc_encoding e, const cgrpc_allocator *alloc, const uint8_t *src, size_t n,
                     int64_t max, uint8_t **out, size_t *out_len);

/* What a call ends with when cgrpc_decompress returned rv (not 0), and why (max as given to
 * it). */
cgrpc_code cgrpc_decompress_failure(int rv, int64_t max, char *why, size_t why_len);

#endif