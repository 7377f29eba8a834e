/* The monotonic clock every deadline is measured on. */
#include <time.h>

#include <cgrpc/common.h>

cgrpc_time cgrpc_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (cgrpc_time)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
