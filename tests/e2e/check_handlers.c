/* A server no stream can starve: blocking streaming handlers run on a pool of their own that
 * grows as streams open, so unary calls keep their threads; when a pool runs out the runtime
 * says so, once, in its log; and an asynchronous streaming handler holds no thread at all. */
#include <pthread.h>
#include <string.h>

#include <check.h>

#include "harness.h"
#include "kinds_server.h"
#include "rawh2.h"

/* ---- the runtime's log, as a handler of ours sees it ------------------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int busy_lines;        /* "handler threads are busy" */
static int stream_busy_lines; /* "streaming handler threads are busy" */
static int conn_busy_lines;   /* "... holds N streaming handler threads, its limit" */

static void on_log(cgrpc_log_level level, const char *message, void *ud)
{
  (void)ud;
  pthread_mutex_lock(&log_mu);
  if (level == CGRPC_LOG_WARNING && strstr(message, "streaming handler threads, its limit"))
    conn_busy_lines++;
  else if (level == CGRPC_LOG_WARNING && strstr(message, "streaming handler threads are busy"))
    stream_busy_lines++;
  else if (level == CGRPC_LOG_WARNING && strstr(message, "handler threads are busy"))
    busy_lines++;
  pthread_mutex_unlock(&log_mu);
}

static void log_counts(int *busy, int *stream_busy)
{
  pthread_mutex_lock(&log_mu);
  *busy = busy_lines;
  *stream_busy = stream_busy_lines;
  pthread_mutex_unlock(&log_mu);
}

static void setup(void)
{
  pthread_mutex_lock(&log_mu);
  busy_lines = stream_busy_lines = conn_busy_lines = 0;
  pthread_mutex_unlock(&log_mu);
  cgrpc_log_set_handler(on_log, NULL);
}

static void teardown(void)
{
  cgrpc_log_set_handler(NULL, NULL);
}

static int conn_busy_count(void)
{
  pthread_mutex_lock(&log_mu);
  int n = conn_busy_lines;
  pthread_mutex_unlock(&log_mu);
  return n;
}

/* Opens n K_HOLD streams on ch (with options o, or none) and waits until each handler has sent
 * its first chunk (so it runs, and holds its thread). */
static void hold_streams_opts(cgrpc_channel *ch, cgrpc_call **calls, int n,
                              const cgrpc_call_options *o)
{
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_HOLD], &req.base, o, &calls[i]),
                     0);
  for (int i = 0; i < n; i++) {
    ProtobufCMessage *m;
    ck_assert_int_eq(cgrpc_call_recv(calls[i], &m), 1);
    protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(ch));
  }
}

static void hold_streams(cgrpc_channel *ch, cgrpc_call **calls, int n)
{
  hold_streams_opts(ch, calls, n, NULL);
}

static void end_streams(cgrpc_call **calls, int n)
{
  kinds_release();
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(cgrpc_call_finish(calls[i], NULL), CGRPC_STATUS_OK);
    cgrpc_call_free(calls[i]);
  }
}

static void unary_done(cgrpc_status *status, ProtobufCMessage *response, void *ud)
{
  ck_assert_int_eq(status->code, CGRPC_STATUS_OK);
  protobuf_c_message_free_unpacked(response, NULL);
  waiter_done(ud, status->code);
}

#define HOLDERS 64

START_TEST(sixty_four_blocking_server_streams_do_not_delay_a_unary_call)
{
  kinds_server ks;
  kinds_start(&ks, NULL); /* default options: 4 handler threads on a 2-CPU machine */
  cgrpc_channel *ch = channel_to(ks.port, NULL);
  cgrpc_call *calls[HOLDERS];
  hold_streams(ch, calls, HOLDERS);
  ck_assert_int_eq(kinds_holding(), HOLDERS);
  /* Every one of them holds a thread; a unary call is answered at once all the same. */
  cgrpc_call_options *o = timeout_opts(1000L * slowdown()); /* 1 s, natively */
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  for (int i = 0; i < 10; i++) {
    cgrpc_time t0 = cgrpc_now();
    ck_assert_int_eq(cgrpc_unary_call(ch, &kinds_methods[K_UNARY], &req.base, NULL, o, NULL),
                     CGRPC_STATUS_OK);
    ck_assert_int_lt(ms_since(t0), 1000L * slowdown());
  }
  int busy, stream_busy;
  log_counts(&busy, &stream_busy);
  ck_assert_int_eq(busy, 0); /* no pool ran out */
  ck_assert_int_eq(stream_busy, 0);
  end_streams(calls, HOLDERS);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
  kinds_stop(&ks);
}
END_TEST

