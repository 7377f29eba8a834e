/* The metrics registry: families, their series, and the atomic updates of a series. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ext/metrics_internal.h"

const double cgrpc_metrics_default_bounds[11] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

/* ---- the registry ------------------------------------------------------------------------ */

int cgrpc_metrics_new(cgrpc_metrics **out)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_metrics *m = calloc(1, sizeof *m);
  if (m == NULL)
    return CGRPC_ERR_NOMEM;
  pthread_mutex_init(&m->mu, NULL);
  *out = m;
  return 0;
}

static void series_free(cgrpc_series *s)
{
  free(s->buckets);
  free(s->key);
  free(s);
}

static void family_free(cgrpc_metric *f)
{
  for (cgrpc_series *s = f->first, *next; s != NULL; s = next) {
    next = s->next;
    series_free(s);
  }
  for (series_table *t = f->table, *older; t != NULL; t = older) {
    older = t->older;
    free(t->slots);
    free(t);
  }
  for (size_t i = 0; i < f->nlabels; i++)
    free(f->labels[i]);
  free(f->labels);
  free(f->bounds);
  free(f->name);
  free(f->help);
  pthread_mutex_destroy(&f->mu);
  free(f);
}

static cgrpc_metrics *default_registry;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_make(void)
{
  if (cgrpc_metrics_new(&default_registry) != 0)
    default_registry = NULL;
}

cgrpc_metrics *cgrpc_metrics_default(void)
{
  pthread_once(&default_once, default_make);
  return default_registry;
}

void cgrpc_metrics_free(cgrpc_metrics *m)
{
  if (m == NULL || m == default_registry)
    return;
  for (cgrpc_metric *f = m->first, *next; f != NULL; f = next) {
    next = f->next;
    family_free(f);
  }
  cgrpc_grpc_metrics_free(m->server);
  cgrpc_grpc_metrics_free(m->client);
  free(m->handling_bounds);
  pthread_mutex_destroy(&m->mu);
  free(m);
}

/* ---- families ------------------------------------------------------------------------------ */

static int name_ok(const char *s, int label)
{
  if (s == NULL || *s == '\0' || (label && s[0] == '_' && s[1] == '_'))
    return 0;
  for (const char *p = s; *p != '\0'; p++) {
    char c = *p;
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
    if (!alpha && !(p > s && c >= '0' && c <= '9'))
      return 0;
  }
  return 1;
}

static size_t count_labels(const char *const *labels)
{
  size_t n = 0;
  while (labels != NULL && labels[n] != NULL)
    n++;
  return n;
}

/* Whether f is what a second registration of it asks for. */
static int family_same(const cgrpc_metric *f, metric_type type, const char *const *labels,
                       const double *bounds, size_t nbounds)
{
  if (f->type != type || f->nlabels != count_labels(labels))
    return 0;
  for (size_t i = 0; i < f->nlabels; i++)
    if (strcmp(f->labels[i], labels[i]) != 0)
      return 0;
  return type != METRIC_HISTOGRAM ||
         (f->nbuckets == nbounds && memcmp(f->bounds, bounds, nbounds * sizeof *bounds) == 0);
}

static int family_register(cgrpc_metrics *m, metric_type type, const char *name, const char *help,
                           const char *const *labels, const double *bounds, size_t nbounds,
                           cgrpc_metric **out)
{
  if (m == NULL || out == NULL || !name_ok(name, 0))
    return CGRPC_ERR_INVALID_ARGUMENT;
  size_t nlabels = count_labels(labels);
  for (size_t i = 0; i < nlabels; i++)
    if (!name_ok(labels[i], 1) || (type == METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0))
      return CGRPC_ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < nbounds; i++)
    if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
      return CGRPC_ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&m->mu);
  for (cgrpc_metric *f = m->first; f != NULL; f = f->next) {
    if (strcmp(f->name, name) != 0)
      continue;
    int same = family_same(f, type, labels, bounds, nbounds);
    pthread_mutex_unlock(&m->mu);
    if (!same)
      return CGRPC_ERR_EXISTS;
    *out = f;
    return 0;
  }
  cgrpc_metric *f = calloc(1, sizeof *f);
  int ok = f != NULL;
  if (ok) {
    pthread_mutex_init(&f->mu, NULL);
    f->registry = m;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help != NULL ? help : "");
    f->labels = calloc(nlabels + 1, sizeof *f->labels);
    f->bounds = malloc((nbounds + 1) * sizeof *f->bounds);
    ok = f->name != NULL && f->help != NULL && f->labels != NULL && f->bounds != NULL;
    for (; ok && f->nlabels < nlabels; f->nlabels++)
      ok = (f->labels[f->nlabels] = strdup(labels[f->nlabels])) != NULL;
    if (ok && nbounds > 0)
      memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
    f->nbuckets = nbounds;
  }
  if (!ok) {
    pthread_mutex_unlock(&m->mu);
    if (f != NULL)
      family_free(f);
    return CGRPC_ERR_NOMEM;
  }
  if (m->last != NULL)
    m->last->next = f;
  else
    m->first = f;
  m->last = f;
  pthread_mutex_unlock(&m->mu);
  *out = f;
  return 0;
}

