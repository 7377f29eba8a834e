/* The Prometheus text format 0.0.4 of a registry. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ext/metrics_internal.h"

/* What has been written, snprintf-style: len counts everything, buf holds what fits. */
typedef struct writer {
  char *buf;
  size_t size;
  size_t len;
} writer;

static void put(writer *w, const char *s, size_t n)
{
  if (w->len < w->size) {
    size_t room = w->size - w->len;
    memcpy(w->buf + w->len, s, n < room ? n : room);
  }
  w->len += n;
}

static void puts_(writer *w, const char *s)
{
  put(w, s, strlen(s));
}

/* s with '\\' and '\n' escaped, and '"' too in label values. */
static void put_escaped(writer *w, const char *s, int quote)
{
  for (const char *p = s; *p != '\0'; p++) {
    if (*p == '\\')
      put(w, "\\\\", 2);
    else if (*p == '\n')
      put(w, "\\n", 2);
    else if (quote && *p == '"')
      put(w, "\\\"", 2);
    else
      put(w, p, 1);
  }
}

/* v as Prometheus writes it: integers without an exponent, others in the shortest form that
 * reads back the same. */
static void put_double(writer *w, double v)
{
  char tmp[40];
  if (isnan(v))
    snprintf(tmp, sizeof tmp, "NaN");
  else if (isinf(v))
    snprintf(tmp, sizeof tmp, v > 0 ? "+Inf" : "-Inf");
  else if (v == floor(v) && fabs(v) < 1e15)
    snprintf(tmp, sizeof tmp, "%.0f", v);
  else
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(tmp, sizeof tmp, "%.*g", prec, v);
      if (strtod(tmp, NULL) == v)
        break;
    }
  puts_(w, tmp);
}

static void put_u64(writer *w, uint64_t v)
{
  char tmp[24];
  snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
  puts_(w, tmp);
}

/* name{labels...[,le="bound"]} */
static void put_series_name(writer *w, const cgrpc_metric *f, const char *suffix,
                            const cgrpc_series *s, const double *le)
{
  puts_(w, f->name);
  puts_(w, suffix);
  if (f->nlabels == 0 && le == NULL)
    return;
  put(w, "{", 1);
  const char *v = s->key;
  for (size_t i = 0; i < f->nlabels; i++) {
    if (i > 0)
      put(w, ",", 1);
    puts_(w, f->labels[i]);
    put(w, "=\"", 2);
    put_escaped(w, v, 1);
    put(w, "\"", 1);
    v += strlen(v) + 1;
  }
  if (le != NULL) {
    puts_(w, f->nlabels > 0 ? ",le=\"" : "le=\"");
    put_double(w, *le);
    put(w, "\"", 1);
  }
  put(w, "}", 1);
}

static void put_series(writer *w, const cgrpc_metric *f, const cgrpc_series *s)
{
  if (f->type != METRIC_HISTOGRAM) {
    put_series_name(w, f, "", s, NULL);
    put(w, " ", 1);
    put_double(w, cgrpc_series_value(s));
    put(w, "\n", 1);
    return;
  }
  /* Buckets are kept per bucket and written cumulative; count is read last and at least their
   * total, so that +Inf == _count holds in a text written while observations come. */
  uint64_t cum = 0;
  for (size_t i = 0; i <= f->nbuckets; i++) {
    cum += __atomic_load_n(&s->buckets[i], __ATOMIC_RELAXED);
    if (i == f->nbuckets)
      break;
    put_series_name(w, f, "_bucket", s, &f->bounds[i]);
    put(w, " ", 1);
    put_u64(w, cum);
    put(w, "\n", 1);
  }
  double inf = INFINITY;
  put_series_name(w, f, "_bucket", s, &inf);
  put(w, " ", 1);
  put_u64(w, cum);
  put(w, "\n", 1);
  put_series_name(w, f, "_sum", s, NULL);
  put(w, " ", 1);
  put_double(w, cgrpc_series_sum(s));
  put(w, "\n", 1);
  put_series_name(w, f, "_count", s, NULL);
  put(w, " ", 1);
  put_u64(w, cum);
  put(w, "\n", 1);
}

static const char *const type_names[] = {"counter", "gauge", "histogram"};

size_t cgrpc_metrics_write(cgrpc_metrics *m, char *buf, size_t size)
{
  writer w = {buf, size, 0};
  if (m == NULL) {
    if (size > 0)
      buf[0] = '\0';
    return 0;
  }
  pthread_mutex_lock(&m->mu);
  for (const cgrpc_metric *f = m->first; f != NULL; f = f->next) {
    const cgrpc_series *s = __atomic_load_n(&f->first, __ATOMIC_ACQUIRE);
    if (s == NULL)
      continue; /* a family with no series yet says nothing */
    puts_(&w, "# HELP ");
    puts_(&w, f->name);
    put(&w, " ", 1);
    put_escaped(&w, f->help, 0);
    puts_(&w, "\n# TYPE ");
    puts_(&w, f->name);
    put(&w, " ", 1);
    puts_(&w, type_names[f->type]);
    put(&w, "\n", 1);
    for (; s != NULL; s = __atomic_load_n(&s->next, __ATOMIC_ACQUIRE))
      put_series(&w, f, s);
  }
  pthread_mutex_unlock(&m->mu);
  if (size > 0)
    buf[w.len < size ? w.len : size - 1] = '\0';
  return w.len;
}
