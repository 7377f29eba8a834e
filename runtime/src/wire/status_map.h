/* Internal: filling a cgrpc_status, and how HTTP/2 outcomes map to gRPC codes. */
#ifndef CGRPC_STATUS_MAP_H
#define CGRPC_STATUS_MAP_H

#include <stdarg.h>

#include <cgrpc/status.h>

/* Sets code and a copy of message (NULL: ""), allocated with *a (NULL:
 * malloc).  Keeps metadata already there.  Returns 0 or CGRPC_ERR_NOMEM (the
 * code is set even then, with message NULL). */
int cgrpc_status_set(cgrpc_status *st, const cgrpc_allocator *a, cgrpc_code code,
                     const char *message);
int cgrpc_status_setf(cgrpc_status *st, const cgrpc_allocator *a, cgrpc_code code,
                      const char *fmt, ...) CGRPC_PRINTF(4, 5);
int cgrpc_status_setv(cgrpc_status *st, const cgrpc_allocator *a, cgrpc_code code,
                      const char *fmt, va_list ap) CGRPC_PRINTF(4, 0);

/* A response whose HTTP status is not 200 and that carries no grpc-status. */
cgrpc_code cgrpc_code_from_http_status(int http_status);

/* A stream reset by the peer with this HTTP/2 error code. */
cgrpc_code cgrpc_code_from_rst_stream(uint32_t h2_error);

/* Parses grpc-status: 1 to 9 ASCII digits.  Unknown numbers map to UNKNOWN.
 * Returns the code or -1 when the text is not a number. */
int cgrpc_code_parse(const char *s, size_t len);

#endif
