/* End to end: our client against our server, each test with the server in its own process. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.cgrpc.h"
#include "harness.h"
#include "rawh2.h"

/* ---- the server process ----------------------------------------------------------- */


static server_proc srv; /* the suite's shared server */





static void suite_setup(void)
{
  server_start(&srv, NULL);
}

static void suite_teardown(void)
{
  int rv = server_stop(&srv);
  if (rv != 0) {
    fprintf(stderr, "e2e_server exited with %d\n", rv);
    abort();
  }
}

/* ---- helpers --------------------------------------------------------------------- */



static cgrpc_code echo_call(cgrpc_channel *ch, const E2e__EchoRequest *req, E2e__EchoReply **reply,
                            const cgrpc_call_options *opts, cgrpc_status *st)
{
  return e2e__echo_client__echo(ch, req, reply, opts, st);
}





static void on_echo_done(cgrpc_status *status, E2e__EchoReply *reply, void *ud)
{
  waiter *w = ud;
  if (reply != NULL)
    e2e__echo_reply__free_unpacked(reply, NULL);
  waiter_done(w, status->code);
}


/* ---- calls that work ------------------------------------------------------------------ */

START_TEST(unary_call_echoes_payload_and_reports_peer_and_authority)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.payload.data = (uint8_t *)"hello";
  req.payload.len = 5;
  E2e__EchoReply *reply = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(echo_call(ch, &req, &reply, NULL, &st), CGRPC_STATUS_OK);
  ck_assert_str_eq(st.message, "");
  ck_assert_ptr_nonnull(reply);
  ck_assert_uint_eq(reply->payload.len, 5);
  ck_assert_mem_eq(reply->payload.data, "hello", 5);
  ck_assert_int_eq(reply->remaining_ms, -1); /* no deadline was set */
  ck_assert_msg(strncmp(reply->peer, "ipv4:127.0.0.1:", 15) == 0, "peer %s", reply->peer);
  char authority[32];
  snprintf(authority, sizeof authority, "127.0.0.1:%d", srv.port);
  ck_assert_str_eq(reply->authority, authority);
  e2e__echo_reply__free_unpacked(reply, NULL);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(megabyte_messages_cross_both_ways_intact)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  size_t n = 1024 * 1024 + 7;
  uint8_t *big = malloc(n);
  for (size_t i = 0; i < n; i++)
    big[i] = (uint8_t)(i * 31 + 5);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.payload.data = big;
  req.payload.len = n;
  E2e__EchoReply *reply = NULL;
  ck_assert_int_eq(echo_call(ch, &req, &reply, NULL, NULL), CGRPC_STATUS_OK);
  ck_assert_uint_eq(reply->payload.len, n);
  ck_assert_int_eq(memcmp(reply->payload.data, big, n), 0);
  e2e__echo_reply__free_unpacked(reply, NULL);

  req.payload.len = 0;
  req.response_size = 3 * 1024 * 1024;
  ck_assert_int_eq(echo_call(ch, &req, &reply, NULL, NULL), CGRPC_STATUS_OK);
  ck_assert_uint_eq(reply->payload.len, 3 * 1024 * 1024);
  for (size_t i = 0; i < reply->payload.len; i++)
    if (reply->payload.data[i] != (uint8_t)(i * 7))
      ck_abort_msg("response byte %zu differs", i);
  e2e__echo_reply__free_unpacked(reply, NULL);
  free(big);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(metadata_travels_both_ways_ascii_and_binary)
{
  static const uint8_t bin[] = {0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, '=', '\n'};
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "x-echo-a", "plain value", 11), 0);
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "x-echo-b-bin", bin, sizeof bin), 0);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.echo_metadata = 1;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, o, &st), CGRPC_STATUS_OK);

  const cgrpc_metadata_entry *e = cgrpc_metadata_find(st.initial_metadata, "x-echo-a");
  ck_assert_ptr_nonnull(e);
  ck_assert_str_eq((const char *)e->value, "plain value");
  e = cgrpc_metadata_find(st.initial_metadata, "x-echo-b-bin");
  ck_assert_ptr_nonnull(e);
  ck_assert_uint_eq(e->value_len, sizeof bin);
  ck_assert_mem_eq(e->value, bin, sizeof bin);
  ck_assert_str_eq(cgrpc_metadata_get(st.trailing_metadata, "x-echo-a-t"), "plain value");
  e = cgrpc_metadata_find(st.trailing_metadata, "x-echo-b-t-bin");
  ck_assert_ptr_nonnull(e);
  ck_assert_mem_eq(e->value, bin, sizeof bin);
  /* The server interceptor ran and added its own trailer. */
  ck_assert_str_eq(cgrpc_metadata_get(st.trailing_metadata, "x-intercepted"), "yes");
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

/* A status message far larger than a header block may be arrives cut (whole characters, at
 * most 8 KiB encoded), with its code -- not a call that never ends. */
