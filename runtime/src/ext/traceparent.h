/* Internal: the W3C Trace Context traceparent header (https://www.w3.org/TR/trace-context/):
 * "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>", lower-case. */
#ifndef CGRPC_TRACEPARENT_H
#define CGRPC_TRACEPARENT_H

#include <stddef.h>
#include <stdint.h>

#define CGRPC_TRACEPARENT_LEN 55 /* version 00's length */

typedef struct cgrpc_traceparent {
  uint8_t trace_id[16];
  uint8_t parent_id[8];
  uint8_t flags; /* bit 0: sampled */
} cgrpc_traceparent;

/* Parses value (len bytes) as the spec says a receiver must: version 00 exactly 55 characters;
 * a later version at least that, with '-' after the flags when longer; version ff, upper-case
 * or non-hex digits, wrong lengths and all-zero trace-id or parent-id are invalid.  Returns 1
 * and fills *out when valid, else 0. */
int cgrpc_traceparent_parse(const char *value, size_t len, cgrpc_traceparent *out);

/* Writes tp as a version 00 header into buf (at least CGRPC_TRACEPARENT_LEN + 1 bytes). */
void cgrpc_traceparent_format(const cgrpc_traceparent *tp, char *buf);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void cgrpc_hex(const uint8_t *bytes, size_t n, char *out);

#endif
