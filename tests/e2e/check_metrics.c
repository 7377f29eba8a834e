/* The call metrics end to end: a server and a channel with metrics on make calls of every
 * kind with several codes; the counts in the text are exactly those calls (go-grpc-prometheus'
 * names and labels), promtool accepts the text, the /metrics endpoint serves it, and a real
 * Prometheus that scrapes the endpoint answers queries with the same counts. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include <cgrpc/metrics.h>

#include "harness.h"
#include "kinds_server.h"

extern char **environ;

static cgrpc_metrics *m;
static kinds_server ks;
static cgrpc_channel *ch;

static void setup(void)
{
  ck_assert_int_eq(cgrpc_metrics_new(&m), 0);
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  ck_assert_int_eq(cgrpc_metrics_attach_server(m, so), 0);
  kinds_start(&ks, so);
  cgrpc_server_options_free(so);
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  ck_assert_int_eq(cgrpc_metrics_attach_channel(m, co), 0);
  ch = channel_to(ks.port, co);
  cgrpc_channel_options_free(co);
}

static void teardown(void)
{
  cgrpc_channel_free(ch);
  kinds_stop(&ks);
  cgrpc_metrics_free(m);
}

static char *text_now(void)
{
  size_t n = cgrpc_metrics_write(m, NULL, 0);
  char *buf = malloc(n + 1);
  ck_assert_ptr_nonnull(buf);
  cgrpc_metrics_write(m, buf, n + 1);
  return buf;
}

/* ---- the workload ---------------------------------------------------------------------- */

static void unary(int code, int times)
{
  for (int i = 0; i < times; i++) {
    E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
    req.status_code = code;
    ProtobufCMessage *resp = NULL;
    ck_assert_int_eq(cgrpc_unary_call(ch, &kinds_methods[K_UNARY], &req.base, &resp, NULL, NULL),
                     code);
    if (resp != NULL)
      protobuf_c_message_free_unpacked(resp, NULL);
  }
}

static void drain(cgrpc_call *call, int expect)
{
  ProtobufCMessage *msg;
  int n = 0;
  while (cgrpc_call_recv(call, &msg) == 1) {
    protobuf_c_message_free_unpacked(msg, cgrpc_channel_protobuf_allocator(ch));
    n++;
  }
  ck_assert_int_eq(n, expect);
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_OK);
  cgrpc_call_free(call);
}

/* Unary: 3 OK, 2 Unavailable, 1 NotFound; a download of 5; an upload of 3; a chat of 4. */
static void workload(void)
{
  unary(CGRPC_STATUS_OK, 3);
  unary(CGRPC_STATUS_UNAVAILABLE, 2);
  unary(CGRPC_STATUS_NOT_FOUND, 1);
  E2e__EchoRequest dl = E2E__ECHO_REQUEST__INIT;
  dl.response_size = 5;
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_DOWNLOAD], &dl.base, NULL, &call),
                   0);
  drain(call, 5);
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_UPLOAD], NULL, NULL, &call), 0);
  for (int i = 0; i < 3; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    ck_assert_int_eq(cgrpc_call_send(call, &c.base), 0);
  }
  ck_assert_int_eq(cgrpc_call_close_send(call), 0);
  drain(call, 1);
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_CHAT], NULL, NULL, &call), 0);
  for (int i = 0; i < 4; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    ck_assert_int_eq(cgrpc_call_send(call, &c.base), 0);
  }
  ck_assert_int_eq(cgrpc_call_close_send(call), 0);
  drain(call, 4);
}

/* The lines the workload must leave, both sides (the server's ends are told on its I/O thread,
 * maybe just after the client has its answer). */
#define LBL(type, method) "{grpc_type=\"" type "\",grpc_service=\"kinds.Kinds\",grpc_method=\"" method "\""
static const char *const expected[] = {
    "grpc_server_started_total" LBL("unary", "Unary") "} 6\n",
    "grpc_server_handled_total" LBL("unary", "Unary") ",grpc_code=\"OK\"} 3\n",
    "grpc_server_handled_total" LBL("unary", "Unary") ",grpc_code=\"Unavailable\"} 2\n",
    "grpc_server_handled_total" LBL("unary", "Unary") ",grpc_code=\"NotFound\"} 1\n",
    "grpc_server_msg_received_total" LBL("unary", "Unary") "} 6\n",
    "grpc_server_msg_sent_total" LBL("unary", "Unary") "} 3\n",
    "grpc_server_handling_seconds_count" LBL("unary", "Unary") "} 6\n",
    "grpc_server_started_total" LBL("server_stream", "Download") "} 1\n",
    "grpc_server_msg_received_total" LBL("server_stream", "Download") "} 1\n",
    "grpc_server_msg_sent_total" LBL("server_stream", "Download") "} 5\n",
    "grpc_server_handled_total" LBL("server_stream", "Download") ",grpc_code=\"OK\"} 1\n",
    "grpc_server_msg_received_total" LBL("client_stream", "Upload") "} 3\n",
    "grpc_server_msg_sent_total" LBL("client_stream", "Upload") "} 1\n",
    "grpc_server_msg_received_total" LBL("bidi_stream", "Chat") "} 4\n",
    "grpc_server_msg_sent_total" LBL("bidi_stream", "Chat") "} 4\n",
    "grpc_server_handled_total" LBL("bidi_stream", "Chat") ",grpc_code=\"OK\"} 1\n",
    "grpc_client_started_total" LBL("unary", "Unary") "} 6\n",
    "grpc_client_handled_total" LBL("unary", "Unary") ",grpc_code=\"OK\"} 3\n",
    "grpc_client_handled_total" LBL("unary", "Unary") ",grpc_code=\"Unavailable\"} 2\n",
    "grpc_client_msg_sent_total" LBL("unary", "Unary") "} 6\n",
    "grpc_client_msg_received_total" LBL("unary", "Unary") "} 3\n",
    "grpc_client_msg_received_total" LBL("server_stream", "Download") "} 5\n",
    "grpc_client_msg_sent_total" LBL("client_stream", "Upload") "} 3\n",
    "grpc_client_msg_sent_total" LBL("bidi_stream", "Chat") "} 4\n",
    "grpc_client_msg_received_total" LBL("bidi_stream", "Chat") "} 4\n",
    "grpc_client_handling_seconds_count" LBL("bidi_stream", "Chat") "} 1\n",
    NULL};

