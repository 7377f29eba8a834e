/* cgrpc — gRPC status codes and the outcome of a call. */
#ifndef CGRPC_STATUS_H
#define CGRPC_STATUS_H

#include <cgrpc/common.h>
#include <cgrpc/metadata.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The 17 gRPC status codes, with their wire values. */
typedef enum cgrpc_code {
  CGRPC_STATUS_OK = 0,
  CGRPC_STATUS_CANCELLED = 1,
  CGRPC_STATUS_UNKNOWN = 2,
  CGRPC_STATUS_INVALID_ARGUMENT = 3,
  CGRPC_STATUS_DEADLINE_EXCEEDED = 4,
  CGRPC_STATUS_NOT_FOUND = 5,
  CGRPC_STATUS_ALREADY_EXISTS = 6,
  CGRPC_STATUS_PERMISSION_DENIED = 7,
  CGRPC_STATUS_RESOURCE_EXHAUSTED = 8,
  CGRPC_STATUS_FAILED_PRECONDITION = 9,
  CGRPC_STATUS_ABORTED = 10,
  CGRPC_STATUS_OUT_OF_RANGE = 11,
  CGRPC_STATUS_UNIMPLEMENTED = 12,
  CGRPC_STATUS_INTERNAL = 13,
  CGRPC_STATUS_UNAVAILABLE = 14,
  CGRPC_STATUS_DATA_LOSS = 15,
  CGRPC_STATUS_UNAUTHENTICATED = 16
} cgrpc_code;

#define CGRPC_STATUS_CODE_COUNT 17

/* The canonical name of a code ("OK", "CANCELLED", ..., "UNAUTHENTICATED"),
 * or "UNKNOWN_CODE" for values outside 0..16. */
CGRPC_EXTERN const char *cgrpc_code_name(int code);

/* Parses a canonical name (as printed by cgrpc_code_name, case-insensitive).
 * Returns the code, or -1 when the name is not a status code. */
CGRPC_EXTERN int cgrpc_code_from_name(const char *name);

/*
 * The outcome of a client call: what the server (or the library, for local
 * failures such as deadlines and connection errors) said about it.
 *
 * Initialise with CGRPC_STATUS_INIT or cgrpc_status_init(); a call fills it;
 * release what it holds with cgrpc_status_clear().  A status may be reused
 * after clearing.  The members are owned by the status.
 */
typedef struct cgrpc_status {
  cgrpc_code code;
  /* The decoded grpc-message (UTF-8, NUL-terminated); "" when none was sent.
   * NULL only in a status no call has filled. */
  char *message;
  /* Response headers the server sent (custom metadata only), or NULL. */
  cgrpc_metadata *initial_metadata;
  /* Trailers the server sent (custom metadata only), or NULL. */
  cgrpc_metadata *trailing_metadata;
  /* Client calls: how many attempts (HTTP/2 streams) the call made in all -- 1 without
   * retries, 0 when it ended before any went out -- and how many of them were transparent
   * retries (streams the server refused unprocessed, sent again whatever the policy). */
  int attempts;
  int transparent_retries;
  /* Private: how message was allocated. */
  cgrpc_allocator alloc_;
} cgrpc_status;

#define CGRPC_STATUS_INIT {CGRPC_STATUS_OK, NULL, NULL, NULL, 0, 0, {NULL, NULL, NULL, NULL, NULL}}

CGRPC_EXTERN void cgrpc_status_init(cgrpc_status *status);

/* Frees what the status holds and resets it to CGRPC_STATUS_INIT.  NULL-safe. */
CGRPC_EXTERN void cgrpc_status_clear(cgrpc_status *status);

/* Moves the contents of src into dst (after clearing dst); src is left as
 * CGRPC_STATUS_INIT.  For keeping a status handed to a callback. */
CGRPC_EXTERN void cgrpc_status_move(cgrpc_status *dst, cgrpc_status *src);

#ifdef __cplusplus
}
#endif
#endif