START_TEST(a_huge_status_message_arrives_cut_with_its_code)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  size_t n = 100000;
  char *msg = malloc(n + 1);
  for (size_t i = 0; i < n; i += 2)
    memcpy(msg + i, "\xc3\xa9", 2); /* e-acute: 6 bytes each, encoded */
  msg[n] = '\0';
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.status_code = CGRPC_STATUS_FAILED_PRECONDITION;
  req.status_message = msg;
  cgrpc_call_options *o = timeout_opts(5000L * slowdown());
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, o, &st), CGRPC_STATUS_FAILED_PRECONDITION);
  size_t got = strlen(st.message);
  ck_assert_msg(got > 2000 && got <= 8192 / 3 && got % 2 == 0, "message of %zu bytes", got);
  ck_assert_int_eq(memcmp(st.message, msg, got), 0);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  free(msg);
  cgrpc_channel_free(ch);
}
END_TEST

/* Metadata the handler adds beyond what the client takes (it advertises 64 KiB): the call ends
 * INTERNAL, saying so, within its deadline (it used to hang: nghttp2 would not send the
 * block, and nothing ended the stream). */
START_TEST(response_metadata_too_large_ends_the_call_internal)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  cgrpc_call_options *o = timeout_opts(5000L * slowdown());
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.trailer_bytes = 80 * 1024;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, o, &st), CGRPC_STATUS_INTERNAL);
  ck_assert_msg(strstr(st.message, "response metadata too large") != NULL, "%s", st.message);
  ck_assert_uint_eq(cgrpc_metadata_count(st.trailing_metadata), 0);
  cgrpc_status_clear(&st);
  /* Within the limit, in a Trailers-Only answer too, it all arrives. */
  req.trailer_bytes = 40 * 1024;
  req.status_code = CGRPC_STATUS_NOT_FOUND;
  ck_assert_int_eq(echo_call(ch, &req, NULL, o, &st), CGRPC_STATUS_NOT_FOUND);
  ck_assert_uint_eq(cgrpc_metadata_find(st.trailing_metadata, "x-big-4")->value_len, 8192);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

/* Request metadata beyond what a header block may hold fails the call INTERNAL, at once and
 * saying why (it used to be UNAVAILABLE, "refused by the server", which never saw it). */
START_TEST(request_metadata_too_large_fails_internal_not_refused)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  size_t n = 70000;
  char *big = malloc(n);
  memset(big, 'v', n);
  cgrpc_call_options *o = timeout_opts(5000L * slowdown());
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "x-big", big, n), 0);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, o, &st), CGRPC_STATUS_INTERNAL);
  ck_assert_ptr_nonnull(strstr(st.message, "request metadata too large"));
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  free(big);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(reserved_and_malformed_metadata_is_refused_locally)
{
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "grpc-status", "0", 1), CGRPC_ERR_RESERVED_KEY);
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, ":path", "/x", 2), CGRPC_ERR_RESERVED_KEY);
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "content-type", "x", 1), CGRPC_ERR_RESERVED_KEY);
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "X-Upper", "x", 1), CGRPC_ERR_BAD_KEY);
  ck_assert_int_eq(cgrpc_call_options_add_metadata(o, "x-nl", "a\nb", 3), CGRPC_ERR_BAD_VALUE);
  ck_assert_uint_eq(cgrpc_metadata_count(cgrpc_call_options_metadata(o)), 0);
  cgrpc_call_options_free(o);
}
END_TEST

