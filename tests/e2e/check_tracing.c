/* Tracing end to end: a client calls server A, whose handler calls server B as a child call;
 * the four spans form one trace with the right parents (from the span callback and from the
 * OTLP/JSON file); an incoming traceparent is joined when valid and ignored when not; the
 * sampled flag travels; the access log lines carry the ids. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include <cgrpc/accesslog.h>
#include <cgrpc/tracing.h>

#include "harness.h"
#include "kinds_server.h"

/* ---- spans, as the callback gets them ------------------------------------------------------ */

typedef struct seen_span {
  char name[96], trace_id[33], span_id[17], parent[17];
  int server;
  cgrpc_code code;
  size_t nevents;
  int outbound0;
  size_t size0;
} seen_span;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static seen_span spans[32];
static int nspans;

static void on_span(const cgrpc_span *sp, void *ud)
{
  (void)ud;
  pthread_mutex_lock(&mu);
  if (nspans < 32) {
    seen_span *s = &spans[nspans++];
    snprintf(s->name, sizeof s->name, "%s", sp->name);
    memcpy(s->trace_id, sp->trace_id, sizeof s->trace_id);
    memcpy(s->span_id, sp->span_id, sizeof s->span_id);
    memcpy(s->parent, sp->parent_span_id, sizeof s->parent);
    s->server = sp->server;
    s->code = sp->code;
    s->nevents = sp->nevents;
    s->outbound0 = sp->nevents > 0 ? sp->events[0].outbound : -1;
    s->size0 = sp->nevents > 0 ? sp->events[0].size : 0;
  }
  pthread_mutex_unlock(&mu);
}

static int span_count(void)
{
  pthread_mutex_lock(&mu);
  int n = nspans;
  pthread_mutex_unlock(&mu);
  return n;
}

static void wait_spans(int n)
{
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  while (span_count() < n && cgrpc_now() < until)
    sleep_ms(5);
  ck_assert_int_eq(span_count(), n);
}

static const seen_span *span_named(const char *name)
{
  for (int i = 0; i < nspans; i++)
    if (strcmp(spans[i].name, name) == 0)
      return &spans[i];
  ck_abort_msg("no span %s", name);
  return NULL;
}

/* ---- two servers and a client ------------------------------------------------------------ */

static cgrpc_tracing *tr;
static cgrpc_access_log *alog;
static kinds_server a, b;
static cgrpc_channel *ch, *down;
static char otlp_path[64];

static int stopped;
static char log_lines[8][2048];
static int nlog;

static void keep_log(cgrpc_log_level level, const char *line, size_t len, void *ud)
{
  (void)level;
  (void)ud;
  pthread_mutex_lock(&mu);
  if (nlog < 8)
    snprintf(log_lines[nlog++], sizeof log_lines[0], "%.*s", (int)len, line);
  pthread_mutex_unlock(&mu);
}

static void setup(void)
{
  nspans = 0;
  nlog = 0;
  stopped = 0;
  ck_assert_int_eq(cgrpc_tracing_new(&tr), 0);
  cgrpc_tracing_set_span_callback(tr, on_span, NULL);
  snprintf(otlp_path, sizeof otlp_path, "/tmp/cgrpc-otlp-%d.jsonl", (int)getpid());
  unlink(otlp_path);
  ck_assert_int_eq(cgrpc_tracing_export_otlp_file(tr, otlp_path, "check_tracing"), 0);
  ck_assert_int_eq(cgrpc_access_log_new(&alog), 0);
  cgrpc_access_log_set_sink(alog, keep_log, NULL);
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  ck_assert_int_eq(cgrpc_tracing_attach_server(tr, so), 0);
  ck_assert_int_eq(cgrpc_access_log_attach_server(alog, so), 0);
  kinds_start(&a, so);
  kinds_start(&b, so);
  cgrpc_server_options_free(so);
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  ck_assert_int_eq(cgrpc_tracing_attach_channel(tr, co), 0);
  ch = channel_to(a.port, co);
  down = channel_to(b.port, co);
  cgrpc_channel_options_free(co);
  kinds_set_downstream(down);
}

