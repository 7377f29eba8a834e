/* Access logs end to end: a server and a channel writing to one log, a sink of ours keeping the
 * lines.  Each call gives one JSON line per side with go-grpc-middleware's fields, at the level
 * its code calls for; secrets the calls carried (authorization, cookies, -bin values, bodies)
 * appear in no line; logfmt works; a slow sink does not slow the calls; the runtime's own lines
 * come through the same log. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include <cgrpc/accesslog.h>

#include "harness.h"
#include "kinds_server.h"

/* ---- a sink that keeps the lines ------------------------------------------------------- */

enum { MAX_LINES = 256 };

typedef struct kept {
  pthread_mutex_t mu;
  char *lines[MAX_LINES];
  int levels[MAX_LINES];
  int n;
  int delay_ms; /* a slow sink */
} kept;

static kept k;

static void keep_line(cgrpc_log_level level, const char *line, size_t len, void *ud)
{
  kept *kp = ud;
  if (kp->delay_ms > 0)
    sleep_ms(kp->delay_ms);
  pthread_mutex_lock(&kp->mu);
  if (kp->n < MAX_LINES) {
    kp->lines[kp->n] = strndup(line, len);
    kp->levels[kp->n++] = (int)level;
  }
  pthread_mutex_unlock(&kp->mu);
}

static int kept_count(void)
{
  pthread_mutex_lock(&k.mu);
  int n = k.n;
  pthread_mutex_unlock(&k.mu);
  return n;
}

/* Waits until at least n lines are in (5 s x slowdown). */
static void wait_lines(int n)
{
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  while (kept_count() < n && cgrpc_now() < until)
    sleep_ms(5);
  ck_assert_int_ge(kept_count(), n);
}

/* How many kept lines contain needle. */
static int count_text(const char *needle)
{
  pthread_mutex_lock(&k.mu);
  int n = 0;
  for (int i = 0; i < k.n; i++)
    n += strstr(k.lines[i], needle) != NULL;
  pthread_mutex_unlock(&k.mu);
  return n;
}

/* Waits until at least n kept lines contain needle (5 s x slowdown). */
static void wait_text(const char *needle, int n)
{
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  while (count_text(needle) < n && cgrpc_now() < until)
    sleep_ms(5);
  ck_assert_msg(count_text(needle) >= n, "fewer than %d lines with %s", n, needle);
}

static cgrpc_access_log *alog;
static kinds_server ks;
static int ks_running;
static cgrpc_channel *ch;

static void start(cgrpc_access_log_format format)
{
  ck_assert_int_eq(cgrpc_access_log_new(&alog), 0);
  cgrpc_access_log_set_format(alog, format);
  cgrpc_access_log_set_sink(alog, keep_line, &k);
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  ck_assert_int_eq(cgrpc_access_log_attach_server(alog, so), 0);
  ck_assert_int_eq(cgrpc_server_options_set_stream_handler_threads(so, 1), 0);
  kinds_start(&ks, so);
  ks_running = 1;
  cgrpc_server_options_free(so);
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  ck_assert_int_eq(cgrpc_access_log_attach_channel(alog, co), 0);
  ch = channel_to(ks.port, co);
  cgrpc_channel_options_free(co);
}

static void setup(void)
{
  pthread_mutex_init(&k.mu, NULL);
  k.n = 0;
  k.delay_ms = 0;
}

static void teardown(void)
{
  cgrpc_channel_free(ch);
  ch = NULL;
  if (ks_running)
    kinds_stop(&ks);
  ks_running = 0;
  cgrpc_access_log_free(alog);
  alog = NULL;
  for (int i = 0; i < k.n; i++)
    free(k.lines[i]);
}

static cgrpc_code unary(int code, const cgrpc_call_options *o)
{
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.status_code = code;
  ProtobufCMessage *resp = NULL;
  cgrpc_code got = cgrpc_unary_call(ch, &kinds_methods[K_UNARY], &req.base, &resp, o, NULL);
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  return got;
}