START_TEST(every_status_code_and_message_reaches_the_client)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  for (int code = 1; code < CGRPC_STATUS_CODE_COUNT; code++) {
    char msg[128];
    snprintf(msg, sizeof msg, "code %d: 100%% \t\r\n ☺ 😈 %%41 done", code);
    E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
    req.status_code = code;
    req.status_message = msg;
    E2e__EchoReply dummy;
    E2e__EchoReply *reply = &dummy; /* must come back NULL */
    cgrpc_status st = CGRPC_STATUS_INIT;
    ck_assert_int_eq(echo_call(ch, &req, &reply, NULL, &st), code);
    ck_assert_int_eq(st.code, code);
    ck_assert_str_eq(st.message, msg);
    ck_assert_ptr_null(reply);
    cgrpc_status_clear(&st);
  }
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(typed_async_call_completes_through_its_callback)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  waiter w;
  waiter_init(&w, 3);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  for (int i = 0; i < 3; i++) {
    req.status_code = i; /* OK, CANCELLED, UNKNOWN */
    ck_assert_int_eq(e2e__echo_client__echo_async(ch, &req, NULL, on_echo_done, &w, NULL), 0);
  }
  waiter_wait(&w);
  int seen[3] = {0, 0, 0};
  for (int i = 0; i < 3; i++)
    seen[w.codes[i]]++;
  ck_assert_int_eq(seen[0] + seen[1] + seen[2], 3);
  ck_assert_int_eq(seen[0], 1);
  ck_assert_int_eq(seen[1], 1);
  ck_assert_int_eq(seen[2], 1);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(unix_socket_target_works)
{
  char target[80];
  snprintf(target, sizeof target, "unix:%s", srv.unix_path);
  cgrpc_channel *ch;
  ck_assert_int_eq(cgrpc_channel_new(&ch, target, NULL), 0);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  E2e__EchoReply *reply = NULL;
  ck_assert_int_eq(echo_call(ch, &req, &reply, NULL, NULL), CGRPC_STATUS_OK);
  ck_assert_msg(strncmp(reply->peer, "unix:", 5) == 0, "peer %s", reply->peer);
  e2e__echo_reply__free_unpacked(reply, NULL);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(sequential_calls_share_one_connection)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  char first_peer[64] = "";
  for (int i = 0; i < 300; i++) {
    E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
    E2e__EchoReply *reply = NULL;
    ck_assert_int_eq(echo_call(ch, &req, &reply, NULL, NULL), CGRPC_STATUS_OK);
    if (i == 0)
      snprintf(first_peer, sizeof first_peer, "%s", reply->peer);
    else
      ck_assert_str_eq(reply->peer, first_peer);
    e2e__echo_reply__free_unpacked(reply, NULL);
  }
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(server_runs_handlers_concurrently)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  enum { N = 8, SLEEP = 300 };
  waiter w;
  waiter_init(&w, N);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.sleep_ms = SLEEP;
  cgrpc_time t0 = cgrpc_now();
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(e2e__echo_client__echo_async(ch, &req, NULL, on_echo_done, &w, NULL), 0);
  waiter_wait(&w);
  int64_t took = ms_since(t0);
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(w.codes[i], CGRPC_STATUS_OK);
  /* One at a time would take N * SLEEP = 2400 ms. */
  ck_assert_int_ge(took, SLEEP);
  ck_assert_msg(took < N * SLEEP / 2 * slowdown(), "took %lld ms", (long long)took);
  cgrpc_channel_free(ch);
}
END_TEST

/* ---- deadlines and cancellation --------------------------------------------------------- */

START_TEST(client_deadline_ends_a_slow_call)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  cgrpc_call_options *o = timeout_opts(100);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.sleep_ms = 3000;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(echo_call(ch, &req, NULL, o, &st), CGRPC_STATUS_DEADLINE_EXCEEDED);
  int64_t took = ms_since(t0);
  ck_assert_int_ge(took, 95);
  ck_assert_msg(took < 1500 * slowdown(), "took %lld ms", (long long)took);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(handler_sees_the_time_left)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  cgrpc_call_options *o = timeout_opts(5000);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  E2e__EchoReply *reply = NULL;
  ck_assert_int_eq(echo_call(ch, &req, &reply, o, NULL), CGRPC_STATUS_OK);
  ck_assert_int_le(reply->remaining_ms, 5000);
  ck_assert_int_gt(reply->remaining_ms, 5000 - 1000 * slowdown());
  e2e__echo_reply__free_unpacked(reply, NULL);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(timeout_baked_into_the_proto_applies_and_call_options_override_it)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.sleep_ms = 2000;
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(e2e__echo_client__quick(ch, &req, NULL, NULL, NULL), CGRPC_STATUS_DEADLINE_EXCEEDED);
  int64_t took = ms_since(t0);
  ck_assert_int_ge(took, 190); /* (cgrpc.method).timeout = "200ms" */
  ck_assert_msg(took < 1500 * slowdown(), "took %lld ms", (long long)took);

  cgrpc_call_options *o = timeout_opts(5000);
  req.sleep_ms = 400;
  E2e__EchoReply *reply = NULL;
  ck_assert_int_eq(e2e__echo_client__quick(ch, &req, &reply, o, NULL), CGRPC_STATUS_OK);
  ck_assert_int_gt(reply->remaining_ms, 400);
  e2e__echo_reply__free_unpacked(reply, NULL);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

static int stats_cancelled(cgrpc_channel *ch)
{
  E2e__StatsRequest req = E2E__STATS_REQUEST__INIT;
  E2e__StatsReply *reply = NULL;
  ck_assert_int_eq(e2e__echo_client__stats(ch, &req, &reply, NULL, NULL), CGRPC_STATUS_OK);
  int n = reply->cancelled;
  e2e__stats_reply__free_unpacked(reply, NULL);
  return n;
}

