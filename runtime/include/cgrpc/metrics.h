/* cgrpc — metrics: a Prometheus registry, the go-grpc-prometheus call metrics, a /metrics endpoint. */
#ifndef CGRPC_METRICS_H
#define CGRPC_METRICS_H

#include <stddef.h>

#include <cgrpc/channel.h>
#include <cgrpc/common.h>
#include <cgrpc/method.h>
#include <cgrpc/server.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A registry holds metric families (counters, gauges, histograms), each with
 * a fixed list of label names, and each family its series (one per set of
 * label values).  Updating a series is an atomic operation on its own
 * memory: no lock shared between threads is taken on the hot path (a
 * series is created once, under its family's lock; finding it again takes
 * none).
 *
 *   cgrpc_metrics *m = cgrpc_metrics_default();    (or cgrpc_metrics_new)
 *   cgrpc_metrics_attach_server(m, server_opts);   (before cgrpc_server_new)
 *   cgrpc_metrics_attach_channel(m, channel_opts); (before cgrpc_channel_new)
 *   cgrpc_metrics_http *h;
 *   cgrpc_metrics_http_start(&h, m, "0.0.0.0:9464", NULL);
 *   ... serve; Prometheus scrapes http://host:9464/metrics ...
 *   cgrpc_metrics_http_stop(h);
 *
 * The call metrics are go-grpc-prometheus's, with its names, types and
 * labels, so existing dashboards and alerts work unchanged (doc/observability.md):
 * grpc_server_started_total, grpc_server_handled_total,
 * grpc_server_msg_received_total, grpc_server_msg_sent_total,
 * grpc_server_handling_seconds, and grpc_client_* likewise; labels
 * grpc_type (unary, client_stream, server_stream, bidi_stream),
 * grpc_service, grpc_method and, for *_handled_total, grpc_code (grpc-go's
 * names: OK, Canceled, Unknown, InvalidArgument, DeadlineExceeded, ...).
 *
 * Names and label names follow Prometheus' rules ([a-zA-Z_:][a-zA-Z0-9_:]*,
 * labels without ':' and not starting "__"); label values and help text
 * may be any UTF-8.  Strings passed in are copied.
 */
typedef struct cgrpc_metrics cgrpc_metrics;
typedef struct cgrpc_metric cgrpc_metric;   /* a family */
typedef struct cgrpc_series cgrpc_series;   /* one series of a family */

/* A new, empty registry.  Returns 0, CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_metrics_new(cgrpc_metrics **out);
/* Frees the registry, its families and series.  Nothing may use them after, nor any server or
 * channel it is attached to.  NULL-safe; the default registry is never freed. */
CGRPC_EXTERN void cgrpc_metrics_free(cgrpc_metrics *m);
/* The process's registry, made on first use (NULL only if that allocation fails). */
CGRPC_EXTERN cgrpc_metrics *cgrpc_metrics_default(void);

/* ---- families and series ------------------------------------------------------------- */

/* A family: labels is a NULL-terminated list of label names (NULL: none).  Asking again for
 * a name already registered with the same type and labels gives the same family (so two
 * servers can share a registry); with another type or labels it is CGRPC_ERR_EXISTS.  A bad
 * name or label is CGRPC_ERR_INVALID_ARGUMENT.  Returns 0 or one of those, or
 * CGRPC_ERR_NOMEM.  The family lives as long as the registry. */
CGRPC_EXTERN int cgrpc_metrics_counter(cgrpc_metrics *m, const char *name, const char *help,
                                       const char *const *labels, cgrpc_metric **out);
CGRPC_EXTERN int cgrpc_metrics_gauge(cgrpc_metrics *m, const char *name, const char *help,
                                     const char *const *labels, cgrpc_metric **out);
/* A histogram with the given upper bounds (strictly increasing, finite; +Inf is added); NULL
 * buckets: Prometheus' default, .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10. */
CGRPC_EXTERN int cgrpc_metrics_histogram(cgrpc_metrics *m, const char *name, const char *help,
                                         const char *const *labels, const double *buckets,
                                         size_t nbuckets, cgrpc_metric **out);

/* The series of family f for the label values (as many as it has labels; NULL when it has
 * none), created on first use.  NULL when out of memory, values is malformed, or the family
 * already has CGRPC_METRICS_MAX_SERIES series.  Valid as long as the registry. */
