/* Specification of the metrics registry: families, series, atomic updates, the text format. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <cgrpc/metrics.h>

#include "unit_main.h"

Suite *metrics_suite(void);

/* The whole text of m (freed by the caller). */
static char *text_of(cgrpc_metrics *m)
{
  size_t n = cgrpc_metrics_write(m, NULL, 0);
  char *buf = malloc(n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(cgrpc_metrics_write(m, buf, n + 1), n);
  ck_assert_uint_eq(strlen(buf), n);
  return buf;
}

START_TEST(counters_gauges_and_histograms_write_the_text_format)
{
  cgrpc_metrics *m;
  ck_assert_int_eq(cgrpc_metrics_new(&m), 0);
  cgrpc_metric *reqs, *temp, *lat;
  const char *const labels[] = {"method", "code", NULL};
  ck_assert_int_eq(cgrpc_metrics_counter(m, "app_requests_total", "Requests.\nAll of them.",
                                         labels, &reqs),
                   0);
  ck_assert_int_eq(cgrpc_metrics_gauge(m, "app_temperature_celsius", "Heat", NULL, &temp), 0);
  const double bounds[] = {0.1, 1, 2.5};
  const char *const one[] = {"op", NULL};
  ck_assert_int_eq(cgrpc_metrics_histogram(m, "app_latency_seconds", "Latency", one, bounds, 3,
                                           &lat),
                   0);
  const char *const v1[] = {"Get", "OK", NULL};
  const char *const v2[] = {"Put \"x\"\\\n", "Unavailable", NULL};
  cgrpc_series *a = cgrpc_metric_series(reqs, v1);
  cgrpc_series *b = cgrpc_metric_series(reqs, v2);
  ck_assert_ptr_eq(cgrpc_metric_series(reqs, v1), a); /* found again, not made twice */
  cgrpc_series_inc(a);
  cgrpc_series_inc(a);
  cgrpc_series_add(b, 0.5);
  cgrpc_series_add(b, -3); /* a counter never goes down */
  ck_assert(cgrpc_series_value(a) == 2);
  ck_assert(cgrpc_series_value(b) == 0.5);
  cgrpc_series *t = cgrpc_metric_series(temp, NULL);
  cgrpc_series_set(t, 21.5);
  cgrpc_series_add(t, -1.5);
  cgrpc_series_inc(t);
  ck_assert(cgrpc_series_value(t) == 21);
  const char *const op[] = {"read", NULL};
  cgrpc_series *h = cgrpc_metric_series(lat, op);
  cgrpc_series_observe(h, 0.05);
  cgrpc_series_observe(h, 0.1); /* on a bound: in that bucket (le) */
  cgrpc_series_observe(h, 2);
  cgrpc_series_observe(h, 30);
  ck_assert(cgrpc_series_value(h) == 4);
  ck_assert(cgrpc_series_sum(h) == 32.15);
  char *text = text_of(m);
  ck_assert_str_eq(text,
                   "# HELP app_requests_total Requests.\\nAll of them.\n"
                   "# TYPE app_requests_total counter\n"
                   "app_requests_total{method=\"Get\",code=\"OK\"} 2\n"
                   "app_requests_total{method=\"Put \\\"x\\\"\\\\\\n\",code=\"Unavailable\"} 0.5\n"
                   "# HELP app_temperature_celsius Heat\n"
                   "# TYPE app_temperature_celsius gauge\n"
                   "app_temperature_celsius 21\n"
                   "# HELP app_latency_seconds Latency\n"
                   "# TYPE app_latency_seconds histogram\n"
                   "app_latency_seconds_bucket{op=\"read\",le=\"0.1\"} 2\n"
                   "app_latency_seconds_bucket{op=\"read\",le=\"1\"} 2\n"
                   "app_latency_seconds_bucket{op=\"read\",le=\"2.5\"} 3\n"
                   "app_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
                   "app_latency_seconds_sum{op=\"read\"} 32.15\n"
                   "app_latency_seconds_count{op=\"read\"} 4\n");
  /* snprintf's contract: a short buffer gets what fits, NUL-terminated, and the full length. */
  char small[16];
  ck_assert_uint_eq(cgrpc_metrics_write(m, small, sizeof small), strlen(text));
  ck_assert_str_eq(small, "# HELP app_requ");
  free(text);
  cgrpc_metrics_free(m);
}
END_TEST

START_TEST(registering_again_gives_the_same_family_and_bad_names_are_refused)
{
  cgrpc_metrics *m;
  ck_assert_int_eq(cgrpc_metrics_new(&m), 0);
  cgrpc_metric *f, *g;
  const char *const l[] = {"a", NULL};
  const char *const other[] = {"b", NULL};
  ck_assert_int_eq(cgrpc_metrics_counter(m, "x_total", "X", l, &f), 0);
  ck_assert_int_eq(cgrpc_metrics_counter(m, "x_total", "X again", l, &g), 0);
  ck_assert_ptr_eq(f, g);
  ck_assert_int_eq(cgrpc_metrics_counter(m, "x_total", "X", other, &g), CGRPC_ERR_EXISTS);
  ck_assert_int_eq(cgrpc_metrics_gauge(m, "x_total", "X", l, &g), CGRPC_ERR_EXISTS);
  ck_assert_int_eq(cgrpc_metrics_counter(m, "9lives", "", NULL, &g), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_metrics_counter(m, "a-b", "", NULL, &g), CGRPC_ERR_INVALID_ARGUMENT);
  const char *const reserved[] = {"__name", NULL};
  ck_assert_int_eq(cgrpc_metrics_counter(m, "ok", "", reserved, &g), CGRPC_ERR_INVALID_ARGUMENT);
  const char *const le[] = {"le", NULL};
  ck_assert_int_eq(cgrpc_metrics_histogram(m, "h", "", le, NULL, 0, &g),
                   CGRPC_ERR_INVALID_ARGUMENT);
  const double down[] = {1, 0.5};
  ck_assert_int_eq(cgrpc_metrics_histogram(m, "h", "", NULL, down, 2, &g),
                   CGRPC_ERR_INVALID_ARGUMENT);
  /* Values must match the labels in number. */
  const char *const two[] = {"1", "2", NULL};
  ck_assert_ptr_null(cgrpc_metric_series(f, two));
  ck_assert_ptr_null(cgrpc_metric_series(f, NULL));
  /* A family without series writes nothing; the default buckets are Prometheus'. */
  ck_assert_int_eq(cgrpc_metrics_histogram(m, "d_seconds", "D", NULL, NULL, 0, &g), 0);
  cgrpc_series_observe(cgrpc_metric_series(g, NULL), 7);
  char *text = text_of(m);
  ck_assert_ptr_null(strstr(text, "x_total"));
  ck_assert_ptr_nonnull(strstr(text, "d_seconds_bucket{le=\"0.005\"} 0\n"));
  ck_assert_ptr_nonnull(strstr(text, "d_seconds_bucket{le=\"5\"} 0\nd_seconds_bucket{le=\"10\"} 1\n"));
  free(text);
  ck_assert_ptr_nonnull(cgrpc_metrics_default());
  ck_assert_ptr_eq(cgrpc_metrics_default(), cgrpc_metrics_default());
  cgrpc_metrics_free(m);
}
END_TEST

/* Threads adding to the same series, and making new ones, at once: nothing is lost. */
typedef struct hammer {
  cgrpc_metric *counter, *hist;
  int id;
} hammer;

enum { THREADS = 4, ROUNDS = 20000 };

static void *hammer_run(void *arg)
{
  hammer *h = arg;
  const char *const shared[] = {"shared", NULL};
  char own[16];
  for (int i = 0; i < ROUNDS; i++) {
    cgrpc_series_inc(cgrpc_metric_series(h->counter, shared));
    snprintf(own, sizeof own, "t%d-%d", h->id, i % 500); /* the table grows meanwhile */
    const char *const mine[] = {own, NULL};
    cgrpc_series_inc(cgrpc_metric_series(h->counter, mine));
    cgrpc_series_observe(cgrpc_metric_series(h->hist, NULL), 0.5);
  }
  return NULL;
}

START_TEST(concurrent_updates_are_all_counted)
{
  cgrpc_metrics *m;
  ck_assert_int_eq(cgrpc_metrics_new(&m), 0);
  hammer hs[THREADS];
  const char *const l[] = {"who", NULL};
  cgrpc_metric *c, *hist;
  ck_assert_int_eq(cgrpc_metrics_counter(m, "n_total", "", l, &c), 0);
  ck_assert_int_eq(cgrpc_metrics_histogram(m, "h_seconds", "", NULL, NULL, 0, &hist), 0);
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) {
    hs[i] = (hammer){c, hist, i};
    ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_run, &hs[i]), 0);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(th[i], NULL);
  const char *const shared[] = {"shared", NULL};
  ck_assert(cgrpc_series_value(cgrpc_metric_series(c, shared)) == THREADS * ROUNDS);
  const char *const one[] = {"t2-499", NULL};
  ck_assert(cgrpc_series_value(cgrpc_metric_series(c, one)) == ROUNDS / 500);
  cgrpc_series *h = cgrpc_metric_series(hist, NULL);
  ck_assert(cgrpc_series_value(h) == THREADS * ROUNDS);
  ck_assert(cgrpc_series_sum(h) == THREADS * ROUNDS * 0.5);
  char *text = text_of(m);
  ck_assert_ptr_nonnull(strstr(text, "n_total{who=\"shared\"} 80000\n"));
  free(text);
  cgrpc_metrics_free(m);
}
END_TEST

START_TEST(status_codes_have_grpc_go_names)
{
  ck_assert_str_eq(cgrpc_code_camel_name(CGRPC_STATUS_OK), "OK");
  ck_assert_str_eq(cgrpc_code_camel_name(CGRPC_STATUS_CANCELLED), "Canceled");
  ck_assert_str_eq(cgrpc_code_camel_name(CGRPC_STATUS_DEADLINE_EXCEEDED), "DeadlineExceeded");
  ck_assert_str_eq(cgrpc_code_camel_name(CGRPC_STATUS_UNAUTHENTICATED), "Unauthenticated");
  ck_assert_str_eq(cgrpc_code_camel_name((cgrpc_code)99), "Unknown");
}
END_TEST

Suite *metrics_suite(void)
{
  Suite *s = suite_create("metrics");
  TCase *tc = tcase_create("registry");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, counters_gauges_and_histograms_write_the_text_format);
  tcase_add_test(tc, registering_again_gives_the_same_family_and_bad_names_are_refused);
  tcase_add_test(tc, concurrent_updates_are_all_counted);
  tcase_add_test(tc, status_codes_have_grpc_go_names);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(metrics_suite)
