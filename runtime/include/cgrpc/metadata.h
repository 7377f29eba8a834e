/* cgrpc — metadata: ordered key/value lists sent as HTTP/2 headers and trailers. */
#ifndef CGRPC_METADATA_H
#define CGRPC_METADATA_H

#include <cgrpc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Keys are lowercase: 0-9 a-z _ - . only.  A key ending in "-bin" carries
 * arbitrary bytes (base64 on the wire, padded or unpadded accepted); any
 * other key carries printable ASCII (0x20-0x7e).  Keys starting with
 * "grpc-" or ":" and the HTTP/2 headers gRPC owns (content-type, te,
 * user-agent, connection, host, ...) are reserved and cannot be added.
 */
typedef struct cgrpc_metadata cgrpc_metadata;

/* One entry.  value is followed by a NUL byte (convenient for ASCII values);
 * for -bin keys it holds the decoded bytes. */
typedef struct cgrpc_metadata_entry {
  const char *key;
  const uint8_t *value;
  size_t value_len;
} cgrpc_metadata_entry;

/* Creates an empty list.  alloc may be NULL (malloc).
 * Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_metadata_new(cgrpc_metadata **out, const cgrpc_allocator *alloc);

/* NULL-safe. */
CGRPC_EXTERN void cgrpc_metadata_free(cgrpc_metadata *md);

/* Appends a copy of key and value (keys may repeat).
 * Returns 0, CGRPC_ERR_BAD_KEY, CGRPC_ERR_RESERVED_KEY, CGRPC_ERR_BAD_VALUE,
 * CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_metadata_add(cgrpc_metadata *md, const char *key, const void *value,
                                    size_t value_len);

/* cgrpc_metadata_add with a NUL-terminated value. */
CGRPC_EXTERN int cgrpc_metadata_add_str(cgrpc_metadata *md, const char *key, const char *value);

/* Number of entries; 0 for NULL. */
CGRPC_EXTERN size_t cgrpc_metadata_count(const cgrpc_metadata *md);

/* Entry i (0 <= i < count), or NULL.  Valid until md is changed or freed. */
CGRPC_EXTERN const cgrpc_metadata_entry *cgrpc_metadata_at(const cgrpc_metadata *md, size_t i);

/* The first entry with this key, or NULL.  NULL-safe. */
CGRPC_EXTERN const cgrpc_metadata_entry *cgrpc_metadata_find(const cgrpc_metadata *md,
                                                             const char *key);

/* The value of the first entry with this key as a string, or NULL. */
CGRPC_EXTERN const char *cgrpc_metadata_get(const cgrpc_metadata *md, const char *key);

/* Checks a key as cgrpc_metadata_add would.  Returns 0, CGRPC_ERR_BAD_KEY or
 * CGRPC_ERR_RESERVED_KEY. */
CGRPC_EXTERN int cgrpc_metadata_check_key(const char *key);

#ifdef __cplusplus
}
#endif
#endif
