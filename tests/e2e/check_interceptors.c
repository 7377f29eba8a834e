/* Interceptors see every call of every kind, on both sides: start, each message each way,
 * the response headers, and the final status (with the attempts a client call made), in the
 * documented order -- outermost first on the way out, innermost first on the way in. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "harness.h"
#include "kinds_server.h"

/* ---- what the hooks saw ------------------------------------------------------------------ */

#define MAX_EVENTS 256

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char events[MAX_EVENTS][24];
static int nevents;

static void note(const char *who, const char *what)
{
  pthread_mutex_lock(&log_mu);
  if (nevents < MAX_EVENTS)
    snprintf(events[nevents++], sizeof events[0], "%s.%s", who, what);
  pthread_mutex_unlock(&log_mu);
}

static void log_reset(void)
{
  pthread_mutex_lock(&log_mu);
  nevents = 0;
  pthread_mutex_unlock(&log_mu);
}

/* How many events are exactly name. */
static int count(const char *name)
{
  int n = 0;
  pthread_mutex_lock(&log_mu);
  for (int i = 0; i < nevents; i++)
    n += strcmp(events[i], name) == 0;
  pthread_mutex_unlock(&log_mu);
  return n;
}

/* The index of the first event name (or -1). */
static int first(const char *name)
{
  pthread_mutex_lock(&log_mu);
  int at = -1;
  for (int i = 0; i < nevents && at < 0; i++)
    if (strcmp(events[i], name) == 0)
      at = i;
  pthread_mutex_unlock(&log_mu);
  return at;
}

/* Waits (bounded) until name has happened n times. */
static void wait_for(const char *name, int n)
{
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  while (count(name) < n && cgrpc_now() < until)
    sleep_ms(2);
  ck_assert_msg(count(name) >= n, "%s: %d times, not %d", name, count(name), n);
}

/* ---- client interceptors: A outermost, B inside it -------------------------------------- */

static int a_attempts = -1; /* what A's on_done saw of the status */
static cgrpc_code a_code = -1;

static void c_start(cgrpc_client_ctx *ctx, void *ud)
{
  note(ud, "start");
  cgrpc_client_ctx_proceed(ctx, NULL, NULL);
}

static void c_send(cgrpc_client_ctx *ctx, const ProtobufCMessage *msg, void *ud)
{
  (void)ctx;
  ck_assert_ptr_nonnull(msg);
  note(ud, "send");
}

static void c_headers(cgrpc_client_ctx *ctx, const cgrpc_metadata *md, void *ud)
{
  (void)ctx;
  ck_assert_ptr_nonnull(md);
  note(ud, "headers");
}

static void c_recv(cgrpc_client_ctx *ctx, const ProtobufCMessage *msg, void *ud)
{
  (void)ctx;
  ck_assert_ptr_nonnull(msg);
  note(ud, "recv");
}

static void c_done(cgrpc_client_ctx *ctx, const cgrpc_status *st, void *ud)
{
  ck_assert(cgrpc_client_ctx_start_time(ctx) <= cgrpc_now());
  if (strcmp(ud, "A") == 0) {
    a_attempts = st->attempts;
    a_code = st->code;
  }
  note(ud, "done");
}

static const cgrpc_client_interceptor_hooks client_hooks = {
    .start = c_start, .on_send = c_send, .on_headers = c_headers, .on_recv = c_recv,
    .on_done = c_done};

/* ---- server interceptors: S outermost, T inside it ---------------------------------------- */

static cgrpc_code t_done_code = -1;

static void s_start(cgrpc_server_call *call, void *ud)
{
  note(ud, "sstart");
  cgrpc_server_call_proceed(call, NULL, NULL);
}

static void s_recv(cgrpc_server_call *call, const ProtobufCMessage *msg, void *ud)
{
  (void)call;
  ck_assert_ptr_nonnull(msg);
  note(ud, "srecv");
}

static void s_send(cgrpc_server_call *call, const ProtobufCMessage *msg, void *ud)
{
  (void)call;
  ck_assert_ptr_nonnull(msg);
  note(ud, "ssend");
}

