/* The runtime's log: a process-wide handler (stderr by default) and a level. */
#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"

static cgrpc_log_fn log_fn;
static void *log_user_data;
static int log_min = CGRPC_LOG_WARNING;

void cgrpc_log_set_handler(cgrpc_log_fn fn, void *user_data)
{
  log_user_data = user_data;
  __atomic_store_n(&log_fn, fn, __ATOMIC_RELEASE);
}

void cgrpc_log_set_level(cgrpc_log_level min)
{
  __atomic_store_n(&log_min, (int)min, __ATOMIC_RELAXED);
}

void cgrpc_log(cgrpc_log_level level, const char *fmt, ...)
{
  if ((int)level < __atomic_load_n(&log_min, __ATOMIC_RELAXED))
    return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  cgrpc_log_fn fn = __atomic_load_n(&log_fn, __ATOMIC_ACQUIRE);
  if (fn != NULL) {
    fn(level, line, log_user_data);
    return;
  }
  static const char *const names[] = {"debug", "info", "warning", "error"};
  fprintf(stderr, "cgrpc: %s: %s\n", names[level & 3], line);
}