int cgrpc_metrics_counter(cgrpc_metrics *m, const char *name, const char *help,
                          const char *const *labels, cgrpc_metric **out)
{
  return family_register(m, METRIC_COUNTER, name, help, labels, NULL, 0, out);
}

int cgrpc_metrics_gauge(cgrpc_metrics *m, const char *name, const char *help,
                        const char *const *labels, cgrpc_metric **out)
{
  return family_register(m, METRIC_GAUGE, name, help, labels, NULL, 0, out);
}

int cgrpc_metrics_histogram(cgrpc_metrics *m, const char *name, const char *help,
                            const char *const *labels, const double *buckets, size_t nbuckets,
                            cgrpc_metric **out)
{
  if (buckets == NULL) {
    buckets = cgrpc_metrics_default_bounds;
    nbuckets = sizeof cgrpc_metrics_default_bounds / sizeof *buckets;
  }
  return family_register(m, METRIC_HISTOGRAM, name, help, labels, buckets, nbuckets, out);
}

/* ---- series ------------------------------------------------------------------------------ */

static uint64_t key_hash(const char *key, size_t len)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < len; i++)
    h = (h ^ (uint8_t)key[i]) * 1099511628211ull;
  return h;
}

/* The series with key in t, or NULL; no lock. */
static cgrpc_series *table_find(series_table *t, uint64_t h, const char *key, size_t len)
{
  if (t == NULL)
    return NULL;
  for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    cgrpc_series *s = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
    if (s == NULL)
      return NULL;
    if (s->hash == h && s->keylen == len && memcmp(s->key, key, len) == 0)
      return s;
  }
}

static void table_put(series_table *t, cgrpc_series *s)
{
  size_t i = s->hash & (t->cap - 1);
  while (t->slots[i] != NULL)
    i = (i + 1) & (t->cap - 1);
  __atomic_store_n(&t->slots[i], s, __ATOMIC_RELEASE);
}

/* Room for one more series, at most half full.  Under f->mu.  Returns 0 or -1. */
static int family_make_room(cgrpc_metric *f)
{
  series_table *t = f->table;
  if (t != NULL && (f->nseries + 1) * 2 <= t->cap)
    return 0;
  series_table *bigger = calloc(1, sizeof *bigger);
  if (bigger == NULL)
    return -1;
  bigger->cap = t != NULL ? t->cap * 2 : 16;
  bigger->slots = calloc(bigger->cap, sizeof *bigger->slots);
  if (bigger->slots == NULL) {
    free(bigger);
    return -1;
  }
  for (cgrpc_series *s = f->first; s != NULL; s = s->next)
    table_put(bigger, s);
  bigger->older = t;
  __atomic_store_n(&f->table, bigger, __ATOMIC_RELEASE);
  return 0;
}

