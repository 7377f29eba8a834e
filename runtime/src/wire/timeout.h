/* Internal: the grpc-timeout header: at most 8 digits and a unit (H M S m u n). */
#ifndef CGRPC_TIMEOUT_H
#define CGRPC_TIMEOUT_H

#include <stddef.h>
#include <stdint.h>

#define CGRPC_TIMEOUT_MAX_LEN 10 /* 8 digits, a unit, a NUL */

/* Parses s[0..n).  Returns 0 with the timeout in nanoseconds, or -1 when
 * the value is not 1-8 digits followed by exactly one unit. */
int cgrpc_timeout_parse(const char *s, size_t n, int64_t *ns_out);

/* Encodes a timeout (ns; values below 1 become 1n) with the finest unit
 * that fits in 8 digits, rounding up.  Returns the length. */
size_t cgrpc_timeout_encode(char out[CGRPC_TIMEOUT_MAX_LEN], int64_t ns);

#endif