static void s_done(cgrpc_server_call *call, cgrpc_code code, const char *message, void *ud)
{
  ck_assert(cgrpc_server_call_start_time(call) <= cgrpc_now());
  ck_assert_ptr_nonnull(message);
  if (strcmp(ud, "T") == 0)
    t_done_code = code;
  note(ud, "sdone");
}

static const cgrpc_server_interceptor_hooks server_hooks = {
    .start = s_start, .on_recv = s_recv, .on_send = s_send, .on_done = s_done};

/* ---- fixture ----------------------------------------------------------------------------- */

static kinds_server ks;
static cgrpc_channel *ch;

static void setup(void)
{
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  ck_assert_int_eq(cgrpc_server_options_add_interceptor_hooks(so, &server_hooks, "S"), 0);
  ck_assert_int_eq(cgrpc_server_options_add_interceptor_hooks(so, &server_hooks, "T"), 0);
  kinds_start(&ks, so);
  cgrpc_server_options_free(so);
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  ck_assert_int_eq(cgrpc_channel_options_add_interceptor_hooks(co, &client_hooks, "A"), 0);
  ck_assert_int_eq(cgrpc_channel_options_add_interceptor_hooks(co, &client_hooks, "B"), 0);
  ch = channel_to(ks.port, co);
  cgrpc_channel_options_free(co);
  log_reset();
  a_attempts = -1;
  a_code = -1;
  t_done_code = -1;
}

static void teardown(void)
{
  cgrpc_channel_free(ch);
  kinds_stop(&ks);
}

static void free_msg(ProtobufCMessage *m)
{
  protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(ch));
}

/* Every hook of both interceptors, on both sides, the given number of times. */
static void expect_counts(int client_sends, int server_sends)
{
  wait_for("S.sdone", 1);
  static const char *const who[] = {"A", "B"};
  for (int i = 0; i < 2; i++) {
    char name[24];
    snprintf(name, sizeof name, "%s.start", who[i]);
    ck_assert_int_eq(count(name), 1);
    snprintf(name, sizeof name, "%s.send", who[i]);
    ck_assert_int_eq(count(name), client_sends);
    snprintf(name, sizeof name, "%s.headers", who[i]);
    ck_assert_int_eq(count(name), 1);
    snprintf(name, sizeof name, "%s.recv", who[i]);
    ck_assert_int_eq(count(name), server_sends);
    snprintf(name, sizeof name, "%s.done", who[i]);
    ck_assert_int_eq(count(name), 1);
  }
  static const char *const swho[] = {"S", "T"};
  for (int i = 0; i < 2; i++) {
    char name[24];
    snprintf(name, sizeof name, "%s.sstart", swho[i]);
    ck_assert_int_eq(count(name), 1);
    snprintf(name, sizeof name, "%s.srecv", swho[i]);
    ck_assert_int_eq(count(name), client_sends);
    snprintf(name, sizeof name, "%s.ssend", swho[i]);
    ck_assert_int_eq(count(name), server_sends);
    snprintf(name, sizeof name, "%s.sdone", swho[i]);
    ck_assert_int_eq(count(name), 1);
  }
  ck_assert_int_eq(a_code, CGRPC_STATUS_OK);
  ck_assert_int_eq(a_attempts, 1);
  ck_assert_int_eq(t_done_code, CGRPC_STATUS_OK);
}

/* ---- the four kinds -------------------------------------------------------------------- */

START_TEST(unary_calls_go_through_every_hook_in_order)
{
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  ck_assert_int_eq(cgrpc_unary_call(ch, &kinds_methods[K_UNARY], &req.base, &resp, NULL, NULL),
                   CGRPC_STATUS_OK);
  free_msg(resp);
  expect_counts(1, 1);
  /* Out: outermost first.  In: innermost first.  A unary request is seen just before start. */
  ck_assert_int_lt(first("A.send"), first("A.start"));
  ck_assert_int_lt(first("A.send"), first("B.send"));
  ck_assert_int_lt(first("A.start"), first("B.start"));
  ck_assert_int_lt(first("B.headers"), first("A.headers"));
  ck_assert_int_lt(first("B.recv"), first("A.recv"));
  ck_assert_int_lt(first("B.done"), first("A.done"));
  ck_assert_int_lt(first("S.sstart"), first("T.sstart"));
  ck_assert_int_lt(first("T.srecv"), first("S.srecv"));
  ck_assert_int_lt(first("S.ssend"), first("T.ssend"));
  ck_assert_int_lt(first("T.sdone"), first("S.sdone"));
  /* The server's view comes between the client's start and its headers. */
  ck_assert_int_lt(first("B.start"), first("S.sstart"));
  ck_assert_int_lt(first("T.ssend"), first("B.recv"));
}
END_TEST

