/* cgrpc_server_options_set_max_connections end to end.  At the limit the server stops
 * accepting: a connection beyond it completes its TCP handshake (the kernel's backlog) but
 * gets no SETTINGS and no service -- its calls wait, up to their deadline -- and is
 * accepted, oldest first, as soon as an open connection closes, however it closes.  The
 * server runs in this process (faulty.proto's Try); raw HTTP/2 clients stand in for
 * connections whose end we control. */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "faulty.cgrpc.h"
#include "harness.h"
#include "rawh2.h"

static cgrpc_server *srv;
static int port;
static int handled; /* atomic: Try calls that reached the handler */

static cgrpc_code try_handler(cgrpc_server_call *call, const Faulty__TryRequest *req,
                              Faulty__TryReply *reply, void *ud)
{
  (void)call;
  (void)ud;
  __atomic_add_fetch(&handled, 1, __ATOMIC_RELAXED);
  if (req->sleep_ms > 0)
    sleep_ms(req->sleep_ms);
  reply->attempt = 1;
  return CGRPC_STATUS_OK;
}

static int handled_now(void)
{
  return __atomic_load_n(&handled, __ATOMIC_RELAXED);
}

static void server_up(uint32_t max_connections)
{
  cgrpc_server_options *o;
  ck_assert_int_eq(cgrpc_server_options_new(&o), 0);
  ck_assert_int_eq(cgrpc_server_options_set_max_connections(NULL, 1), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_server_options_set_max_connections(o, max_connections), 0);
  ck_assert_int_eq(cgrpc_server_new(&srv, o), 0);
  cgrpc_server_options_free(o);
  Faulty__Faulty_Server impl = FAULTY__FAULTY__SERVER_INIT;
  impl.try_ = try_handler;
  ck_assert_int_eq(faulty__faulty_server__register(srv, &impl, NULL), 0);
  ck_assert_int_eq(cgrpc_server_add_listener(srv, "127.0.0.1:0", &port), 0);
  ck_assert_int_eq(cgrpc_server_start(srv), 0);
  handled = 0;
}

static void server_down(void)
{
  cgrpc_server_shutdown(srv, 0);
  cgrpc_server_free(srv);
  srv = NULL;
}

static const cgrpc_method_desc *try_method(void)
{
  return &faulty__faulty__cgrpc_service.methods[FAULTY__FAULTY__METHOD_TRY];
}

static cgrpc_code try_call(cgrpc_channel *ch, int64_t timeout_ms)
{
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "m";
  cgrpc_call_options *o = timeout_opts(timeout_ms);
  ProtobufCMessage *resp = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = cgrpc_unary_call(ch, try_method(), &req.base, &resp, o, &st);
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  return code;
}

/* An asynchronous call whose end the test polls. */
typedef struct pending_call {
  int done; /* atomic */
  int code;
  cgrpc_call *call;
} pending_call;

static void pending_done(cgrpc_status *st, ProtobufCMessage *resp, void *ud)
{
  pending_call *p = ud;
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  p->code = st->code;
  __atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
}

static void pending_start(pending_call *p, cgrpc_channel *ch, int64_t timeout_ms)
{
  memset(p, 0, sizeof *p);
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "w";
  cgrpc_call_options *o = timeout_opts(timeout_ms);
  ck_assert_int_eq(cgrpc_unary_call_start(ch, try_method(), &req.base, o, pending_done, p,
                                          &p->call),
                   0);
  cgrpc_call_options_free(o);
}

/* Waits up to ms for the call to end; 1 when it did. */
static int pending_wait(pending_call *p, int ms)
{
  cgrpc_time t0 = cgrpc_now();
  while (!__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) && ms_since(t0) < ms)
    sleep_ms(5);
  return __atomic_load_n(&p->done, __ATOMIC_ACQUIRE);
}

/* Long enough that a connection being served would have answered (a call or a ping takes
 * about a millisecond here); proving a negative, so slowdown only makes the test slower. */
#define NO_SERVICE_MS 300

