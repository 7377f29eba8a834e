/* Internal: what the tracing files share -- the object, a call's span, the exporter. */
#ifndef CGRPC_TRACING_INTERNAL_H
#define CGRPC_TRACING_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <cgrpc/accesslog.h>
#include <cgrpc/tracing.h>

struct cgrpc_tracing {
  double ratio;
  cgrpc_span_fn fn;
  void *fn_ud;
  cgrpc_access_log *exporter; /* OTLP/JSON lines, written by its thread; NULL: none */
  FILE *file;
  char *service_name;
};

/* A call's span while it runs. */
typedef struct span_state {
  cgrpc_tracing *t;
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t parent_id[8];
  int has_parent;
  uint8_t flags; /* W3C: bit 0 sampled */
  char tracestate[512];
  char name[160];
  int64_t start_unix_nano;
  pthread_mutex_t mu; /* the events: on_send may run beside on_recv and on_done */
  cgrpc_span_event *events;
  size_t nevents, cap, dropped;
  uint32_t seq_in, seq_out;
} span_state;

/* Wall-clock ns of t (cgrpc_now()'s clock). */
int64_t cgrpc_tracing_wall_ns(cgrpc_time t);

/* Queues span as one OTLP/JSON line (tracing_otlp.c). */
void cgrpc_tracing_export(cgrpc_tracing *t, const cgrpc_span *span);

#endif
