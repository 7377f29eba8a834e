/* How our client takes bad answers: every HTTP/2 and gRPC mistake a server can make
 * becomes a clear status for that call, and the channel goes on working. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.cgrpc.h"
#include "fakeserver.h"

static fakeserver *fake;
static cgrpc_channel *channel;

static void setup(void)
{
  fake = fakeserver_start();
  ck_assert_ptr_nonnull(fake);
  char target[32];
  snprintf(target, sizeof target, "127.0.0.1:%d", fakeserver_port(fake));
  ck_assert_int_eq(cgrpc_channel_new(&channel, target, NULL), 0);
}

static void teardown(void)
{
  cgrpc_channel_free(channel);
  fakeserver_stop(fake);
}

/* Calls /fake/<what> and returns the code; the status is left in *st. */
static cgrpc_code call_fake(const char *what, cgrpc_status *st)
{
  char path[64];
  snprintf(path, sizeof path, "/fake/%s", what);
  cgrpc_method_desc m = e2e__echo__cgrpc_service.methods[E2E__ECHO__METHOD_ECHO];
  m.path = path;
  m.policy = NULL;
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  cgrpc_call_options_set_timeout_ms(o, 10000);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  ProtobufCMessage *reply = NULL;
  cgrpc_code code = cgrpc_unary_call(channel, &m, &req.base, &reply, o, st);
  cgrpc_call_options_free(o);
  if (reply != NULL)
    protobuf_c_message_free_unpacked(reply, NULL);
  ck_assert_msg(code == CGRPC_STATUS_OK || reply == NULL, "%s: a response with a failure", what);
  return code;
}

/* The bad answer gives `want`; the channel still works afterwards. */
static void expect(const char *what, cgrpc_code want)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code got = call_fake(what, &st);
  ck_assert_msg(got == want, "%s: got %s (%s), want %s", what, cgrpc_code_name(got), st.message,
                cgrpc_code_name(want));
  ck_assert_ptr_nonnull(st.message);
  ck_assert_int_eq(call_fake("ok", &st), CGRPC_STATUS_OK);
  cgrpc_status_clear(&st);
}

START_TEST(a_proper_answer_is_ok)
{
  expect("ok", CGRPC_STATUS_OK);
}
END_TEST

START_TEST(http_status_without_grpc_status_maps_per_the_spec)
{
  expect("http-400", CGRPC_STATUS_INTERNAL);
  expect("http-401", CGRPC_STATUS_UNAUTHENTICATED);
  expect("http-403", CGRPC_STATUS_PERMISSION_DENIED);
  expect("http-404", CGRPC_STATUS_UNIMPLEMENTED);
  expect("http-429", CGRPC_STATUS_UNAVAILABLE);
  expect("http-502", CGRPC_STATUS_UNAVAILABLE);
  expect("http-503", CGRPC_STATUS_UNAVAILABLE);
  expect("http-504", CGRPC_STATUS_UNAVAILABLE);
  expect("http-500", CGRPC_STATUS_UNKNOWN);
  expect("http-418", CGRPC_STATUS_UNKNOWN);
}
END_TEST