/* Everything but the access log gone, the OTLP file written. */
static void stop_all(void)
{
  if (stopped)
    return;
  stopped = 1;
  kinds_set_downstream(NULL);
  cgrpc_channel_free(ch);
  kinds_stop(&a);
  cgrpc_channel_free(down);
  kinds_stop(&b);
  cgrpc_tracing_free(tr);
}

static void teardown(void)
{
  stop_all();
  cgrpc_access_log_free(alog);
  unlink(otlp_path);
}

static cgrpc_code proxy_call(cgrpc_channel *c, const char *traceparent)
{
  cgrpc_call_options *o = timeout_opts(5000L * slowdown());
  if (traceparent != NULL)
    ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "traceparent", traceparent,
                                                     strlen(traceparent)),
                     0);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.payload.data = (uint8_t *)"hello";
  req.payload.len = 5;
  ProtobufCMessage *resp = NULL;
  cgrpc_code code = cgrpc_unary_call(c, &kinds_methods[K_PROXY], &req.base, &resp, o, NULL);
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  cgrpc_call_options_free(o);
  return code;
}

static int hex_of_len(const char *s, size_t n)
{
  if (strlen(s) != n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

START_TEST(a_call_through_two_servers_is_one_trace_of_four_spans)
{
  ck_assert_int_eq(proxy_call(ch, NULL), CGRPC_STATUS_OK);
  wait_spans(4);
  const seen_span *sent = span_named("Sent.kinds.Kinds.Proxy");
  const seen_span *recv = span_named("Recv.kinds.Kinds.Proxy");
  const seen_span *sent2 = span_named("Sent.kinds.Kinds.Unary");
  const seen_span *recv2 = span_named("Recv.kinds.Kinds.Unary");
  ck_assert(hex_of_len(sent->trace_id, 32) && hex_of_len(sent->span_id, 16));
  ck_assert_str_eq(sent->parent, ""); /* the root */
  ck_assert_str_eq(recv->trace_id, sent->trace_id);
  ck_assert_str_eq(recv->parent, sent->span_id);
  ck_assert_str_eq(sent2->trace_id, sent->trace_id);
  ck_assert_str_eq(sent2->parent, recv->span_id); /* made inside A's handler */
  ck_assert_str_eq(recv2->trace_id, sent->trace_id);
  ck_assert_str_eq(recv2->parent, sent2->span_id);
  ck_assert(!sent->server && recv->server && !sent2->server && recv2->server);
  /* Message events: the request out first, then the answer in; 7 bytes of request. */
  ck_assert_int_eq(sent->nevents, 2);
  ck_assert_int_eq(sent->outbound0, 1);
  ck_assert_int_eq(sent->size0, 7);
  ck_assert_int_eq(recv->nevents, 2);
  ck_assert_int_eq(recv->outbound0, 0);

  /* The same four in the OTLP/JSON file, once it is written (at free). */
  stop_all();
  FILE *f = fopen(otlp_path, "r");
  ck_assert_ptr_nonnull(f);
  char line[16384];
  int n = 0, roots = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    json_object *o = json_tokener_parse(line), *rs, *ss, *sp, *span, *v;
    ck_assert_msg(o != NULL, "not JSON: %s", line);
    ck_assert(json_object_object_get_ex(o, "resourceSpans", &rs));
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(rs, 0), "scopeSpans", &ss));
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(ss, 0), "spans", &sp));
    span = json_object_array_get_idx(sp, 0);
    ck_assert(json_object_object_get_ex(span, "traceId", &v));
    ck_assert_str_eq(json_object_get_string(v), sent->trace_id);
    ck_assert(json_object_object_get_ex(span, "spanId", &v));
    ck_assert(hex_of_len(json_object_get_string(v), 16));
    if (json_object_object_get_ex(span, "parentSpanId", &v))
      ck_assert(hex_of_len(json_object_get_string(v), 16));
    else
      roots++;
    ck_assert(json_object_object_get_ex(span, "kind", &v));
    ck_assert(json_object_get_int(v) == 2 || json_object_get_int(v) == 3);
    ck_assert(json_object_object_get_ex(span, "startTimeUnixNano", &v));
    ck_assert(json_object_object_get_ex(span, "events", &v));
    ck_assert_int_eq(json_object_array_length(v), 2);
    json_object_put(o);
    n++;
  }
  fclose(f);
  ck_assert_int_eq(n, 4);
  ck_assert_int_eq(roots, 1);
}
END_TEST

