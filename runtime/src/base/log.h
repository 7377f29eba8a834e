/* Internal: writing to the runtime's log (cgrpc/log.h). */
#ifndef CGRPC_BASE_LOG_H
#define CGRPC_BASE_LOG_H

#include <cgrpc/log.h>

void cgrpc_log(cgrpc_log_level level, const char *fmt, ...) CGRPC_PRINTF(2, 3);

#endif