#define CGRPC_METRICS_MAX_SERIES 10000
CGRPC_EXTERN cgrpc_series *cgrpc_metric_series(cgrpc_metric *f, const char *const *values);

/* Counter: adds v (>= 0; a negative or NaN v is ignored).  Gauge: adds v (any sign). */
CGRPC_EXTERN void cgrpc_series_add(cgrpc_series *s, double v);
/* Counter or gauge: adds 1. */
CGRPC_EXTERN void cgrpc_series_inc(cgrpc_series *s);
/* Gauge: sets the value. */
CGRPC_EXTERN void cgrpc_series_set(cgrpc_series *s, double v);
/* Histogram: counts one observation of v. */
CGRPC_EXTERN void cgrpc_series_observe(cgrpc_series *s, double v);
/* Counter or gauge: the value; histogram: how many observations. */
CGRPC_EXTERN double cgrpc_series_value(const cgrpc_series *s);
/* Histogram: the sum of the observations (0 for other types). */
CGRPC_EXTERN double cgrpc_series_sum(const cgrpc_series *s);

/* ---- exposition ------------------------------------------------------------------------ */

/* Writes every family of m in the Prometheus text format 0.0.4 into buf (at most size bytes,
 * NUL-terminated when size > 0), as snprintf does: returns the length of the whole text, so a
 * return >= size means it was cut short (call again with a buffer of return + 1 bytes).
 * Families come in the order registered, series in the order created. */
CGRPC_EXTERN size_t cgrpc_metrics_write(cgrpc_metrics *m, char *buf, size_t size);

/* The Content-Type that text is served with. */
#define CGRPC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A /metrics HTTP endpoint (libmicrohttpd, a thread of its own) serving m: GET /metrics gives
 * the text, anything else 404.  address is "host:port" (port 0: a free one, told in
 * *port_out when not NULL).  Returns 0, CGRPC_ERR_INVALID_ARGUMENT, CGRPC_ERR_ADDRESS (cannot
 * bind), CGRPC_ERR_NOMEM, or CGRPC_ERR_STATE when the library was built without
 * libmicrohttpd. */
typedef struct cgrpc_metrics_http cgrpc_metrics_http;
CGRPC_EXTERN int cgrpc_metrics_http_start(cgrpc_metrics_http **out, cgrpc_metrics *m,
                                          const char *address, int *port_out);
/* Stops serving and frees h.  NULL-safe. */
CGRPC_EXTERN void cgrpc_metrics_http_stop(cgrpc_metrics_http *h);

/* ---- the call metrics -------------------------------------------------------------------- */

/* The upper bounds of grpc_server_handling_seconds and grpc_client_handling_seconds (copied;
 * default Prometheus' .005 ... 10), or n == 0 for no histograms at all (go-grpc-prometheus'
 * default; here they are on unless turned off).  Before the first attach.  Returns 0,
 * CGRPC_ERR_INVALID_ARGUMENT, CGRPC_ERR_STATE (already attached) or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_metrics_set_handling_buckets(cgrpc_metrics *m, const double *buckets,
                                                    size_t n);

/* Counts every call of servers made with opts (an interceptor, added at this point of opts'
 * interceptor list: add it first to time the others too).  Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_metrics_attach_server(cgrpc_metrics *m, cgrpc_server_options *opts);
/* The same for every call of channels made with opts. */
CGRPC_EXTERN int cgrpc_metrics_attach_channel(cgrpc_metrics *m, cgrpc_channel_options *opts);

/* Creates the series of methods (n of them) ahead of their first call -- started, messages
 * and handling at 0, and grpc_*_handled_total for every code -- so that rates and alerts see
 * them from the first scrape (go-grpc-prometheus' InitializeMetrics).  server: the server
 * side's series, else the client side's.  Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_metrics_init_methods(cgrpc_metrics *m, const cgrpc_method_desc *methods,
                                            size_t n, int server);

/* grpc-go's name of a status code ("OK", "Canceled", "DeadlineExceeded", ...), as in the
 * grpc_code label; "Unknown" for a code out of range. */
CGRPC_EXTERN const char *cgrpc_code_camel_name(cgrpc_code code);

#ifdef __cplusplus
}
#endif
#endif