START_TEST(a_valid_traceparent_is_joined_an_invalid_one_ignored)
{
  /* A channel without tracing sends the headers as they are. */
  cgrpc_channel *plain = channel_to(a.port, NULL);
  const char *tid = "4bf92f3577b34da6a3ce929d0e0e4736";
  ck_assert_int_eq(proxy_call(plain, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
                   CGRPC_STATUS_OK);
  wait_spans(3); /* A's server span, its client span, B's server span */
  const seen_span *recv = span_named("Recv.kinds.Kinds.Proxy");
  ck_assert_str_eq(recv->trace_id, tid);
  ck_assert_str_eq(recv->parent, "00f067aa0ba902b7");
  ck_assert_str_eq(span_named("Recv.kinds.Kinds.Unary")->trace_id, tid);
  /* Upper case: invalid, so a new trace, a root. */
  nspans = 0;
  ck_assert_int_eq(proxy_call(plain, "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
                   CGRPC_STATUS_OK);
  wait_spans(3);
  recv = span_named("Recv.kinds.Kinds.Proxy");
  ck_assert_str_ne(recv->trace_id, tid);
  ck_assert_str_ne(recv->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  ck_assert_str_eq(recv->parent, "");
  ck_assert_str_eq(span_named("Recv.kinds.Kinds.Unary")->trace_id, recv->trace_id);
  /* Not sampled (flags 00): ids travel, nothing is reported, downstream either. */
  nspans = 0;
  ck_assert_int_eq(proxy_call(plain, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"),
                   CGRPC_STATUS_OK);
  sleep_ms(300);
  ck_assert_int_eq(span_count(), 0);
  cgrpc_channel_free(plain);
}
END_TEST

START_TEST(the_access_log_carries_the_ids_and_the_ratio_samples_new_traces)
{
  ck_assert_int_eq(proxy_call(ch, NULL), CGRPC_STATUS_OK);
  wait_spans(4);
  const seen_span *recv = span_named("Recv.kinds.Kinds.Proxy");
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  int found = 0;
  while (!found && cgrpc_now() < until) {
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nlog && !found; i++)
      if (strstr(log_lines[i], "\"grpc.method\":\"Proxy\"") != NULL) {
        char want[80];
        snprintf(want, sizeof want, "\"trace_id\":\"%s\",\"span_id\":\"%s\"", recv->trace_id,
                 recv->span_id);
        ck_assert_msg(strstr(log_lines[i], want) != NULL, "%s not in %s", want, log_lines[i]);
        found = 1;
      }
    pthread_mutex_unlock(&mu);
    sleep_ms(5);
  }
  ck_assert(found);
  /* Ratio 0: new traces are not sampled; nothing more is reported. */
  ck_assert_int_eq(cgrpc_tracing_set_sample_ratio(tr, 2), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_tracing_set_sample_ratio(tr, 0), 0);
  ck_assert_int_eq(proxy_call(ch, NULL), CGRPC_STATUS_OK);
  sleep_ms(300);
  ck_assert_int_eq(span_count(), 4);
}
END_TEST

static Suite *tracing_suite(void)
{
  Suite *s = suite_create("tracing");
  TCase *tc = tcase_create("spans");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_call_through_two_servers_is_one_trace_of_four_spans);
  tcase_add_test(tc, a_valid_traceparent_is_joined_an_invalid_one_ignored);
  tcase_add_test(tc, the_access_log_carries_the_ids_and_the_ratio_samples_new_traces);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return run_suite(tracing_suite());
}