START_TEST(rst_stream_codes_map_per_the_spec)
{
  expect("rst-cancel", CGRPC_STATUS_CANCELLED);
  /* A refused stream never reached the application: gRPC sends it again (transparent
   * retry, whatever the policy -- these calls have none), once, as A6 says.  (expect()
   * makes one more call, "ok", after each.) */
  int before = fakeserver_requests();
  expect("rst-refused", CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(fakeserver_requests() - before, 2 + 1);
  before = fakeserver_requests();
  expect("refused-once", CGRPC_STATUS_OK);
  ck_assert_int_eq(fakeserver_requests() - before, 2 + 1);
  /* Streams above a GOAWAY's last stream id were not processed either: sent again, on
   * a new connection. */
  before = fakeserver_requests();
  expect("goaway-once", CGRPC_STATUS_OK);
  ck_assert_int_eq(fakeserver_requests() - before, 2 + 1);
  before = fakeserver_requests();
  expect("rst-internal", CGRPC_STATUS_INTERNAL);
  ck_assert_int_eq(fakeserver_requests() - before, 1 + 1);
  expect("rst-calm", CGRPC_STATUS_RESOURCE_EXHAUSTED);
  expect("rst-security", CGRPC_STATUS_PERMISSION_DENIED);
  expect("rst-internal", CGRPC_STATUS_INTERNAL);
}
END_TEST

START_TEST(broken_grpc_answers_are_internal_or_unknown)
{
  expect("no-trailers", CGRPC_STATUS_INTERNAL);
  expect("html", CGRPC_STATUS_UNKNOWN);
  expect("two-messages", CGRPC_STATUS_INTERNAL);
  expect("bad-bin", CGRPC_STATUS_INTERNAL);
  expect("truncated", CGRPC_STATUS_INTERNAL);
  expect("bad-flag", CGRPC_STATUS_INTERNAL);
  expect("split-junk", CGRPC_STATUS_INTERNAL);
  expect("unknown-code", CGRPC_STATUS_UNKNOWN);
}
END_TEST

START_TEST(an_announced_message_over_the_limit_is_refused_before_it_arrives)
{
  expect("huge-prefix", CGRPC_STATUS_RESOURCE_EXHAUSTED);
}
END_TEST

/* A hostile server: each answer fails the call with a clear status, long before its 10 s
 * deadline (which would be DEADLINE_EXCEEDED), and the channel goes on working (expect's
 * next call). */
START_TEST(a_hostile_servers_answers_end_the_call_with_a_clear_status)
{
  /* Trailing metadata of 100 KiB, over the 64 KiB the client announced it takes: in 25
   * fields, the call fails; in one field (more than nghttp2 decodes at all), the connection. */
  expect("huge-trailers", CGRPC_STATUS_RESOURCE_EXHAUSTED);
  expect("huge-trailer-field", CGRPC_STATUS_UNAVAILABLE);
  /* 5 KiB of gzip inflating to 5 MiB, over the 4 MiB limit. */
  expect("gzip-bomb", CGRPC_STATUS_RESOURCE_EXHAUSTED);
  /* Empty messages forever on a unary call: the second one is the error. */
  expect("endless-data", CGRPC_STATUS_INTERNAL);
  /* Half a message, then RST_STREAM INTERNAL_ERROR. */
  expect("rst-mid-message", CGRPC_STATUS_INTERNAL);
  /* A header block that does not decode: the connection is gone (COMPRESSION_ERROR). */
  expect("bad-hpack", CGRPC_STATUS_UNAVAILABLE);
  /* GOAWAY on every request, stream after stream: sent again once, then UNAVAILABLE. */
  expect("goaway", CGRPC_STATUS_UNAVAILABLE);
}
END_TEST

/* A listening socket on 127.0.0.1 and a port the kernel picks (receive buffer rcvbuf, unless
 * 0); its target ("127.0.0.1:port") in target. */
static int listen_local(int rcvbuf, char *target, size_t target_len)
{
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0)
    setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(lfd, 4), 0);
  ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
  snprintf(target, target_len, "127.0.0.1:%d", ntohs(sa.sin_port));
  return lfd;
}

/* A peer that accepts the connection and never says anything, not even SETTINGS: the call
 * ends at its deadline. */
START_TEST(a_server_that_never_sends_settings_ends_the_call_at_its_deadline)
{
  char target[32];
  int lfd = listen_local(0, target, sizeof target); /* the kernel accepts; nobody answers */
  cgrpc_channel *ch;
  ck_assert_int_eq(cgrpc_channel_new(&ch, target, NULL), 0);
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  cgrpc_call_options_set_timeout_ms(o, 500);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  ProtobufCMessage *reply = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_time t0 = cgrpc_now();
  cgrpc_code code = cgrpc_unary_call(ch, &e2e__echo__cgrpc_service.methods[E2E__ECHO__METHOD_ECHO],
                                     &req.base, &reply, o, &st);
  int64_t took_ms = (cgrpc_now() - t0) / 1000000;
  ck_assert_msg(code == CGRPC_STATUS_DEADLINE_EXCEEDED, "%s: %s", cgrpc_code_name(code),
                st.message);
  ck_assert_ptr_null(reply);
  ck_assert_int_ge(took_ms, 450);
  ck_assert_int_lt(took_ms, 3000);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
  close(lfd);
}
END_TEST

START_TEST(trailers_only_carries_code_message_and_trailing_metadata)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(call_fake("status-5", &st), CGRPC_STATUS_NOT_FOUND);
  ck_assert_str_eq(st.message, "fake says no");
  ck_assert_str_eq(cgrpc_metadata_get(st.trailing_metadata, "x-t"), "trailer");
  ck_assert_uint_eq(cgrpc_metadata_count(st.initial_metadata), 0);
  cgrpc_status_clear(&st);
}
END_TEST

START_TEST(garbage_from_the_server_is_unavailable_and_the_channel_reconnects)
{
  expect("garbage", CGRPC_STATUS_UNAVAILABLE);
}
END_TEST

