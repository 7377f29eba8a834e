/* Internal: a server connection's lifetime limits (gRFC A9): max_connection_idle (no calls
 * for that long: GOAWAY "max_idle"), max_connection_age (+-10% jitter: GOAWAY "max_age",
 * then max_connection_age_grace for the calls in flight, then closed). */
#ifndef CGRPC_CONN_AGE_H
#define CGRPC_CONN_AGE_H

#include <stdint.h>

#include "base/loop.h"

typedef struct cgrpc_conn cgrpc_conn;

typedef struct cgrpc_conn_age_config {
  int64_t idle_ms;  /* 0: no limit */
  int64_t age_ms;   /* 0: no limit */
  int64_t grace_ms; /* 0: no limit (calls in flight may run to their end) */
} cgrpc_conn_age_config;

typedef struct cgrpc_conn_age {
  cgrpc_conn_age_config cfg;
  cgrpc_timer timer;
  cgrpc_time age_at;   /* GOAWAY max_age then; 0: never */
  cgrpc_time close_at; /* after the GOAWAY: cancel what is left then; 0: not draining */
  int draining;
} cgrpc_conn_age;

/* Starts the limits on a server connection; seed varies the age's jitter.  Loop thread. */
void cgrpc_conn_age_start(cgrpc_conn *conn, const cgrpc_conn_age_config *cfg, uint64_t *seed);
void cgrpc_conn_age_stop(cgrpc_conn *conn);

#endif