/* The kept JSON line of component whose grpc.code is code (parsed; put by the caller). */
static json_object *find_line(const char *component, const char *code)
{
  pthread_mutex_lock(&k.mu);
  json_object *found = NULL;
  for (int i = 0; i < k.n && found == NULL; i++) {
    json_object *o = json_tokener_parse(k.lines[i]);
    ck_assert_msg(o != NULL, "not JSON: %s", k.lines[i]);
    json_object *c, *g;
    if (json_object_object_get_ex(o, "grpc.component", &c) &&
        strcmp(json_object_get_string(c), component) == 0 &&
        json_object_object_get_ex(o, "grpc.code", &g) &&
        strcmp(json_object_get_string(g), code) == 0)
      found = o;
    else
      json_object_put(o);
  }
  pthread_mutex_unlock(&k.mu);
  ck_assert_msg(found != NULL, "no %s line with grpc.code %s", component, code);
  return found;
}

static const char *field(json_object *o, const char *key)
{
  json_object *v;
  ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s in %s", key,
                json_object_to_json_string(o));
  return json_object_get_string(v);
}

static int has(json_object *o, const char *key)
{
  return json_object_object_get_ex(o, key, NULL);
}

/* "2026-12-08T01:02:03.456Z" */
static int rfc3339_ms(const char *s)
{
  return strlen(s) == 24 && s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[23] == 'Z';
}

START_TEST(each_call_gives_a_json_line_per_side_with_the_fields)
{
  start(CGRPC_ACCESS_LOG_JSON);
  cgrpc_call_options *o = timeout_opts(5000);
  ck_assert_int_eq(cgrpc_call_options_set_idempotency_key(o, "key-123"), 0);
  ck_assert_int_eq(unary(CGRPC_STATUS_OK, o), CGRPC_STATUS_OK);
  cgrpc_call_options_free(o);
  ck_assert_int_eq(unary(CGRPC_STATUS_UNAVAILABLE, NULL), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(unary(CGRPC_STATUS_INTERNAL, NULL), CGRPC_STATUS_INTERNAL);
  wait_lines(6);

  json_object *s = find_line("server", "OK"), *c = find_line("client", "OK");
  ck_assert_str_eq(field(s, "msg"), "finished call");
  ck_assert_str_eq(field(s, "level"), "info");
  ck_assert_str_eq(field(s, "grpc.service"), "kinds.Kinds");
  ck_assert_str_eq(field(s, "grpc.method"), "Unary");
  ck_assert_str_eq(field(s, "grpc.method_type"), "unary");
  ck_assert_int_eq(strncmp(field(s, "peer.address"), "127.0.0.1:", 10), 0);
  ck_assert(rfc3339_ms(field(s, "time")));
  ck_assert(rfc3339_ms(field(s, "grpc.start_time")));
  ck_assert(rfc3339_ms(field(s, "grpc.request.deadline")));
  ck_assert(strcmp(field(s, "grpc.request.deadline"), field(s, "grpc.start_time")) > 0);
  ck_assert(!has(s, "grpc.error"));
  json_object *ms;
  ck_assert(json_object_object_get_ex(s, "grpc.time_ms", &ms));
  ck_assert(json_object_is_type(ms, json_type_double) && json_object_get_double(ms) >= 0);
  ck_assert_str_eq(field(s, "attempts"), "1");
  /* The key itself never; its hash, the same on both sides. */
  ck_assert_int_eq(strlen(field(s, "idempotency_key_hash")), 16);
  ck_assert_str_eq(field(s, "idempotency_key_hash"), field(c, "idempotency_key_hash"));
  ck_assert_str_eq(field(c, "grpc.method"), "Unary");
  ck_assert_str_eq(field(c, "peer.address"), cgrpc_channel_authority(ch));
  ck_assert(rfc3339_ms(field(c, "grpc.request.deadline")));
  json_object_put(s);
  json_object_put(c);

  /* Levels by code, as go-grpc-middleware's defaults; the error's message. */
  s = find_line("server", "Unavailable");
  ck_assert_str_eq(field(s, "level"), "warn");
  ck_assert_str_eq(field(s, "grpc.error"), "as asked");
  ck_assert(!has(s, "grpc.request.deadline")); /* the call had none */
  json_object_put(s);
  s = find_line("client", "Internal");
  ck_assert_str_eq(field(s, "level"), "error");
  json_object_put(s);
  pthread_mutex_lock(&k.mu);
  for (int i = 0; i < k.n; i++)
    ck_assert_ptr_null(strstr(k.lines[i], "key-123"));
  pthread_mutex_unlock(&k.mu);
}
END_TEST

START_TEST(secrets_the_calls_carried_appear_in_no_line)
{
  start(CGRPC_ACCESS_LOG_JSON);
  cgrpc_access_log_capture_runtime(alog);
  cgrpc_call_options *o = timeout_opts(5000);
  static const char bin[] = "s3cr3t-bin-C";
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "authorization", "Bearer s3cr3t-token-A",
                                                   21),
                   0);
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "cookie", "session=s3cr3t-cookie-B", 23), 0);
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "x-secret-bin", bin, sizeof bin - 1), 0);
  ck_assert_int_eq(cgrpc_call_options_set_idempotency_key(o, "s3cr3t-key-E"), 0);
  for (int code = 0; code <= CGRPC_STATUS_UNAUTHENTICATED; code += 8) {
    E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
    req.payload.data = (uint8_t *)"s3cr3t-body-D";
    req.payload.len = 13;
    req.status_code = code;
    ProtobufCMessage *resp = NULL;
    cgrpc_unary_call(ch, &kinds_methods[K_UNARY], &req.base, &resp, o, NULL);
    if (resp != NULL)
      protobuf_c_message_free_unpacked(resp, NULL);
  }
  cgrpc_call_options_free(o);
  /* And a stream: its runtime line (the one streaming thread is busy) comes too. */
  cgrpc_call *held, *waiting;
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_HOLD], &req.base, NULL, &held), 0);
  ProtobufCMessage *m;
  ck_assert_int_eq(cgrpc_call_recv(held, &m), 1);
  protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(ch));
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_HOLD], &req.base, NULL, &waiting),
                   0);
  wait_text("\"grpc.method\":\"Unary\"", 6); /* 3 calls x 2 sides */
  wait_text("streaming handler threads are busy", 1); /* the runtime's line */
  kinds_release();
  for (cgrpc_call *call = held;; call = waiting) {
    while (cgrpc_call_recv(call, &m) == 1)
      protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(ch));
    ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_OK);
    cgrpc_call_free(call);
    if (call == waiting)
      break;
  }
  wait_text("\"grpc.method\":\"Hold\"", 4);
  int runtime_lines = 0;
  pthread_mutex_lock(&k.mu);
  for (int i = 0; i < k.n; i++) {
    ck_assert_msg(strstr(k.lines[i], "s3cr3t") == NULL, "a secret in: %s", k.lines[i]);
    json_object *o2 = json_tokener_parse(k.lines[i]);
    ck_assert_ptr_nonnull(o2);
    json_object *c;
    if (json_object_object_get_ex(o2, "grpc.component", &c) &&
        strcmp(json_object_get_string(c), "runtime") == 0 &&
        strstr(k.lines[i], "streaming handler threads are busy") != NULL) {
      runtime_lines++;
      ck_assert_int_eq(k.levels[i], CGRPC_LOG_WARNING);
    }
    json_object_put(o2);
  }
  pthread_mutex_unlock(&k.mu);
  ck_assert_int_eq(runtime_lines, 1);
}
END_TEST