START_TEST(when_a_pool_runs_out_the_log_says_so_once)
{
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  cgrpc_server_options_set_handler_threads(so, 1);
  ck_assert_int_eq(cgrpc_server_options_set_stream_handler_threads(so, 2), 0);
  ck_assert_int_eq(cgrpc_server_options_set_stream_handler_threads(so, 0),
                   CGRPC_ERR_INVALID_ARGUMENT);
  kinds_server ks;
  kinds_start(&ks, so);
  cgrpc_server_options_free(so);
  cgrpc_channel *ch = channel_to(ks.port, NULL);
  cgrpc_call *calls[2];
  hold_streams(ch, calls, 2); /* both streaming threads taken */
  /* Two more streams wait for a thread: one line, not two. */
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  cgrpc_call *waiting[2];
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_HOLD], &req.base, NULL,
                                             &waiting[i]),
                     0);
  int busy = 0, stream_busy = 0;
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  while (stream_busy == 0 && cgrpc_now() < until) {
    sleep_ms(5);
    log_counts(&busy, &stream_busy);
  }
  sleep_ms(100);
  log_counts(&busy, &stream_busy);
  ck_assert_int_eq(stream_busy, 1);
  ck_assert_int_eq(busy, 0);
  /* Unary calls still have their thread; one sleeping makes the next two wait: one line. */
  waiter w;
  waiter_init(&w, 3);
  cgrpc_call_options *o = timeout_opts(10000L * slowdown());
  E2e__EchoRequest slow = E2E__ECHO_REQUEST__INIT;
  slow.sleep_ms = 200;
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(
        cgrpc_unary_call_start(ch, &kinds_methods[K_UNARY], &slow.base, o, unary_done, &w, NULL), 0);
  waiter_wait(&w);
  log_counts(&busy, &stream_busy);
  ck_assert_int_eq(busy, 1);
  cgrpc_call_options_free(o);
  end_streams(calls, 2);
  for (int i = 0; i < 2; i++) { /* the waiting ones run now, and are released at once */
    ProtobufCMessage *m;
    ck_assert_int_eq(cgrpc_call_recv(waiting[i], &m), 1);
    protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(ch));
  }
  end_streams(waiting, 2);
  log_counts(&busy, &stream_busy);
  ck_assert_int_eq(stream_busy, 1);
  cgrpc_channel_free(ch);
  kinds_stop(&ks);
}
END_TEST

/* ---- what one client can hold ---------------------------------------------------------- */

/* Sends one chunk on call, ends its side, and expects one answer and OK. */
static void one_exchange(cgrpc_channel *ch, cgrpc_call *call)
{
  E2e__Chunk c = E2E__CHUNK__INIT;
  ck_assert_int_eq(cgrpc_call_send(call, &c.base), 0);
  ck_assert_int_eq(cgrpc_call_close_send(call), 0);
  ProtobufCMessage *m;
  ck_assert_int_eq(cgrpc_call_recv(call, &m), 1);
  protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(ch));
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_OK);
  cgrpc_call_free(call);
}

/* Streams of method (whose blocking handler reads first) that never send a message: eight of
 * them on one connection, two streaming threads in all, and another connection's calls still
 * run at once -- the idle ones have no thread until they send; then they are served. */