START_TEST(cancel_ends_the_call_and_the_server_sees_it)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  int before = stats_cancelled(ch);
  waiter w;
  waiter_init(&w, 1);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.sleep_ms = 5000;
  cgrpc_call *call = NULL;
  ck_assert_int_eq(e2e__echo_client__echo_async(ch, &req, NULL, on_echo_done, &w, &call), 0);
  sleep_ms(200);
  cgrpc_time t0 = cgrpc_now();
  cgrpc_call_cancel(call);
  waiter_wait(&w);
  ck_assert_int_eq(w.codes[0], CGRPC_STATUS_CANCELLED);
  ck_assert_msg((w.done_at - t0) / 1000000 < 500 * slowdown(), "cancel took too long");
  cgrpc_call_cancel(call); /* after the end: no effect */
  cgrpc_call_free(call);
  /* The handler polls is_cancelled every 5 ms. */
  int after = before;
  for (int i = 0; i < 200 * slowdown() && after == before; i++) {
    sleep_ms(10);
    after = stats_cancelled(ch);
  }
  ck_assert_int_eq(after, before + 1);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(server_enforces_grpc_timeout_itself)
{
  rawh2 *c = rawh2_connect(srv.port);
  ck_assert_ptr_nonnull(c);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.sleep_ms = 5000;
  uint8_t body[64];
  size_t n = e2e__echo_request__pack(&req, body + 5);
  body[0] = 0;
  body[1] = body[2] = body[3] = 0;
  body[4] = (uint8_t)n;
  const char *hdrs[] = {":method", "POST", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                        ":authority", "x", "content-type", "application/grpc", "te", "trailers",
                        "grpc-timeout", "150m", NULL};
  rawh2_result res;
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(rawh2_request(c, hdrs, body, n + 5, &res, 5000 * slowdown()), 0);
  int64_t took = ms_since(t0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert_int_ge(took, 140);
  ck_assert_msg(took < 2000 * slowdown(), "took %lld ms", (long long)took);
  rawh2_free(c);
}
END_TEST

/* ---- limits and errors --------------------------------------------------------------------- */

START_TEST(unimplemented_methods_answer_unimplemented)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(e2e__echo_client__missing(ch, &req, NULL, NULL, &st), CGRPC_STATUS_UNIMPLEMENTED);
  ck_assert_ptr_nonnull(strstr(st.message, "/e2e.Echo/Missing"));

  /* A method the server never registered. */
  cgrpc_method_desc nope = e2e__echo__cgrpc_service.methods[E2E__ECHO__METHOD_ECHO];
  nope.path = "/e2e.Nowhere/Nothing";
  ProtobufCMessage *reply = NULL;
  ck_assert_int_eq(cgrpc_unary_call(ch, &nope, &req.base, &reply, NULL, &st), CGRPC_STATUS_UNIMPLEMENTED);
  ck_assert_ptr_null(reply);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(oversized_request_is_resource_exhausted_and_the_connection_lives_on)
{
  static const char *const extra[] = {"--max-recv", "1024", NULL};
  server_proc small;
  server_start(&small, extra);
  cgrpc_channel *ch = channel_to(small.port, NULL);
  uint8_t big[2000] = {0};
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.payload.data = big;
  req.payload.len = sizeof big;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, &st), CGRPC_STATUS_RESOURCE_EXHAUSTED);
  ck_assert_ptr_nonnull(strstr(st.message, "larger than max"));
  req.payload.len = 100;
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, &st), CGRPC_STATUS_OK);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
  ck_assert_int_eq(server_stop(&small), 0);
}
END_TEST

START_TEST(oversized_response_is_resource_exhausted_on_the_client)
{
  cgrpc_channel_options *opts;
  cgrpc_channel_options_new(&opts);
  cgrpc_channel_options_set_max_recv_message_size(opts, 1000);
  cgrpc_channel *ch = channel_to(srv.port, opts);
  cgrpc_channel_options_free(opts);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.response_size = 5000;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, &st), CGRPC_STATUS_RESOURCE_EXHAUSTED);
  req.response_size = 10;
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, &st), CGRPC_STATUS_OK);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(nobody_listening_is_unavailable)
{
  server_proc gone;
  server_start(&gone, NULL);
  int port = gone.port;
  ck_assert_int_eq(server_stop(&gone), 0);
  cgrpc_channel *ch = channel_to(port, NULL);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, &st), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_msg(ms_since(t0) < 1000 * slowdown(), "took too long");
  ck_assert_ptr_nonnull(strstr(st.message, "connect"));
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
}
END_TEST

/* ---- interceptors ----------------------------------------------------------------------- */

typedef struct counts {
  int started;
  int finished;
  int last_code;
} counts;

static void count_done(cgrpc_client_ctx *ctx, void *ud)
{
  counts *c = ud;
  c->finished++;
  c->last_code = cgrpc_client_ctx_status(ctx)->code;
  cgrpc_client_ctx_finish(ctx);
}

/* Counts calls, and sends x-reject when the request asks for status 9. */
static void counting_interceptor(cgrpc_client_ctx *ctx, void *ud)
{
  counts *c = ud;
  c->started++;
  const ProtobufCMessage *msg = cgrpc_client_ctx_request(ctx);
  const E2e__EchoRequest *req = msg != NULL && msg->descriptor == &e2e__echo_request__descriptor
                                    ? (const E2e__EchoRequest *)msg
                                    : NULL;
  if (req != NULL && req->status_code == 9)
    cgrpc_metadata_add_str(cgrpc_client_ctx_metadata(ctx), "x-reject", "1");
  cgrpc_client_ctx_proceed(ctx, count_done, c);
}