START_TEST(a_third_connection_waits_until_one_of_two_closes)
{
  server_up(2);
  cgrpc_channel *ch1 = channel_to(port, NULL);
  cgrpc_channel *ch2 = channel_to(port, NULL);
  ck_assert_int_eq(try_call(ch1, 5000 * slowdown()), CGRPC_STATUS_OK);
  ck_assert_int_eq(try_call(ch2, 5000 * slowdown()), CGRPC_STATUS_OK);
  /* Both stay open and keep being served. */
  ck_assert_int_eq(try_call(ch1, 5000 * slowdown()), CGRPC_STATUS_OK);
  ck_assert_int_eq(try_call(ch2, 5000 * slowdown()), CGRPC_STATUS_OK);
  ck_assert_int_eq(handled_now(), 4);

  /* A third: its call waits (no error, no answer), the handler never runs.  (The channel
   * connects on its own thread: waiting here also puts its connection first in the
   * backlog, ahead of the next one.) */
  cgrpc_channel *ch3 = channel_to(port, NULL);
  pending_call p;
  pending_start(&p, ch3, 30000 * slowdown());
  ck_assert_int_eq(pending_wait(&p, NO_SERVICE_MS * slowdown()), 0);
  /* And a fourth behind it: connected (the kernel's backlog), but no SETTINGS, no PING ack. */
  rawh2 *raw = rawh2_connect(port);
  ck_assert_ptr_nonnull(raw);
  ck_assert_int_eq(rawh2_ping(raw, NO_SERVICE_MS), -1);
  ck_assert_int_eq(handled_now(), 4);
  ck_assert_int_eq(try_call(ch1, 5000 * slowdown()), CGRPC_STATUS_OK); /* the two still work */
  ck_assert_int_eq(try_call(ch2, 5000 * slowdown()), CGRPC_STATUS_OK);

  /* The first closes: the third is accepted and its waiting call served. */
  cgrpc_time t0 = cgrpc_now();
  cgrpc_channel_free(ch1);
  ck_assert_int_eq(pending_wait(&p, 5000 * slowdown()), 1);
  ck_assert_int_eq(p.code, CGRPC_STATUS_OK);
  ck_assert_int_lt(ms_since(t0), 5000 * slowdown());
  ck_assert_int_eq(handled_now(), 7);
  cgrpc_call_free(p.call);
  /* Two open again (ch2, ch3): the fourth still waits... */
  ck_assert_int_eq(rawh2_ping(raw, NO_SERVICE_MS), -1);
  /* ...until the second closes. */
  cgrpc_channel_free(ch2);
  ck_assert_int_eq(rawh2_ping(raw, 5000 * slowdown()), 0);
  ck_assert_int_eq(try_call(ch3, 5000 * slowdown()), CGRPC_STATUS_OK);
  rawh2_free(raw);
  cgrpc_channel_free(ch3);
  server_down();
}
END_TEST

START_TEST(a_call_on_a_waiting_connection_ends_at_its_deadline)
{
  server_up(1);
  cgrpc_channel *ch1 = channel_to(port, NULL);
  cgrpc_channel *ch2 = channel_to(port, NULL);
  ck_assert_int_eq(try_call(ch1, 5000 * slowdown()), CGRPC_STATUS_OK);
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(try_call(ch2, 400), CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert_int_ge(ms_since(t0), 390);
  ck_assert_int_eq(handled_now(), 1);
  /* Room again: the same channel's next call is served. */
  cgrpc_channel_free(ch1);
  ck_assert_int_eq(try_call(ch2, 5000 * slowdown()), CGRPC_STATUS_OK);
  cgrpc_channel_free(ch2);
  server_down();
}
END_TEST

START_TEST(slots_come_back_however_connections_end)
{
  server_up(1);
  for (int i = 0; i < 12; i++) {
    rawh2 *c = rawh2_connect(port);
    ck_assert_ptr_nonnull(c);
    ck_assert_msg(rawh2_ping(c, 5000 * slowdown()) == 0, "round %d: not served", i);
    switch (i % 3) {
    case 0: /* the client closes */
      rawh2_free(c);
      break;
    case 1: /* the server closes it: DATA on stream 0 is a connection error */
      ck_assert_int_eq(rawh2_send_raw(c, "\0\0\0\0\0\0\0\0\0", 9), 0);
      ck_assert_int_eq(rawh2_wait_closed(c, 5000 * slowdown()), 1);
      rawh2_free(c);
      break;
    default: { /* a cgrpc client in between */
      rawh2_free(c);
      cgrpc_channel *ch = channel_to(port, NULL);
      ck_assert_int_eq(try_call(ch, 5000 * slowdown()), CGRPC_STATUS_OK);
      cgrpc_channel_free(ch);
      break;
    }
    }
  }
  /* Shutdown with one connection open and one waiting in the backlog. */
  rawh2 *open = rawh2_connect(port);
  ck_assert_int_eq(rawh2_ping(open, 5000 * slowdown()), 0);
  rawh2 *waiting = rawh2_connect(port);
  ck_assert_ptr_nonnull(waiting);
  cgrpc_time t0 = cgrpc_now();
  server_down();
  ck_assert_int_lt(ms_since(t0), 3000 * slowdown());
  ck_assert_int_eq(rawh2_wait_closed(open, 1000 * slowdown()), 1);
  ck_assert_int_eq(rawh2_wait_closed(waiting, 1000 * slowdown()), 1);
  rawh2_free(open);
  rawh2_free(waiting);
}
END_TEST

START_TEST(zero_means_no_limit)
{
  server_up(0);
  enum { N = 40 };
  rawh2 *c[N];
  for (int i = 0; i < N; i++) {
    c[i] = rawh2_connect(port);
    ck_assert_ptr_nonnull(c[i]);
  }
  for (int i = 0; i < N; i++)
    ck_assert_msg(rawh2_ping(c[i], 5000 * slowdown()) == 0, "connection %d not served", i);
  for (int i = 0; i < N; i++)
    rawh2_free(c[i]);
  server_down();
}
END_TEST

int main(void)
{
  Suite *s = suite_create("max_connections");
  TCase *tc = tcase_create("max_connections");
  tcase_set_timeout(tc, 30 * slowdown());
  tcase_add_test(tc, a_third_connection_waits_until_one_of_two_closes);
  tcase_add_test(tc, a_call_on_a_waiting_connection_ends_at_its_deadline);
  tcase_add_test(tc, slots_come_back_however_connections_end);
  tcase_add_test(tc, zero_means_no_limit);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