static void idle_streams_hold_no_thread(int method, cgrpc_stream_start when)
{
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  ck_assert_int_eq(cgrpc_server_options_set_stream_handler_threads(so, 2), 0);
  ck_assert_int_eq(cgrpc_server_options_set_stream_start(so, when), 0);
  kinds_server ks;
  kinds_start(&ks, so);
  cgrpc_server_options_free(so);
  cgrpc_channel *idle_ch = channel_to(ks.port, NULL), *ch = channel_to(ks.port, NULL);
  enum { IDLE = 8 };
  cgrpc_call *idle[IDLE];
  for (int i = 0; i < IDLE; i++)
    ck_assert_int_eq(cgrpc_call_start_stream(idle_ch, &kinds_methods[method], NULL, NULL,
                                             &idle[i]),
                     0);
  sleep_ms(100); /* their headers are in */
  cgrpc_call_options *o = timeout_opts(2000L * slowdown());
  for (int round = 0; round < 3; round++) {
    cgrpc_call *call;
    ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[method], NULL, o, &call), 0);
    one_exchange(ch, call);
  }
  /* (Had the idle ones taken the two threads, those calls would have waited past their
   * deadline.) */
  for (int i = 0; i < IDLE; i++)
    one_exchange(idle_ch, idle[i]);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
  cgrpc_channel_free(idle_ch);
  kinds_stop(&ks);
}

START_TEST(client_streams_that_never_send_hold_no_thread)
{
  idle_streams_hold_no_thread(K_UPLOAD, CGRPC_STREAM_START_DEFAULT);
}
END_TEST

START_TEST(bidi_streams_that_never_send_hold_no_thread_when_asked)
{
  ck_assert_int_eq(cgrpc_server_options_set_stream_start(NULL, CGRPC_STREAM_START_AT_ONCE),
                   CGRPC_ERR_INVALID_ARGUMENT);
  idle_streams_hold_no_thread(K_CHAT, CGRPC_STREAM_START_ON_FIRST_MESSAGE);
}
END_TEST

/* Eight streaming threads, four per connection: one connection's six blocking streams take
 * four (the other two wait, and the log says so once), and another connection's four run at
 * once; when the first four end, the waiting two run. */
START_TEST(one_connection_holds_no_more_than_its_share_of_streaming_threads)
{
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  ck_assert_int_eq(cgrpc_server_options_set_stream_handler_threads(so, 8), 0);
  ck_assert_int_eq(cgrpc_server_options_set_stream_handlers_per_connection(so, 4), 0);
  ck_assert_int_eq(cgrpc_server_options_set_stream_handlers_per_connection(so, 0),
                   CGRPC_ERR_INVALID_ARGUMENT);
  kinds_server ks;
  kinds_start(&ks, so);
  cgrpc_server_options_free(so);
  cgrpc_channel *greedy = channel_to(ks.port, NULL), *ch = channel_to(ks.port, NULL);
  cgrpc_call *held[4], *queued[2], *other[4];
  hold_streams(greedy, held, 4);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(cgrpc_call_start_stream(greedy, &kinds_methods[K_HOLD], &req.base, NULL,
                                             &queued[i]),
                     0);
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  while (conn_busy_count() == 0 && cgrpc_now() < until)
    sleep_ms(5);
  ck_assert_int_eq(conn_busy_count(), 1);
  ck_assert_int_eq(kinds_holding(), 4);
  /* Four free threads are left, and the other connection gets them within its deadline. */
  cgrpc_call_options *o = timeout_opts(5000L * slowdown());
  hold_streams_opts(ch, other, 4, o);
  ck_assert_int_eq(kinds_holding(), 8);
  int busy, stream_busy;
  log_counts(&busy, &stream_busy);
  ck_assert_int_eq(stream_busy, 0); /* the pool never ran out */
  ck_assert_int_eq(conn_busy_count(), 1);
  end_streams(held, 4);
  end_streams(other, 4);
  for (int i = 0; i < 2; i++) { /* the waiting ones run now, and are released at once */
    ProtobufCMessage *m;
    ck_assert_int_eq(cgrpc_call_recv(queued[i], &m), 1);
    protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(greedy));
  }
  end_streams(queued, 2);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
  cgrpc_channel_free(greedy);
  kinds_stop(&ks);
}
END_TEST