/* Ends calls to Stats without sending them. */
static void blocking_interceptor(cgrpc_client_ctx *ctx, void *ud)
{
  (void)ud;
  if (strcmp(cgrpc_client_ctx_method(ctx)->name, "Stats") == 0) {
    cgrpc_client_ctx_fail(ctx, CGRPC_STATUS_UNAUTHENTICATED, "blocked locally");
    cgrpc_client_ctx_finish(ctx);
    return;
  }
  cgrpc_client_ctx_proceed(ctx, NULL, NULL);
}

START_TEST(client_interceptors_see_change_and_end_calls)
{
  counts c = {0, 0, -1};
  cgrpc_channel_options *opts;
  cgrpc_channel_options_new(&opts);
  cgrpc_channel_options_add_interceptor(opts, counting_interceptor, &c);
  cgrpc_channel_options_add_interceptor(opts, blocking_interceptor, NULL);
  cgrpc_channel *ch = channel_to(srv.port, opts);
  cgrpc_channel_options_free(opts);

  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, NULL), CGRPC_STATUS_OK);
  ck_assert_int_eq(c.started, 1);
  ck_assert_int_eq(c.finished, 1);
  ck_assert_int_eq(c.last_code, CGRPC_STATUS_OK);

  /* The added metadata makes the server's interceptor refuse the call. */
  req.status_code = 9;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, &st), CGRPC_STATUS_PERMISSION_DENIED);
  ck_assert_str_eq(st.message, "rejected by interceptor");
  ck_assert_int_eq(c.last_code, CGRPC_STATUS_PERMISSION_DENIED);

  /* The inner interceptor ends Stats calls itself; the outer one sees it. */
  E2e__StatsRequest sreq = E2E__STATS_REQUEST__INIT;
  ck_assert_int_eq(e2e__echo_client__stats(ch, &sreq, NULL, NULL, &st), CGRPC_STATUS_UNAUTHENTICATED);
  ck_assert_str_eq(st.message, "blocked locally");
  ck_assert_int_eq(c.finished, 3);
  ck_assert_int_eq(c.last_code, CGRPC_STATUS_UNAUTHENTICATED);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
}
END_TEST

/* ---- hostile peers ------------------------------------------------------------------------ */

static size_t frame_msg(uint8_t *out, uint8_t flag, uint32_t declared, const void *body, size_t n)
{
  out[0] = flag;
  out[1] = (uint8_t)(declared >> 24);
  out[2] = (uint8_t)(declared >> 16);
  out[3] = (uint8_t)(declared >> 8);
  out[4] = (uint8_t)declared;
  memcpy(out + 5, body, n);
  return n + 5;
}