START_TEST(server_streaming_calls_go_through_every_hook)
{
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.response_size = 3;
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_DOWNLOAD], &req.base, NULL, &call),
                   0);
  ProtobufCMessage *m;
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(cgrpc_call_recv(call, &m), 1);
    free_msg(m);
  }
  ck_assert_int_eq(cgrpc_call_recv(call, &m), 0);
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_OK);
  cgrpc_call_free(call);
  expect_counts(1, 3);
}
END_TEST

START_TEST(client_streaming_calls_go_through_every_hook)
{
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_UPLOAD], NULL, NULL, &call), 0);
  for (int i = 0; i < 4; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    ck_assert_int_eq(cgrpc_call_send(call, &c.base), 0);
  }
  ProtobufCMessage *resp = NULL;
  ck_assert_int_eq(cgrpc_call_close_and_recv(call, &resp, NULL), CGRPC_STATUS_OK);
  ck_assert_int_eq(((E2e__UploadSummary *)resp)->chunks, 4);
  free_msg(resp);
  cgrpc_call_free(call);
  expect_counts(4, 1);
  ck_assert_int_lt(first("A.start"), first("A.send")); /* the messages come after the start */
}
END_TEST

START_TEST(bidi_calls_go_through_every_hook)
{
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_CHAT], NULL, NULL, &call), 0);
  for (int i = 0; i < 5; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.seq = i;
    ck_assert_int_eq(cgrpc_call_send(call, &c.base), 0);
    ProtobufCMessage *m;
    ck_assert_int_eq(cgrpc_call_recv(call, &m), 1);
    ck_assert_int_eq(((E2e__Chunk *)m)->seq, i);
    free_msg(m);
  }
  ck_assert_int_eq(cgrpc_call_close_send(call), 0);
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_OK);
  cgrpc_call_free(call);
  expect_counts(5, 5);
}
END_TEST

/* ---- outcomes ----------------------------------------------------------------------------- */

START_TEST(the_final_status_counts_the_attempts_and_interceptors_see_it)
{
  cgrpc_call_options *o = timeout_opts(10000L * slowdown());
  cgrpc_retry_policy p = {.max_attempts = 4,
                          .initial_backoff_ms = 5,
                          .max_backoff_ms = 20,
                          .backoff_multiplier = 2.0,
                          .retryable_codes = 1u << CGRPC_STATUS_UNAVAILABLE};
  ck_assert_int_eq(cgrpc_call_options_set_retry_policy(o, &p), 0);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.status_code = 2; /* the first two attempts fail */
  ProtobufCMessage *resp = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_unary_call(ch, &kinds_methods[K_FLAKY], &req.base, &resp, o, &st),
                   CGRPC_STATUS_OK);
  ck_assert_int_eq(st.attempts, 3);
  ck_assert_int_eq(st.transparent_retries, 0);
  ck_assert_int_eq(a_attempts, 3);
  /* The interceptors wrap the retries: one start, one done for the whole call. */
  ck_assert_int_eq(count("A.start"), 1);
  ck_assert_int_eq(count("A.done"), 1);
  wait_for("S.sdone", 3); /* the server saw three calls */
  free_msg(resp);
  cgrpc_status_clear(&st);

  /* No retries: one attempt, whatever the outcome. */
  req.status_code = 1;
  ck_assert_int_eq(cgrpc_unary_call(ch, &kinds_methods[K_FLAKY], &req.base, &resp, NULL, &st),
                   CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(st.attempts, 1);
  ck_assert_int_eq(a_attempts, 1);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
}
END_TEST

