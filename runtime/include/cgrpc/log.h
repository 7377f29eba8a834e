/* cgrpc — the runtime's own log: the few things it must tell an operator (a handler pool
 * exhausted, say), sent to a handler of the application's or to stderr. */
#ifndef CGRPC_LOG_H
#define CGRPC_LOG_H

#include <cgrpc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cgrpc_log_level {
  CGRPC_LOG_DEBUG = 0,
  CGRPC_LOG_INFO = 1,
  CGRPC_LOG_WARNING = 2,
  CGRPC_LOG_ERROR = 3
} cgrpc_log_level;

/* Gets each line the runtime logs (no newline), on whatever thread logs it; must not call
 * back into cgrpc. */
typedef void (*cgrpc_log_fn)(cgrpc_log_level level, const char *message, void *user_data);

/* Where log lines go, for the whole process: fn, or (NULL, the default) stderr as
 * "cgrpc: warning: ...".  Set it before creating servers and channels. */
CGRPC_EXTERN void cgrpc_log_set_handler(cgrpc_log_fn fn, void *user_data);

/* Lines below min are dropped (default CGRPC_LOG_WARNING). */
CGRPC_EXTERN void cgrpc_log_set_level(cgrpc_log_level min);

#ifdef __cplusplus
}
#endif
#endif
