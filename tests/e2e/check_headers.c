/* Response headers on their own: a server handler can send them before its first message, and
 * a streaming client can wait for them (blocking) or be told of them (callbacks) as soon as
 * they arrive -- before any message, and without the call having to end. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "harness.h"
#include "kinds_server.h"

static kinds_server ks;
static cgrpc_channel *ch;

static void setup(void)
{
  kinds_start(&ks, NULL);
  ch = channel_to(ks.port, NULL);
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

START_TEST(a_client_gets_headers_the_server_sent_before_any_message)
{
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_EARLY], NULL, NULL, &call), 0);
  /* Nothing sent yet, so the server has no message to answer with: only its headers come. */
  const cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_call_recv_headers(call, &md), 1);
  ck_assert_str_eq(cgrpc_metadata_get(md, "x-early"), "yes");
  ck_assert_ptr_null(cgrpc_metadata_get(md, "x-late"));
  /* After sending them, the handler could neither add metadata nor send them again (it
   * tries right after sending them: wait for it to have tried). */
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(5000L * slowdown());
  while (kinds_early_second_send_rv() == 1 && cgrpc_now() < until)
    sleep_ms(1);
  ck_assert_int_eq(kinds_early_late_md_rv(), CGRPC_ERR_STATE);
  ck_assert_int_eq(kinds_early_second_send_rv(), CGRPC_ERR_STATE);
  /* Then the call goes on as usual, and asking again gives the same headers. */
  E2e__Chunk c = E2E__CHUNK__INIT;
  c.seq = 9;
  ck_assert_int_eq(cgrpc_call_send(call, &c.base), 0);
  ProtobufCMessage *m;
  ck_assert_int_eq(cgrpc_call_recv(call, &m), 1);
  ck_assert_int_eq(((E2e__Chunk *)m)->seq, 9);
  free_msg(m);
  ck_assert_int_eq(cgrpc_call_recv_headers(call, &md), 1);
  ck_assert_str_eq(cgrpc_metadata_get(md, "x-early"), "yes");
  ck_assert_int_eq(cgrpc_call_close_send(call), 0);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_call_finish(call, &st), CGRPC_STATUS_OK);
  ck_assert_str_eq(cgrpc_metadata_get(st.initial_metadata, "x-early"), "yes");
  cgrpc_status_clear(&st);
  cgrpc_call_free(call);
}
END_TEST

START_TEST(headers_come_with_the_first_message_when_the_handler_sends_none_before)
{
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.response_size = 2;
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_DOWNLOAD], &req.base, NULL, &call),
                   0);
  const cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_call_recv_headers(call, &md), 1);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 0);
  ProtobufCMessage *m;
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(cgrpc_call_recv(call, &m), 1);
    free_msg(m);
  }
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_OK);
  cgrpc_call_free(call);
}
END_TEST

START_TEST(a_trailers_only_answer_has_no_headers_to_wait_for)
{
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.status_code = CGRPC_STATUS_NOT_FOUND;
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &kinds_methods[K_DOWNLOAD], &req.base, NULL, &call),
                   0);
  const cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_call_recv_headers(call, &md), 0); /* returns: the call is over */
  ck_assert_ptr_nonnull(md);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 0);
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_NOT_FOUND);
  cgrpc_call_free(call);
}
END_TEST

/* ---- asynchronous ------------------------------------------------------------------------ */

typedef struct async_seen {
  pthread_mutex_t mu;
  int headers_at; /* the order things came in: 1, 2, ... (0: not yet) */
  int message_at;
  int done_at;
  int seq;
  char early[8];
  cgrpc_code code;
  waiter w;
} async_seen;

static int async_tick(async_seen *s)
{
  return ++s->seq;
}

static void async_on_headers(cgrpc_call *call, const cgrpc_metadata *md, void *ud)
{
  (void)call;
  async_seen *s = ud;
  pthread_mutex_lock(&s->mu);
  s->headers_at = async_tick(s);
  const char *v = cgrpc_metadata_get(md, "x-early");
  snprintf(s->early, sizeof s->early, "%s", v != NULL ? v : "");
  pthread_mutex_unlock(&s->mu);
  /* Headers first: now send, and the echo follows. */
  E2e__Chunk c = E2E__CHUNK__INIT;
  c.seq = 4;
  cgrpc_call_try_send(call, &c.base); /* (the I/O thread must not block) */
  cgrpc_call_close_send(call);
}

static void async_on_message(cgrpc_call *call, ProtobufCMessage *msg, void *ud)
{
  (void)call;
  async_seen *s = ud;
  pthread_mutex_lock(&s->mu);
  if (s->message_at == 0)
    s->message_at = async_tick(s);
  pthread_mutex_unlock(&s->mu);
  protobuf_c_message_free_unpacked(msg, cgrpc_channel_protobuf_allocator(ch));
}

static void async_on_done(cgrpc_call *call, cgrpc_status *status, void *ud)
{
  (void)call;
  async_seen *s = ud;
  pthread_mutex_lock(&s->mu);
  s->done_at = async_tick(s);
  s->code = status->code;
  pthread_mutex_unlock(&s->mu);
  waiter_done(&s->w, status->code);
}

START_TEST(an_asynchronous_client_is_told_of_the_headers_first)
{
  static const cgrpc_call_callbacks cbs = {.on_headers = async_on_headers,
                                           .on_message = async_on_message,
                                           .on_done = async_on_done};
  async_seen s = {.code = -1};
  pthread_mutex_init(&s.mu, NULL);
  waiter_init(&s.w, 1);
  cgrpc_call *call;
  ck_assert_int_eq(
      cgrpc_call_start_stream_async(ch, &kinds_methods[K_EARLY], NULL, NULL, &cbs, &s, &call), 0);
  waiter_wait(&s.w);
  ck_assert_int_eq(s.code, CGRPC_STATUS_OK);
  ck_assert_int_eq(s.headers_at, 1);
  ck_assert_int_eq(s.message_at, 2);
  ck_assert_int_eq(s.done_at, 3);
  ck_assert_str_eq(s.early, "yes");
  cgrpc_call_free(call);
  pthread_mutex_destroy(&s.mu);
}
END_TEST

static Suite *headers_suite(void)
{
  Suite *s = suite_create("headers");
  TCase *tc = tcase_create("headers");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_client_gets_headers_the_server_sent_before_any_message);
  tcase_add_test(tc, headers_come_with_the_first_message_when_the_handler_sends_none_before);
  tcase_add_test(tc, a_trailers_only_answer_has_no_headers_to_wait_for);
  tcase_add_test(tc, an_asynchronous_client_is_told_of_the_headers_first);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return run_suite(headers_suite());
}