START_TEST(server_on_done_sees_a_status_the_runtime_enforced)
{
  /* A message over the server's limit (4 MiB): the runtime ends the call mid-stream. */
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_UPLOAD], NULL, NULL, &call), 0);
  E2e__Chunk first = E2E__CHUNK__INIT; /* the handler starts with the first message */
  ck_assert_int_eq(cgrpc_call_send(call, &first.base), 0);
  wait_for("T.sstart", 1); /* the handler's side is in: its interceptors hear of the end */
  static uint8_t big[5 * 1024 * 1024];
  E2e__Chunk c = E2E__CHUNK__INIT;
  c.data.data = big;
  c.data.len = sizeof big;
  cgrpc_call_send(call, &c.base); /* may see the call end already */
  cgrpc_call_close_send(call);
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_RESOURCE_EXHAUSTED);
  cgrpc_call_free(call);
  wait_for("T.sdone", 1);
  ck_assert_int_eq(t_done_code, CGRPC_STATUS_RESOURCE_EXHAUSTED);
  ck_assert_int_le(count("T.srecv"), 1); /* the big one did not reach the handler */
  ck_assert_int_eq(a_code, CGRPC_STATUS_RESOURCE_EXHAUSTED);
}
END_TEST

START_TEST(server_on_done_sees_a_client_that_went_away)
{
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_CHAT], NULL, NULL, &call), 0);
  E2e__Chunk c = E2E__CHUNK__INIT;
  ck_assert_int_eq(cgrpc_call_send(call, &c.base), 0);
  ProtobufCMessage *m;
  ck_assert_int_eq(cgrpc_call_recv(call, &m), 1);
  free_msg(m);
  cgrpc_call_cancel(call);
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_CANCELLED);
  cgrpc_call_free(call);
  wait_for("S.sdone", 1);
  ck_assert_int_eq(t_done_code, CGRPC_STATUS_CANCELLED);
  ck_assert_int_eq(count("S.sdone"), 1); /* once, though the handler ends after */
  ck_assert_int_eq(a_code, CGRPC_STATUS_CANCELLED);
}
END_TEST

/* An interceptor that ends every call itself (a circuit breaker, say): the call fails with its
 * status, nothing goes on the wire, and the hooks inside it never run. */
static void refuse(cgrpc_client_ctx *ctx, void *ud)
{
  (void)ud;
  cgrpc_client_ctx_fail(ctx, CGRPC_STATUS_UNAVAILABLE, "circuit open");
  cgrpc_client_ctx_finish(ctx);
}

START_TEST(an_interceptor_can_end_a_streaming_call_before_it_starts)
{
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  cgrpc_client_interceptor_hooks outer = client_hooks;
  outer.start = refuse;
  ck_assert_int_eq(cgrpc_channel_options_add_interceptor_hooks(co, &outer, "A"), 0);
  ck_assert_int_eq(cgrpc_channel_options_add_interceptor_hooks(co, &client_hooks, "B"), 0);
  cgrpc_channel *refusing = channel_to(ks.port, co);
  cgrpc_channel_options_free(co);
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(refusing, &kinds_methods[K_CHAT], NULL, NULL, &call),
                   0);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_call_finish(call, &st), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_str_eq(st.message, "circuit open");
  ck_assert_int_eq(st.attempts, 0);
  cgrpc_status_clear(&st);
  cgrpc_call_free(call);
  cgrpc_channel_free(refusing);
  ck_assert_int_eq(count("B.start"), 0);
  ck_assert_int_eq(count("A.done"), 1);
  ck_assert_int_eq(count("B.done"), 0); /* a stage never entered hears of no end */
  ck_assert_int_eq(count("S.sstart"), 0);
}
END_TEST

static Suite *interceptors_suite(void)
{
  Suite *s = suite_create("interceptors");
  TCase *tc = tcase_create("every kind");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, unary_calls_go_through_every_hook_in_order);
  tcase_add_test(tc, server_streaming_calls_go_through_every_hook);
  tcase_add_test(tc, client_streaming_calls_go_through_every_hook);
  tcase_add_test(tc, bidi_calls_go_through_every_hook);
  suite_add_tcase(s, tc);
  tc = tcase_create("outcomes");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, the_final_status_counts_the_attempts_and_interceptors_see_it);
  tcase_add_test(tc, server_on_done_sees_a_status_the_runtime_enforced);
  tcase_add_test(tc, server_on_done_sees_a_client_that_went_away);
  tcase_add_test(tc, an_interceptor_can_end_a_streaming_call_before_it_starts);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return run_suite(interceptors_suite());
}
