/* Internal: the metrics registry's structures, shared by the registry, its text writer and the
 * call metrics.
 *
 * A family keeps its series twice: in a list in the order they were created (for the text),
 * and in an open-addressing table by label values (to find them).  Both only grow, and a
 * reader finds a series without the family's lock: slots and list links are published with
 * release stores and read with acquire loads; a table that grows is kept (not freed) until
 * the registry goes, for readers still looking in it. */
#ifndef CGRPC_METRICS_INTERNAL_H
#define CGRPC_METRICS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <cgrpc/metrics.h>

typedef enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_type;

struct cgrpc_series {
  cgrpc_series *next; /* in the family's list (atomic) */
  cgrpc_metric *family;
  uint64_t hash;
  uint64_t ones;      /* counter, gauge: what cgrpc_series_inc added (atomic) */
  uint64_t bits;      /* counter, gauge: the double the rest adds up to; histogram: the sum */
  uint64_t count;     /* histogram: observations (atomic) */
  uint64_t *buckets;  /* histogram: per bucket, not cumulative (atomic), nbuckets + 1 */
  size_t keylen;
  char *key;          /* the label values, each ended by '\0' */
};

typedef struct series_table {
  struct series_table *older; /* kept for readers until the registry goes */
  size_t cap;                 /* a power of two */
  cgrpc_series **slots;       /* atomic */
} series_table;

struct cgrpc_metric {
  cgrpc_metric *next; /* in the registry, in the order registered */
  cgrpc_metrics *registry;
  metric_type type;
  char *name;
  char *help;
  size_t nlabels;
  char **labels;
  size_t nbuckets;  /* histogram: finite upper bounds */
  double *bounds;
  pthread_mutex_t mu; /* creating series */
  series_table *table; /* atomic */
  cgrpc_series *first; /* atomic */
  cgrpc_series *last;
  size_t nseries;
};

typedef struct grpc_metrics grpc_metrics; /* metrics_grpc.c */

struct cgrpc_metrics {
  pthread_mutex_t mu; /* the family list, the call metrics' setup */
  cgrpc_metric *first;
  cgrpc_metric *last;
  double *handling_bounds; /* NULL: the default; with no_handling: none */
  size_t nhandling;
  int no_handling;
  grpc_metrics *server; /* the call metrics, made by the first attach of each side */
  grpc_metrics *client;
};

/* Prometheus' default buckets. */
extern const double cgrpc_metrics_default_bounds[11];

/* The series of f for the label values key (keylen bytes, each value ended by '\0'). */
cgrpc_series *cgrpc_metric_series_key(cgrpc_metric *f, const char *key, size_t keylen);

/* Frees the call metrics' side (metrics_grpc.c). */
void cgrpc_grpc_metrics_free(grpc_metrics *g);

#endif
