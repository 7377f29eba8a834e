/* Internal: base64 for -bin metadata (mbedTLS underneath); emits unpadded, accepts both. */
#ifndef CGRPC_B64_H
#define CGRPC_B64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes cgrpc_b64_encode needs for n input bytes, including a NUL. */
size_t cgrpc_b64_encode_size(size_t n);

/* Writes the unpadded base64 of src and a NUL into dst (cgrpc_b64_encode_size(n)
 * bytes).  Returns the length without the NUL. */
size_t cgrpc_b64_encode(char *dst, const uint8_t *src, size_t n);

/* Upper bound of the decoded size of n base64 characters. */
size_t cgrpc_b64_decode_size(size_t n);

/* Decodes standard base64, padded or not, into dst (cgrpc_b64_decode_size(n)
 * bytes).  Returns 0 and the length in *out_len, or -1 on malformed input. */
int cgrpc_b64_decode(uint8_t *dst, size_t *out_len, const char *src, size_t n);

#endif