START_TEST(malformed_requests_fail_alone_and_the_connection_keeps_working)
{
  rawh2 *c = rawh2_connect(srv.port);
  ck_assert_ptr_nonnull(c);
  const char *good[] = {":method", "POST", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                        ":authority", "x", "content-type", "application/grpc", "te", "trailers",
                        NULL};
  uint8_t buf[256];
  rawh2_result res;
  int tmo = 5000 * slowdown();
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  uint8_t valid[32];
  size_t vn = e2e__echo_request__pack(&req, valid);

  /* Compressed-flag value 2 is not a thing. */
  size_t n = frame_msg(buf, 2, (uint32_t)vn, valid, vn);
  ck_assert_int_eq(rawh2_request(c, good, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_INTERNAL);

  /* Bytes that are no EchoRequest. */
  static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  n = frame_msg(buf, 0, sizeof junk, junk, sizeof junk);
  ck_assert_int_eq(rawh2_request(c, good, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_INTERNAL);
  ck_assert_ptr_nonnull(strstr(res.grpc_message, "parse"));

  /* A message cut short by END_STREAM. */
  n = frame_msg(buf, 0, 100, valid, vn);
  ck_assert_int_eq(rawh2_request(c, good, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_INTERNAL);

  /* A length prefix far over the limit. */
  n = frame_msg(buf, 0, 0x7fffffff, valid, vn);
  ck_assert_int_eq(rawh2_request(c, good, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_RESOURCE_EXHAUSTED);

  /* Two messages for a unary method. */
  n = frame_msg(buf, 0, (uint32_t)vn, valid, vn);
  n += frame_msg(buf + n, 0, (uint32_t)vn, valid, vn);
  ck_assert_int_eq(rawh2_request(c, good, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_INTERNAL);

  /* No message at all. */
  ck_assert_int_eq(rawh2_request(c, good, NULL, 0, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_INTERNAL);

  /* Not gRPC: the wrong content-type is HTTP 415. */
  const char *html[] = {":method", "POST", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                        ":authority", "x", "content-type", "text/html", NULL};
  n = frame_msg(buf, 0, (uint32_t)vn, valid, vn);
  ck_assert_int_eq(rawh2_request(c, html, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.http_status, 415);

  /* No content-type at all is not gRPC either. */
  const char *noct[] = {":method", "POST", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                        ":authority", "x", NULL};
  ck_assert_int_eq(rawh2_request(c, noct, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.http_status, 415);

  /* GET is not gRPC either. */
  const char *get[] = {":method", "GET", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                       ":authority", "x", "content-type", "application/grpc", NULL};
  ck_assert_int_eq(rawh2_request(c, get, NULL, 0, &res, tmo), 0);
  ck_assert_int_eq(res.http_status, 405);

  /* A grpc-timeout that is not one. */
  const char *badtmo[] = {":method", "POST", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                          ":authority", "x", "content-type", "application/grpc",
                          "grpc-timeout", "123456789S", NULL};
  ck_assert_int_eq(rawh2_request(c, badtmo, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_INTERNAL);
  ck_assert_ptr_nonnull(strstr(res.grpc_message, "grpc-timeout"));

  /* Binary metadata that is not base64. */
  const char *badbin[] = {":method", "POST", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                          ":authority", "x", "content-type", "application/grpc",
                          "x-data-bin", "!!not base64!!", NULL};
  ck_assert_int_eq(rawh2_request(c, badbin, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_INTERNAL);

  /* A compressed message without grpc-encoding. */
  uint8_t zbuf[64];
  size_t zn = frame_msg(zbuf, 1, (uint32_t)vn, valid, vn);
  ck_assert_int_eq(rawh2_request(c, good, zbuf, zn, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_INTERNAL);

  /* gzip announced, garbage sent. */
  const char *gzip[] = {":method", "POST", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                        ":authority", "x", "content-type", "application/grpc",
                        "grpc-encoding", "gzip", NULL};
  zn = frame_msg(zbuf, 1, sizeof junk, junk, sizeof junk);
  ck_assert_int_eq(rawh2_request(c, gzip, zbuf, zn, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_INTERNAL);
  ck_assert_ptr_nonnull(strstr(res.grpc_message, "decompress"));

  /* A compression we do not have. */
  const char *gz[] = {":method", "POST", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                      ":authority", "x", "content-type", "application/grpc",
                      "grpc-encoding", "snappy", NULL};
  ck_assert_int_eq(rawh2_request(c, gz, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_UNIMPLEMENTED);

  /* After all that, the same connection still serves a good call. */
  ck_assert_int_eq(rawh2_request(c, good, buf, n, &res, tmo), 0);
  ck_assert_int_eq(res.http_status, 200);
  ck_assert_int_eq(res.grpc_status, CGRPC_STATUS_OK);
  ck_assert_uint_gt(res.data_len, 5);
  rawh2_free(c);
}
END_TEST

START_TEST(garbage_on_one_connection_leaves_the_others_alone)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, NULL), CGRPC_STATUS_OK);

  rawh2 *c = rawh2_connect(srv.port);
  ck_assert_ptr_nonnull(c);
  static const char junk[] = "\x00\x00\x04\xff\x00\x00\x00\x00\x00GARBAGE GARBAGE GARBAGE";
  rawh2_send_raw(c, junk, sizeof junk);
  ck_assert_int_eq(rawh2_wait_closed(c, 5000 * slowdown()), 1);
  rawh2_free(c);

  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, NULL), CGRPC_STATUS_OK);
  cgrpc_channel_free(ch);
}
END_TEST

/* ---- server life --------------------------------------------------------------------------- */

START_TEST(shutdown_lets_calls_in_flight_finish)
{
  static const char *const extra[] = {"--grace-ms", "5000", NULL};
  server_proc p;
  server_start(&p, extra);
  cgrpc_channel *ch = channel_to(p.port, NULL);
  waiter w;
  waiter_init(&w, 1);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.sleep_ms = 400;
  ck_assert_int_eq(e2e__echo_client__echo_async(ch, &req, NULL, on_echo_done, &w, NULL), 0);
  sleep_ms(150);
  kill(p.pid, SIGTERM);
  waiter_wait(&w);
  ck_assert_int_eq(w.codes[0], CGRPC_STATUS_OK);
  ck_assert_int_eq(server_wait(&p), 0);
  req.sleep_ms = 0;
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, NULL), CGRPC_STATUS_UNAVAILABLE);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(handlers_on_the_io_thread_work_too)
{
  static const char *const extra[] = {"--threads", "0", NULL};
  server_proc p;
  server_start(&p, extra);
  cgrpc_channel *ch = channel_to(p.port, NULL);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.response_size = 100000;
  E2e__EchoReply *reply = NULL;
  for (int i = 0; i < 50; i++) {
    ck_assert_int_eq(echo_call(ch, &req, &reply, NULL, NULL), CGRPC_STATUS_OK);
    ck_assert_uint_eq(reply->payload.len, 100000);
    e2e__echo_reply__free_unpacked(reply, NULL);
  }
  cgrpc_channel_free(ch);
  ck_assert_int_eq(server_stop(&p), 0);
}
END_TEST


/* ---- regressions from the runtime review ------------------------------------------------ */

START_TEST(deferred_answers_may_come_from_other_threads_with_handlers_on_the_io_thread)
{
  static const char *const extra[] = {"--threads", "0", NULL};
  server_proc p;
  server_start(&p, extra);
  cgrpc_channel *ch = channel_to(p.port, NULL);
  enum { N = 60 };
  waiter w;
  waiter_init(&w, N);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.defer = 1;
  req.sleep_ms = 1;
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(e2e__echo_client__echo_async(ch, &req, NULL, on_echo_done, &w, NULL), 0);
  waiter_wait(&w);
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(w.codes[i], CGRPC_STATUS_OK);
  cgrpc_channel_free(ch);
  ck_assert_int_eq(server_stop(&p), 0);
}
END_TEST


START_TEST(reset_streams_do_not_pile_up_behind_busy_handlers)
{
  /* Two handler threads stuck for 3 s; meanwhile a client sends 800 complete
   * 256 KiB requests and resets each one.  Without taking reset calls out of
   * the handler queue the server would hold 200 MiB of requests. */
  static const char *const extra[] = {"--threads", "2", NULL};
  server_proc p;
  server_start(&p, extra);
  rawh2 *c = rawh2_connect(p.port);
  ck_assert_ptr_nonnull(c);
  const char *hdrs[] = {":method", "POST", ":scheme", "http", ":path", "/e2e.Echo/Echo",
                        ":authority", "x", "content-type", "application/grpc", NULL};
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.sleep_ms = 3000;
  req.ignore_cancel = 1;
  req.payload.len = 256 * 1024;
  req.payload.data = calloc(1, req.payload.len);
  size_t n = e2e__echo_request__get_packed_size(&req);
  uint8_t *body = malloc(n + 5);
  body[0] = 0;
  body[1] = (uint8_t)(n >> 24);
  body[2] = (uint8_t)(n >> 16);
  body[3] = (uint8_t)(n >> 8);
  body[4] = (uint8_t)n;
  e2e__echo_request__pack(&req, body + 5);
  long before = rss_kib(p.pid);
  long peak = before;
  for (int i = 0; i < 800; i++) {
    ck_assert_int_eq(rawh2_request_and_reset(c, hdrs, body, n + 5), 0);
    long now = rss_kib(p.pid);
    if (now > peak)
      peak = now;
  }
  for (int i = 0; i < 20; i++) {
    sleep_ms(25);
    long now = rss_kib(p.pid);
    if (now > peak)
      peak = now;
  }
  rawh2_free(c);
  free(body);
  free(req.payload.data);
  long bound = wrapped() ? 120 : 64;
  ck_assert_msg((peak - before) / 1024 < bound, "server RSS grew by %ld MiB", (peak - before) / 1024);
  ck_assert_int_eq(server_stop(&p), 0);
}
END_TEST

typedef struct retry_state {
  int attempts;
  int done_calls;
  int last_code;
} retry_state;

static void retry_done(cgrpc_client_ctx *ctx, void *ud)
{
  retry_state *r = ud;
  if (cgrpc_client_ctx_status(ctx)->code == CGRPC_STATUS_CANCELLED && r->attempts < 4) {
    r->attempts++;
    cgrpc_client_ctx_proceed(ctx, retry_done, r); /* try again */
    return;
  }
  cgrpc_client_ctx_finish(ctx);
}

static void retrying_interceptor(cgrpc_client_ctx *ctx, void *ud)
{
  retry_state *r = ud;
  r->attempts++;
  cgrpc_client_ctx_proceed(ctx, retry_done, r);
}

static void count_retry_done(cgrpc_status *status, E2e__EchoReply *reply, void *ud)
{
  retry_state *r = ud;
  if (reply != NULL)
    e2e__echo_reply__free_unpacked(reply, NULL);
  r->done_calls++;
  r->last_code = status->code;
}

START_TEST(freeing_a_channel_ends_calls_that_retry_exactly_once)
{
  retry_state r = {0, 0, -1};
  cgrpc_channel_options *opts;
  cgrpc_channel_options_new(&opts);
  cgrpc_channel_options_add_interceptor(opts, retrying_interceptor, &r);
  cgrpc_channel *ch = channel_to(srv.port, opts);
  cgrpc_channel_options_free(opts);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.sleep_ms = 5000;
  ck_assert_int_eq(e2e__echo_client__echo_async(ch, &req, NULL, count_retry_done, &r, NULL), 0);
  sleep_ms(100);
  cgrpc_channel_free(ch); /* the call fails with CANCELLED, is retried, fails again... */
  ck_assert_int_eq(r.done_calls, 1);
  ck_assert_int_eq(r.last_code, CGRPC_STATUS_CANCELLED);
  ck_assert_int_ge(r.attempts, 2);
}
END_TEST


START_TEST(running_out_of_fds_does_not_spin_the_server)
{
  if (wrapped()) {
    puts("skipped under a wrapper: valgrind keeps fds of its own");
    return;
  }
  static const char *const extra[] = {"--max-fds", "40", NULL};
  server_proc p;
  server_start(&p, extra);
  int fds[80];
  for (int i = 0; i < 80; i++) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)p.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fds[i], (struct sockaddr *)&sa, sizeof sa), 0);
  }
  sleep_ms(200);
  double t0 = cpu_seconds(p.pid);
  sleep_ms(1000);
  double used = cpu_seconds(p.pid) - t0;
  ck_assert_msg(used < 0.3, "the server used %.2f s of CPU in 1 s while idle", used);
  for (int i = 0; i < 80; i++)
    close(fds[i]);
  /* Once fds are free again it accepts and serves. */
  sleep_ms(300);
  cgrpc_channel *ch = channel_to(p.port, NULL);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  ck_assert_int_eq(echo_call(ch, &req, NULL, NULL, NULL), CGRPC_STATUS_OK);
  cgrpc_channel_free(ch);
  ck_assert_int_eq(server_stop(&p), 0);
}
END_TEST

START_TEST(a_unix_listener_never_deletes_a_regular_file)
{
  char path[64];
  snprintf(path, sizeof path, "/tmp/cgrpc-e2e-file-%d", (int)getpid());
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("precious", f);
  fclose(f);
  const char *bin = getenv("E2E_SERVER");
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s --unix %s >/dev/null 2>&1 </dev/null", bin, path);
  int rv = system(cmd); /* fails to listen, and exits */
  ck_assert(WIFEXITED(rv) && WEXITSTATUS(rv) == 1);
  ck_assert_int_eq(access(path, F_OK), 0);
  unlink(path);
}
END_TEST

static Suite *e2e_suite(void)
{
  Suite *s = suite_create("e2e");
  TCase *tc = tcase_create("calls");
  tcase_set_timeout(tc, 60 * slowdown());
  tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
  tcase_add_test(tc, unary_call_echoes_payload_and_reports_peer_and_authority);
  tcase_add_test(tc, megabyte_messages_cross_both_ways_intact);
  tcase_add_test(tc, metadata_travels_both_ways_ascii_and_binary);
  tcase_add_test(tc, reserved_and_malformed_metadata_is_refused_locally);
  tcase_add_test(tc, a_huge_status_message_arrives_cut_with_its_code);
  tcase_add_test(tc, response_metadata_too_large_ends_the_call_internal);
  tcase_add_test(tc, request_metadata_too_large_fails_internal_not_refused);
  tcase_add_test(tc, every_status_code_and_message_reaches_the_client);
  tcase_add_test(tc, typed_async_call_completes_through_its_callback);
  tcase_add_test(tc, unix_socket_target_works);
  tcase_add_test(tc, sequential_calls_share_one_connection);
  tcase_add_test(tc, server_runs_handlers_concurrently);
  tcase_add_test(tc, client_deadline_ends_a_slow_call);
  tcase_add_test(tc, handler_sees_the_time_left);
  tcase_add_test(tc, timeout_baked_into_the_proto_applies_and_call_options_override_it);
  tcase_add_test(tc, cancel_ends_the_call_and_the_server_sees_it);
  tcase_add_test(tc, server_enforces_grpc_timeout_itself);
  tcase_add_test(tc, unimplemented_methods_answer_unimplemented);
  tcase_add_test(tc, oversized_request_is_resource_exhausted_and_the_connection_lives_on);
  tcase_add_test(tc, oversized_response_is_resource_exhausted_on_the_client);
  tcase_add_test(tc, nobody_listening_is_unavailable);
  tcase_add_test(tc, client_interceptors_see_change_and_end_calls);
  tcase_add_test(tc, malformed_requests_fail_alone_and_the_connection_keeps_working);
  tcase_add_test(tc, garbage_on_one_connection_leaves_the_others_alone);
  tcase_add_test(tc, shutdown_lets_calls_in_flight_finish);
  tcase_add_test(tc, handlers_on_the_io_thread_work_too);
  tcase_add_test(tc, deferred_answers_may_come_from_other_threads_with_handlers_on_the_io_thread);
  tcase_add_test(tc, reset_streams_do_not_pile_up_behind_busy_handlers);
  tcase_add_test(tc, freeing_a_channel_ends_calls_that_retry_exactly_once);
  tcase_add_test(tc, running_out_of_fds_does_not_spin_the_server);
  tcase_add_test(tc, a_unix_listener_never_deletes_a_regular_file);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  SRunner *sr = srunner_create(e2e_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