/* Runs the workload and waits until the text has every expected line; returns the text. */
static char *workload_counted(void)
{
  workload();
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  for (;;) {
    char *text = text_now();
    const char *missing = NULL;
    for (int i = 0; expected[i] != NULL && missing == NULL; i++)
      if (strstr(text, expected[i]) == NULL)
        missing = expected[i];
    if (missing == NULL)
      return text;
    if (cgrpc_now() > until)
      ck_abort_msg("missing: %s\nin:\n%s", missing, text);
    free(text);
    sleep_ms(10);
  }
}

START_TEST(every_call_kind_and_code_is_counted_on_both_sides)
{
  char *text = workload_counted();
  /* Once per family, with its type. */
  ck_assert_ptr_nonnull(strstr(text, "# TYPE grpc_server_handled_total counter\n"));
  ck_assert_ptr_nonnull(strstr(text, "# TYPE grpc_client_handling_seconds histogram\n"));
  ck_assert_ptr_null(strstr(strstr(text, "# TYPE grpc_server_started_total") + 1,
                            "# TYPE grpc_server_started_total"));
  /* The default buckets, ending in +Inf == _count. */
  ck_assert_ptr_nonnull(strstr(text, "grpc_server_handling_seconds_bucket" LBL("unary", "Unary")
                                     ",le=\"0.005\"}"));
  ck_assert_ptr_nonnull(strstr(text, "grpc_server_handling_seconds_bucket" LBL("unary", "Unary")
                                     ",le=\"+Inf\"} 6\n"));
  free(text);
}
END_TEST

START_TEST(promtool_accepts_the_text)
{
  char *text = workload_counted();
  char path[] = "/tmp/cgrpc-metrics-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
  int rv = system(cmd);
  unlink(path);
  ck_assert_msg(WIFEXITED(rv) && WEXITSTATUS(rv) == 0, "promtool check metrics failed (%d)", rv);
  free(text);
}
END_TEST

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* method path from 127.0.0.1:port; returns the whole response (freed by the caller), or NULL
 * when nothing listens there. */
static char *http_try(int port, const char *method, const char *path)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return NULL;
  }
  char req[256];
  int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
  ck_assert_int_eq(write(fd, req, (size_t)n), n);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  ssize_t r;
  while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
    len += (size_t)r;
    if (len + 1 == cap)
      buf = realloc(buf, cap *= 2);
  }
  buf[len] = '\0';
  close(fd);
  return buf;
}

static char *http_get(int port, const char *method, const char *path)
{
  char *resp = http_try(port, method, path);
  ck_assert_ptr_nonnull(resp);
  return resp;
}

START_TEST(the_endpoint_serves_the_text)
{
  char *text = workload_counted();
  cgrpc_metrics_http *h;
  int port = 0;
  ck_assert_int_eq(cgrpc_metrics_http_start(&h, m, "127.0.0.1:0", &port), 0);
  ck_assert_int_gt(port, 0);
  char *resp = http_get(port, "GET", "/metrics");
  ck_assert_msg(strncmp(resp, "HTTP/1.0 200", 12) == 0 || strncmp(resp, "HTTP/1.1 200", 12) == 0,
                "%s", resp);
  ck_assert_ptr_nonnull(strcasestr(resp, "Content-Type: " CGRPC_METRICS_CONTENT_TYPE "\r\n"));
  const char *body = strstr(resp, "\r\n\r\n");
  ck_assert_ptr_nonnull(body);
  ck_assert_str_eq(body + 4, text); /* no call in between: the same text */
  free(resp);
  resp = http_get(port, "GET", "/other");
  ck_assert_ptr_nonnull(strstr(resp, " 404 "));
  free(resp);
  resp = http_get(port, "POST", "/metrics");
  ck_assert_ptr_nonnull(strstr(resp, " 405 "));
  free(resp);
  cgrpc_metrics_http *h2;
  ck_assert_int_eq(cgrpc_metrics_http_start(&h2, m, "no-port", NULL), CGRPC_ERR_INVALID_ARGUMENT);
  /* The first endpoint is up: a second on its port cannot bind. */
  char addr[32];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  ck_assert_int_eq(cgrpc_metrics_http_start(&h2, m, addr, NULL), CGRPC_ERR_ADDRESS);
  cgrpc_metrics_http_stop(h);
  free(text);
}
END_TEST