cgrpc_series *cgrpc_metric_series_key(cgrpc_metric *f, const char *key, size_t len)
{
  uint64_t h = key_hash(key, len);
  cgrpc_series *s = table_find(__atomic_load_n(&f->table, __ATOMIC_ACQUIRE), h, key, len);
  if (s != NULL)
    return s;
  pthread_mutex_lock(&f->mu);
  s = table_find(f->table, h, key, len);
  if (s == NULL && f->nseries < CGRPC_METRICS_MAX_SERIES && family_make_room(f) == 0) {
    s = calloc(1, sizeof *s);
    if (s != NULL) {
      s->family = f;
      s->hash = h;
      s->keylen = len;
      s->key = malloc(len > 0 ? len : 1);
      if (f->type == METRIC_HISTOGRAM)
        s->buckets = calloc(f->nbuckets + 1, sizeof *s->buckets);
      if (s->key == NULL || (f->type == METRIC_HISTOGRAM && s->buckets == NULL)) {
        series_free(s);
        s = NULL;
      }
    }
    if (s != NULL) {
      memcpy(s->key, key, len);
      table_put(f->table, s);
      if (f->last != NULL)
        __atomic_store_n(&f->last->next, s, __ATOMIC_RELEASE);
      else
        __atomic_store_n(&f->first, s, __ATOMIC_RELEASE);
      f->last = s;
      f->nseries++;
    }
  }
  pthread_mutex_unlock(&f->mu);
  return s;
}

cgrpc_series *cgrpc_metric_series(cgrpc_metric *f, const char *const *values)
{
  if (f == NULL || count_labels(values) != f->nlabels)
    return NULL;
  char small[256];
  small[0] = '\0';
  size_t len = 0;
  for (size_t i = 0; i < f->nlabels; i++)
    len += strlen(values[i]) + 1;
  char *key = len <= sizeof small ? small : malloc(len);
  if (key == NULL)
    return NULL;
  size_t at = 0;
  for (size_t i = 0; i < f->nlabels; i++) {
    size_t n = strlen(values[i]) + 1;
    memcpy(key + at, values[i], n);
    at += n;
  }
  cgrpc_series *s = cgrpc_metric_series_key(f, key, len);
  if (key != small)
    free(key);
  return s;
}

/* ---- updates --------------------------------------------------------------------------- */

static double bits_double(uint64_t b)
{
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

static uint64_t double_bits(double d)
{
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return b;
}

static void atomic_add_double(uint64_t *bits, double v)
{
  uint64_t old = __atomic_load_n(bits, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(bits, &old, double_bits(bits_double(old) + v), 1,
                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

void cgrpc_series_add(cgrpc_series *s, double v)
{
  if (s == NULL || s->family->type == METRIC_HISTOGRAM || isnan(v) ||
      (s->family->type == METRIC_COUNTER && v < 0))
    return;
  atomic_add_double(&s->bits, v);
}

void cgrpc_series_inc(cgrpc_series *s)
{
  if (s != NULL && s->family->type != METRIC_HISTOGRAM)
    __atomic_fetch_add(&s->ones, 1, __ATOMIC_RELAXED);
}

void cgrpc_series_set(cgrpc_series *s, double v)
{
  if (s == NULL || s->family->type != METRIC_GAUGE)
    return;
  /* ones and bits together make the value: a set starts both over (an inc racing with it
   * lands before or after, either way counted once). */
  __atomic_store_n(&s->ones, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&s->bits, double_bits(v), __ATOMIC_RELAXED);
}

void cgrpc_series_observe(cgrpc_series *s, double v)
{
  if (s == NULL || s->family->type != METRIC_HISTOGRAM || isnan(v))
    return;
  const cgrpc_metric *f = s->family;
  size_t i = 0;
  while (i < f->nbuckets && v > f->bounds[i])
    i++;
  __atomic_fetch_add(&s->buckets[i], 1, __ATOMIC_RELAXED);
  atomic_add_double(&s->bits, v);
  __atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
}

double cgrpc_series_value(const cgrpc_series *s)
{
  if (s == NULL)
    return 0;
  if (s->family->type == METRIC_HISTOGRAM)
    return (double)__atomic_load_n(&s->count, __ATOMIC_RELAXED);
  return (double)__atomic_load_n(&s->ones, __ATOMIC_RELAXED) +
         bits_double(__atomic_load_n(&s->bits, __ATOMIC_RELAXED));
}

double cgrpc_series_sum(const cgrpc_series *s)
{
  if (s == NULL || s->family->type != METRIC_HISTOGRAM)
    return 0;
  return bits_double(__atomic_load_n(&s->bits, __ATOMIC_RELAXED));
}
