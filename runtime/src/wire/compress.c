/* Message compression with zlib: gzip and deflate, as grpc-encoding names them. */
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include "base/alloc.h"
#include "wire/compress.h"

cgrpc_encoding cgrpc_encoding_parse(const char *s, size_t n)
{
  if (n == 8 && memcmp(s, "identity", 8) == 0)
    return CGRPC_ENCODING_IDENTITY;
  if (n == 4 && memcmp(s, "gzip", 4) == 0)
    return CGRPC_ENCODING_GZIP;
  if (n == 7 && memcmp(s, "deflate", 7) == 0)
    return CGRPC_ENCODING_DEFLATE;
  return CGRPC_ENCODING_UNKNOWN;
}

const char *cgrpc_encoding_name(cgrpc_encoding e)
{
  switch (e) {
  case CGRPC_ENCODING_GZIP:
    return "gzip";
  case CGRPC_ENCODING_DEFLATE:
    return "deflate";
  default:
    return "identity";
  }
}

static void *compress_zalloc(void *opaque, unsigned items, unsigned size)
{
  return cgrpc_calloc(opaque, items, size);
}

static void compress_zfree(void *opaque, void *p)
{
  cgrpc_free(opaque, p);
}

/* zlib's window bits: 15 + 16 is the gzip wrapper, plain 15 zlib's (deflate). */
static int compress_window_bits(cgrpc_encoding e)
{
  return e == CGRPC_ENCODING_GZIP ? 15 + 16 : 15;
}

int cgrpc_compress(cgrpc_encoding e, const cgrpc_allocator *alloc, const uint8_t *src, size_t n,
                   size_t prefix, uint8_t **out, size_t *out_len)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  z.zalloc = compress_zalloc;
  z.zfree = compress_zfree;
  z.opaque = (void *)alloc;
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, compress_window_bits(e), 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return CGRPC_ERR_NOMEM;
  size_t cap = prefix + deflateBound(&z, (uLong)n);
  uint8_t *buf = cgrpc_malloc(alloc, cap);
  if (buf == NULL) {
    deflateEnd(&z);
    return CGRPC_ERR_NOMEM;
  }
  z.next_in = (Bytef *)src;
  z.avail_in = (uInt)n;
  z.next_out = buf + prefix;
  z.avail_out = (uInt)(cap - prefix);
  int rv = deflate(&z, Z_FINISH); /* deflateBound guarantees one call does it */
  size_t len = prefix + z.total_out;
  deflateEnd(&z);
  if (rv != Z_STREAM_END) {
    cgrpc_free(alloc, buf);
    return CGRPC_ERR_NOMEM;
  }
  *out = buf;
  *out_len = len;
  return 0;
}

int cgrpc_decompress(cgrpc_encoding e, const cgrpc_allocator *alloc, const uint8_t *src, size_t n,
                     int64_t max, uint8_t **out, size_t *out_len)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  z.zalloc = compress_zalloc;
  z.zfree = compress_zfree;
  z.opaque = (void *)alloc;
  if (inflateInit2(&z, compress_window_bits(e)) != Z_OK)
    return CGRPC_ERR_NOMEM;
  /* The buffer never grows past max + 1 bytes: a bomb stops there. */
  size_t limit = max >= 0 ? (size_t)max + 1 : SIZE_MAX;
  size_t cap = n < 1024 ? 4096 : n * 4, len = 0;
  if (cap > limit)
    cap = limit;
  uint8_t *buf = cgrpc_malloc(alloc, cap);
  int status = buf != NULL ? 0 : CGRPC_ERR_NOMEM;
  z.next_in = (Bytef *)src;
  z.avail_in = (uInt)n;
  while (status == 0) {
    if (len == cap) {
      if (cap == limit) {
        status = CGRPC_ERR_TOO_LARGE;
        break;
      }
      size_t grown = cap > limit / 2 ? limit : cap * 2;
      uint8_t *b = cgrpc_realloc(alloc, buf, grown);
      if (b == NULL) {
        status = CGRPC_ERR_NOMEM;
        break;
      }
      buf = b;
      cap = grown;
    }
    z.next_out = buf + len;
    z.avail_out = (uInt)(cap - len);
    int zr = inflate(&z, Z_NO_FLUSH);
    len = cap - z.avail_out;
    if (zr == Z_STREAM_END) {
      if (z.avail_in != 0)
        status = CGRPC_ERR_PROTO; /* bytes after the compressed stream */
      else if (max >= 0 && (int64_t)len > max)
        status = CGRPC_ERR_TOO_LARGE;
      break;
    }
    if (zr == Z_OK || (zr == Z_BUF_ERROR && z.avail_out == 0))
      continue; /* more to do, or more room needed */
    status = zr == Z_MEM_ERROR ? CGRPC_ERR_NOMEM : CGRPC_ERR_PROTO; /* corrupt or cut short */
  }
  inflateEnd(&z);
  if (status != 0) {
    cgrpc_free(alloc, buf);
    return status;
  }
  *out = buf;
  *out_len = len;
  return 0;
}

cgrpc_code cgrpc_decompress_failure(int rv, int64_t max, char *why, size_t why_len)
{
  if (rv == CGRPC_ERR_TOO_LARGE) {
    snprintf(why, why_len, "decompressed message larger than max (%lld)", (long long)max);
    return CGRPC_STATUS_RESOURCE_EXHAUSTED;
  }
  snprintf(why, why_len, "cannot decompress a message (%s)",
           rv == CGRPC_ERR_NOMEM ? "out of memory" : "corrupt data");
  return rv == CGRPC_ERR_NOMEM ? CGRPC_STATUS_RESOURCE_EXHAUSTED : CGRPC_STATUS_INTERNAL;
}