/* ---- a real Prometheus ------------------------------------------------------------------ */

/* The value of an instant query's single result, or NULL (freed by the caller). */
static char *prom_query(int port, const char *query)
{
  char path[512];
  size_t n = (size_t)snprintf(path, sizeof path, "/api/v1/query?query=");
  for (const char *p = query; *p != '\0' && n + 4 < sizeof path; p++)
    n += (size_t)snprintf(path + n, sizeof path - n,
                          (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ? "%c"
                                                                                       : "%%%02X",
                          (unsigned char)*p);
  char *resp = http_try(port, "GET", path);
  if (resp == NULL)
    return NULL; /* not listening yet */
  const char *body = strstr(resp, "\r\n\r\n");
  char *value = NULL;
  json_object *root = body != NULL ? json_tokener_parse(body + 4) : NULL, *data, *result, *v;
  if (root != NULL && json_object_object_get_ex(root, "data", &data) &&
      json_object_object_get_ex(data, "result", &result) &&
      json_object_array_length(result) == 1 &&
      json_object_object_get_ex(json_object_array_get_idx(result, 0), "value", &v))
    value = strdup(json_object_get_string(json_object_array_get_idx(v, 1)));
  json_object_put(root);
  free(resp);
  return value;
}

START_TEST(a_real_prometheus_scrapes_the_counts)
{
  char *text = workload_counted();
  free(text);
  cgrpc_metrics_http *h;
  int port = 0;
  ck_assert_int_eq(cgrpc_metrics_http_start(&h, m, "127.0.0.1:0", &port), 0);
  char dir[] = "/tmp/cgrpc-prom-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char conf[128], data[128], listen[64], logf[128], cfgarg[160], dataarg[160], cmd[256];
  snprintf(conf, sizeof conf, "%s/prometheus.yml", dir);
  snprintf(data, sizeof data, "%s/data", dir);
  snprintf(logf, sizeof logf, "%s/log", dir);
  FILE *f = fopen(conf, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: cgrpc\n"
             "    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
          port);
  fclose(f);
  int pport = free_local_port();
  snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", pport);
  snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", conf);
  snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s", data);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  char *argv[] = {"prometheus", cfgarg, dataarg, listen, "--log.level=warn", NULL};
  pid_t pid;
  ck_assert_int_eq(posix_spawnp(&pid, "prometheus", &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  /* What it must answer, once it has scraped (1 s apart; startup takes a few). */
  static const char *const queries[][2] = {
      {"up{job=\"cgrpc\"}", "1"},
      {"grpc_server_handled_total{grpc_method=\"Unary\",grpc_code=\"Unavailable\"}", "2"},
      {"grpc_server_handled_total{grpc_method=\"Unary\",grpc_code=\"OK\"}", "3"},
      {"grpc_server_msg_sent_total{grpc_method=\"Chat\"}", "4"},
      {"grpc_client_msg_received_total{grpc_type=\"server_stream\"}", "5"},
      {"sum(grpc_client_started_total)", "9"},
      {"histogram_quantile(0.99, sum by (le) (grpc_server_handling_seconds_bucket)) <= 10", NULL},
  };
  size_t nq = sizeof queries / sizeof queries[0], done = 0;
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(60000);
  char last[256] = "";
  while (done < nq && cgrpc_now() < until) {
    char *v = prom_query(pport, queries[done][0]);
    if (v != NULL && (queries[done][1] == NULL || strcmp(v, queries[done][1]) == 0)) {
      done++;
    } else {
      snprintf(last, sizeof last, "%s = %s", queries[done][0], v != NULL ? v : "(none)");
      sleep_ms(200);
    }
    free(v);
  }
  kill(pid, SIGTERM);
  int st;
  waitpid(pid, &st, 0);
  cgrpc_metrics_http_stop(h);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_msg(done == nq, "Prometheus answered %zu of %zu queries; last: %s", done, nq, last);
}
END_TEST

static Suite *metrics_suite(void)
{
  Suite *s = suite_create("metrics");
  TCase *tc = tcase_create("calls");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, every_call_kind_and_code_is_counted_on_both_sides);
  tcase_add_test(tc, promtool_accepts_the_text);
  tcase_add_test(tc, the_endpoint_serves_the_text);
  tcase_add_test(tc, a_real_prometheus_scrapes_the_counts);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return run_suite(metrics_suite());
}
