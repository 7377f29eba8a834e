/* Internal: percent-encoding of grpc-message (PROTOCOL-HTTP2.md). */
#ifndef CGRPC_PERCENT_H
#define CGRPC_PERCENT_H

#include <stddef.h>

/* Size of the encoding of s[0..n), without a NUL. */
size_t cgrpc_percent_encoded_len(const char *s, size_t n);

/* Writes the encoding and a NUL into dst (cgrpc_percent_encoded_len + 1
 * bytes): bytes outside 0x20-0x7e and '%' become %XX.  Returns the length. */
size_t cgrpc_percent_encode(char *dst, const char *s, size_t n);

/* Decodes s[0..n) into dst (n + 1 bytes), NUL-terminated.  Malformed escapes
 * are kept as they are, never dropped.  Returns the length. */
size_t cgrpc_percent_decode(char *dst, const char *s, size_t n);

#endif