/* ---- asynchronous streams hold no thread ------------------------------------------------ */

START_TEST(asynchronous_streaming_handlers_hold_no_thread)
{
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  ck_assert_int_eq(cgrpc_server_options_set_stream_handler_threads(so, 1), 0);
  kinds_server ks;
  kinds_start(&ks, so);
  cgrpc_server_options_free(so);
  cgrpc_channel *ch = channel_to(ks.port, NULL);
  /* Eight streams open at once on one streaming thread: each handler returned at once, and
   * each stream is answered while all are open. */
  enum { N = 8 };
  cgrpc_call *calls[N];
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_RELAY], NULL, NULL, &calls[i]),
                     0);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < N; i++) {
      E2e__Chunk c = E2E__CHUNK__INIT;
      c.seq = round * N + i;
      ck_assert_int_eq(cgrpc_call_send(calls[i], &c.base), 0);
      ProtobufCMessage *m;
      ck_assert_int_eq(cgrpc_call_recv(calls[i], &m), 1);
      ck_assert_int_eq(((E2e__Chunk *)m)->seq, round * N + i);
      protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(ch));
    }
  }
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(cgrpc_call_close_send(calls[i]), 0);
    ck_assert_int_eq(cgrpc_call_finish(calls[i], NULL), CGRPC_STATUS_OK);
    cgrpc_call_free(calls[i]);
  }
  cgrpc_channel_free(ch);
  kinds_stop(&ks);
}
END_TEST

/* A callback handler on the I/O thread, whose request (messages and end, in one read) waited
 * whole before the handler ran: what waited reaches on_message, then on_recv_done (K_RELAY
 * finishes there, so an early one would lose the echoes). */
START_TEST(callbacks_on_the_io_thread_see_every_message_then_the_end_once)
{
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  cgrpc_server_options_set_handler_threads(so, 0);
  kinds_server ks;
  kinds_start(&ks, so);
  cgrpc_server_options_free(so);
  uint8_t body[64];
  size_t len = 0;
  for (int i = 1; i <= 2; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.seq = i;
    size_t n = e2e__chunk__get_packed_size(&c);
    body[len] = 0;
    body[len + 1] = body[len + 2] = body[len + 3] = 0;
    body[len + 4] = (uint8_t)n;
    e2e__chunk__pack(&c, body + len + 5);
    len += 5 + n;
  }
  const char *hdrs[] = {":method", "POST", ":scheme", "http", ":path", kinds_methods[K_RELAY].path,
                        ":authority", "x", "content-type", "application/grpc", "te", "trailers",
                        NULL};
  rawh2 *c = rawh2_connect(ks.port);
  ck_assert_ptr_nonnull(c);
  rawh2_result res;
  ck_assert_int_eq(rawh2_request(c, hdrs, body, len, &res, 5000 * slowdown()), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_OK);
  ck_assert_uint_eq(res.data_len, len); /* both echoed */
  rawh2_free(c);
  kinds_stop(&ks);
}
END_TEST

static Suite *handlers_suite(void)
{
  Suite *s = suite_create("handlers");
  TCase *tc = tcase_create("pools");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, sixty_four_blocking_server_streams_do_not_delay_a_unary_call);
  tcase_add_test(tc, when_a_pool_runs_out_the_log_says_so_once);
  tcase_add_test(tc, client_streams_that_never_send_hold_no_thread);
  tcase_add_test(tc, bidi_streams_that_never_send_hold_no_thread_when_asked);
  tcase_add_test(tc, one_connection_holds_no_more_than_its_share_of_streaming_threads);
  tcase_add_test(tc, asynchronous_streaming_handlers_hold_no_thread);
  tcase_add_test(tc, callbacks_on_the_io_thread_see_every_message_then_the_end_once);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return run_suite(handlers_suite());
}