START_TEST(logfmt_lines_quote_what_needs_it)
{
  start(CGRPC_ACCESS_LOG_LOGFMT);
  ck_assert_int_eq(unary(CGRPC_STATUS_NOT_FOUND, NULL), CGRPC_STATUS_NOT_FOUND);
  wait_lines(2);
  pthread_mutex_lock(&k.mu);
  for (int i = 0; i < 2; i++) {
    const char *l = k.lines[i];
    ck_assert_msg(strncmp(l, "time=", 5) == 0, "%s", l);
    ck_assert_ptr_nonnull(strstr(l, " level=info msg=\"finished call\" grpc.component="));
    ck_assert_ptr_nonnull(strstr(l, " grpc.service=kinds.Kinds grpc.method=Unary "));
    ck_assert_ptr_nonnull(strstr(l, " grpc.code=NotFound grpc.error=\"as asked\" grpc.time_ms="));
  }
  pthread_mutex_unlock(&k.mu);
}
END_TEST

START_TEST(levels_can_be_set_per_code_and_a_minimum)
{
  start(CGRPC_ACCESS_LOG_JSON);
  ck_assert_int_eq(cgrpc_access_log_set_code_level(alog, CGRPC_STATUS_OK, CGRPC_LOG_DEBUG), 0);
  ck_assert_int_eq(cgrpc_access_log_set_code_level(alog, (cgrpc_code)99, CGRPC_LOG_DEBUG),
                   CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(unary(CGRPC_STATUS_OK, NULL), CGRPC_STATUS_OK); /* below info: not written */
  ck_assert_int_eq(unary(CGRPC_STATUS_ALREADY_EXISTS, NULL), CGRPC_STATUS_ALREADY_EXISTS);
  wait_lines(2);
  sleep_ms(100);
  ck_assert_int_eq(kept_count(), 2);
  json_object *s = find_line("server", "AlreadyExists");
  json_object_put(s);
  cgrpc_access_log_set_min_level(alog, CGRPC_LOG_DEBUG);
  ck_assert_int_eq(unary(CGRPC_STATUS_OK, NULL), CGRPC_STATUS_OK);
  wait_lines(4);
  s = find_line("server", "OK");
  ck_assert_str_eq(field(s, "level"), "debug");
  json_object_put(s);
}
END_TEST

/* A sink that takes 50 ms a line: twenty calls still take no longer than without it (the lines
 * queue), and every line arrives in the end. */
START_TEST(a_slow_sink_does_not_slow_the_calls)
{
  start(CGRPC_ACCESS_LOG_JSON);
  k.delay_ms = 50;
  cgrpc_time t0 = cgrpc_now();
  for (int i = 0; i < 20; i++)
    ck_assert_int_eq(unary(CGRPC_STATUS_OK, NULL), CGRPC_STATUS_OK);
  int64_t took = ms_since(t0);
  ck_assert_msg(took < 1000L * slowdown(), "20 calls took %lld ms", (long long)took);
  ck_assert_int_lt(kept_count(), 40); /* the sink is still behind */
  cgrpc_channel_free(ch);
  ch = NULL;
  kinds_stop(&ks);
  ks_running = 0;
  cgrpc_access_log_free(alog); /* writes what is queued */
  alog = NULL;
  ck_assert_int_eq(kept_count(), 40);
}
END_TEST

/* The runtime's routine events come through a captured log at info: a client's connection
 * up, then closed with its reason when the server goes. */
START_TEST(the_runtime_s_connection_events_come_through_at_info)
{
  start(CGRPC_ACCESS_LOG_JSON);
  cgrpc_access_log_capture_runtime(alog);
  cgrpc_channel *fresh = channel_to(ks.port, NULL); /* connects after the capture */
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  ck_assert_int_eq(cgrpc_unary_call(fresh, &kinds_methods[K_UNARY], &req.base, &resp, NULL, NULL),
                   CGRPC_STATUS_OK);
  protobuf_c_message_free_unpacked(resp, NULL);
  cgrpc_channel_free(fresh);
  cgrpc_channel_free(ch);
  ch = NULL;
  kinds_stop(&ks);
  ks_running = 0;
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  int connected = 0, closed = 0;
  while ((connected == 0 || closed == 0) && cgrpc_now() < until) {
    sleep_ms(20);
    pthread_mutex_lock(&k.mu);
    connected = closed = 0;
    for (int i = 0; i < k.n; i++) {
      if (strstr(k.lines[i], "\"grpc.component\":\"runtime\"") == NULL)
        continue;
      if (strstr(k.lines[i], ": connected\"") != NULL && k.levels[i] == CGRPC_LOG_INFO)
        connected++;
      if (strstr(k.lines[i], ": connection closed: ") != NULL && k.levels[i] == CGRPC_LOG_INFO)
        closed++;
    }
    pthread_mutex_unlock(&k.mu);
  }
  ck_assert_int_ge(connected, 1);
  ck_assert_int_ge(closed, 1);
}
END_TEST

static Suite *accesslog_suite(void)
{
  Suite *s = suite_create("accesslog");
  TCase *tc = tcase_create("lines");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, each_call_gives_a_json_line_per_side_with_the_fields);
  tcase_add_test(tc, secrets_the_calls_carried_appear_in_no_line);
  tcase_add_test(tc, logfmt_lines_quote_what_needs_it);
  tcase_add_test(tc, levels_can_be_set_per_code_and_a_minimum);
  tcase_add_test(tc, a_slow_sink_does_not_slow_the_calls);
  tcase_add_test(tc, the_runtime_s_connection_events_come_through_at_info);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return run_suite(accesslog_suite());
}
