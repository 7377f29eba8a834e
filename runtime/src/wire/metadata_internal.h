/* Internal: metadata as the wire layer builds and reads it. */
#ifndef CGRPC_METADATA_INTERNAL_H
#define CGRPC_METADATA_INTERNAL_H

#include <cgrpc/metadata.h>

struct cgrpc_metadata {
  cgrpc_allocator alloc;
  cgrpc_metadata_entry *entries; /* key and value of each share one allocation */
  size_t count;
  size_t cap;
};

/* Nonzero when a header with this name belongs to gRPC or HTTP/2 itself
 * (":...", "grpc-...", content-type, te, ...) rather than to the user. */
int cgrpc_metadata_is_reserved(const char *name, size_t len);

/* Appends without any check (the caller validated). */
int cgrpc_metadata_append(cgrpc_metadata *md, const char *key, size_t key_len,
                          const uint8_t *value, size_t value_len);

/* Appends a header received from the peer, base64-decoding -bin values.
 * Reserved names are skipped, except user-agent which is kept.
 * Returns 0, CGRPC_ERR_PROTO (bad base64) or CGRPC_ERR_NOMEM. */
int cgrpc_metadata_append_wire(cgrpc_metadata *md, const char *name, size_t name_len,
                               const char *value, size_t value_len);

/* Creates *md with alloc if it is NULL.  Returns 0 or CGRPC_ERR_NOMEM. */
int cgrpc_metadata_ensure(cgrpc_metadata **md, const cgrpc_allocator *alloc);

/* Nonzero when the key ends in "-bin". */
int cgrpc_metadata_key_is_bin(const char *key, size_t len);

#endif