/* Calls fake path `what` with a retry policy on UNAVAILABLE of up to 3 attempts. */
static cgrpc_code call_fake_retried(const char *what)
{
  char path[64];
  snprintf(path, sizeof path, "/fake/%s", what);
  cgrpc_method_desc m = e2e__echo__cgrpc_service.methods[E2E__ECHO__METHOD_ECHO];
  m.path = path;
  m.policy = NULL;
  cgrpc_retry_policy p = {.max_attempts = 3,
                          .initial_backoff_ms = 10,
                          .max_backoff_ms = 10,
                          .backoff_multiplier = 1,
                          .retryable_codes = 1u << CGRPC_STATUS_UNAVAILABLE};
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  cgrpc_call_options_set_timeout_ms(o, 10000);
  cgrpc_call_options_set_retry_policy(o, &p);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  ProtobufCMessage *reply = NULL;
  cgrpc_code code = cgrpc_unary_call(channel, &m, &req.base, &reply, o, NULL);
  cgrpc_call_options_free(o);
  if (reply != NULL)
    protobuf_c_message_free_unpacked(reply, NULL);
  return code;
}

START_TEST(a_retry_policy_rides_through_a_dropped_connection)
{
  /* Without a policy the call in flight when the connection dies fails... */
  expect("drop", CGRPC_STATUS_UNAVAILABLE);
  /* ...with one, it goes again on a new connection. */
  int before = fakeserver_requests();
  ck_assert_int_eq(call_fake_retried("drop-once"), CGRPC_STATUS_OK);
  ck_assert_int_eq(fakeserver_requests() - before, 2);
  before = fakeserver_requests();
  ck_assert_int_eq(call_fake_retried("drop"), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(fakeserver_requests() - before, 3);
}
END_TEST

/* A peer that grants huge windows, then reads nothing for a second. */
static void *stalling_peer(void *arg)
{
  int lfd = *(int *)arg;
  int fd = accept(lfd, NULL, NULL);
  /* SETTINGS(INITIAL_WINDOW_SIZE = 2^31-1), WINDOW_UPDATE(connection, +2^31-65536) */
  static const uint8_t hello[] = {0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff,
                                  0, 0, 4, 8, 0, 0, 0, 0, 0, 0x7f, 0xff, 0x00, 0x00};
  if (write(fd, hello, sizeof hello) != (ssize_t)sizeof hello)
    abort();
  sleep(1);
  uint8_t buf[65536];
  while (read(fd, buf, sizeof buf) > 0)
    ;
  close(fd);
  return NULL;
}

START_TEST(a_call_that_ends_while_its_request_is_still_being_sent_is_let_go_safely)
{
  /* The request is stuck in a full socket when the deadline ends the call;
   * the bytes nghttp2 still holds must not point into a freed call (valgrind
   * and ASan runs see it if they do). */
  char target[32];
  int lfd = listen_local(4096, target, sizeof target);
  pthread_t peer;
  pthread_create(&peer, NULL, stalling_peer, &lfd);

  cgrpc_channel *ch;
  ck_assert_int_eq(cgrpc_channel_new(&ch, target, NULL), 0);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.payload.len = 16 << 20;
  req.payload.data = calloc(1, req.payload.len);
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  cgrpc_call_options_set_timeout_ms(o, 200);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(e2e__echo_client__echo(ch, &req, NULL, o, &st), CGRPC_STATUS_DEADLINE_EXCEEDED);
  free(req.payload.data);
  cgrpc_call_options_free(o);
  cgrpc_status_clear(&st);
  sleep(2); /* the peer reads again: what nghttp2 held goes out, or is dropped */
  cgrpc_channel_free(ch);
  pthread_join(peer, NULL);
  close(lfd);
}
END_TEST

static Suite *client_errors_suite(void)
{
  Suite *s = suite_create("client_errors");
  TCase *tc = tcase_create("bad answers");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_proper_answer_is_ok);
  tcase_add_test(tc, http_status_without_grpc_status_maps_per_the_spec);
  tcase_add_test(tc, rst_stream_codes_map_per_the_spec);
  tcase_add_test(tc, broken_grpc_answers_are_internal_or_unknown);
  tcase_add_test(tc, an_announced_message_over_the_limit_is_refused_before_it_arrives);
  tcase_add_test(tc, a_hostile_servers_answers_end_the_call_with_a_clear_status);
  tcase_add_test(tc, a_server_that_never_sends_settings_ends_the_call_at_its_deadline);
  tcase_add_test(tc, trailers_only_carries_code_message_and_trailing_metadata);
  tcase_add_test(tc, garbage_from_the_server_is_unavailable_and_the_channel_reconnects);
  tcase_add_test(tc, a_retry_policy_rides_through_a_dropped_connection);
  tcase_add_test(tc, a_call_that_ends_while_its_request_is_still_being_sent_is_let_go_safely);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  SRunner *sr = srunner_create(client_errors_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
