/* The receive budget counts messages by their decoded size: a stream of small compressed
 * messages that inflate a thousandfold, to a reader that does not read, costs the receiver
 * its budget plus a stream window of raw bytes -- not every message inflated -- on both
 * sides; and everything still arrives, whole and in order, once the reader reads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "e2e.cgrpc.h"
#include "harness.h"

/* The generated method table, by the .proto's order (the runtime's API on it, so that this
 * suite tests the runtime whatever the generated stubs look like). */
#define M_DOWNLOAD (&e2e__echo__cgrpc_service.methods[4])
#define M_UPLOAD (&e2e__echo__cgrpc_service.methods[5])

#define CHUNKS 300
#define CHUNK_SIZE (1024 * 1024) /* one byte repeated: gzip makes ~1 KiB of it */
/* Decoded, every chunk queued would be 300 MiB; the budget (64 KiB) plus one message and a
 * stream window of raw bytes (4 MiB client, 1 MiB server) are a few.  The bound leaves room
 * for the allocator's own slack. */
#define GROWTH_LIMIT_KIB (48 * 1024)

static server_proc srv;
static cgrpc_channel *ch;

static void setup(void)
{
  server_start(&srv, NULL);
  ch = channel_to(srv.port, NULL);
}

static void teardown(void)
{
  cgrpc_channel_free(ch);
  ck_assert_int_eq(server_stop(&srv), 0);
}

START_TEST(a_client_that_does_not_read_holds_its_budget_not_every_inflated_message)
{
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = CHUNKS;
  req.size = CHUNK_SIZE;
  req.compression = "gzip";
  req.compress_all = 1; /* every chunk ~1 KiB on the wire: only the decoded size tells */
  cgrpc_call_options *o = timeout_opts(60000L * slowdown());
  cgrpc_call *call;
  long before = rss_kib(getpid());
  ck_assert_int_eq(cgrpc_call_start_stream(ch, M_DOWNLOAD, &req.base, o, &call), 0);
  /* Not reading: the server sends what the windows let it. */
  sleep_ms(800 * slowdown());
  long grown = rss_kib(getpid()) - before;
  fprintf(stderr, "flow: client grew %ld KiB while not reading\n", grown);
  ck_assert_msg(grown < GROWTH_LIMIT_KIB, "client grew %ld KiB with nobody reading", grown);
  /* Now read: every chunk, whole and in order. */
  for (int i = 0; i < CHUNKS; i++) {
    ProtobufCMessage *m = NULL;
    ck_assert_int_eq(cgrpc_call_recv(call, &m), 1);
    E2e__Chunk *c = (E2e__Chunk *)m;
    ck_assert_int_eq(c->seq, i);
    ck_assert_uint_eq(c->data.len, CHUNK_SIZE);
    ck_assert_uint_eq(c->data.data[0], (uint8_t)i);
    ck_assert_uint_eq(c->data.data[CHUNK_SIZE - 1], (uint8_t)i);
    ck_assert(cgrpc_call_response_compressed(call));
    protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(ch));
  }
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_call_finish(call, &st), CGRPC_STATUS_OK);
  cgrpc_status_clear(&st);
  cgrpc_call_free(call);
  cgrpc_call_options_free(o);
}
END_TEST

typedef struct uploader {
  cgrpc_call *call;
  int sent;
} uploader;

static void *upload_all(void *arg)
{
  uploader *u = arg;
  uint8_t *data = malloc(CHUNK_SIZE);
  memset(data, 7, CHUNK_SIZE);
  /* The first chunk makes the handler sleep after reading it: it reads nothing meanwhile. */
  E2e__Chunk first = E2E__CHUNK__INIT;
  first.sleep_ms = 1500 * slowdown();
  if (cgrpc_call_send(u->call, &first.base) == 0)
    u->sent++;
  for (int i = 0; i < CHUNKS; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.data.data = data;
    c.data.len = CHUNK_SIZE;
    c.seq = i;
    if (cgrpc_call_send(u->call, &c.base) != 0)
      break;
    u->sent++;
  }
  free(data);
  return NULL;
}

START_TEST(a_server_handler_that_does_not_read_holds_its_budget_not_every_inflated_message)
{
  cgrpc_call_options *o = timeout_opts(60000L * slowdown());
  ck_assert_int_eq(cgrpc_call_options_set_compression(o, "gzip"), 0);
  uploader u = {NULL, 0};
  ck_assert_int_eq(cgrpc_call_start_stream(ch, M_UPLOAD, NULL, o, &u.call), 0);
  long before = rss_kib(srv.pid), peak = before;
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, upload_all, &u), 0);
  /* While the handler sleeps, the client sends what the window lets it. */
  for (int i = 0; i < 12; i++) {
    sleep_ms(100 * slowdown());
    long now = rss_kib(srv.pid);
    if (now > peak)
      peak = now;
  }
  fprintf(stderr, "flow: server grew %ld KiB while its handler slept\n", peak - before);
  ck_assert_msg(peak - before < GROWTH_LIMIT_KIB, "server grew %ld KiB with the handler asleep",
                peak - before);
  pthread_join(t, NULL);
  ck_assert_int_eq(u.sent, CHUNKS + 1);
  ProtobufCMessage *resp = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_call_close_and_recv(u.call, &resp, &st), CGRPC_STATUS_OK);
  E2e__UploadSummary *sum = (E2e__UploadSummary *)resp;
  ck_assert_int_eq(sum->chunks, CHUNKS + 1); /* everything arrived once the handler read */
  ck_assert_int_eq(sum->bytes, (int64_t)CHUNKS * CHUNK_SIZE);
  ck_assert_int_eq(sum->compressed, CHUNKS + 1);
  protobuf_c_message_free_unpacked(resp, cgrpc_channel_protobuf_allocator(ch));
  cgrpc_status_clear(&st);
  cgrpc_call_free(u.call);
  cgrpc_call_options_free(o);
}
END_TEST

/* Many streams, each a few gzip messages that inflate to 4 MiB, to handlers that sleep: what
 * waits for them is what was sent (a few KiB each), not what it inflates to -- the handler's
 * thread inflates each message as it reads it.  Once they wake, everything arrives. */
START_TEST(many_streams_of_inflating_messages_cost_what_was_sent)
{
  enum { STREAMS = 30, BIG = 3, BIG_SIZE = 4 * 1024 * 1024 - 64 };
  cgrpc_call_options *o = timeout_opts(60000L * slowdown());
  ck_assert_int_eq(cgrpc_call_options_set_compression(o, "gzip"), 0);
  uint8_t *data = malloc(BIG_SIZE);
  memset(data, 9, BIG_SIZE);
  cgrpc_call *calls[STREAMS];
  long before = rss_kib(srv.pid), peak = before;
  for (int i = 0; i < STREAMS; i++) {
    ck_assert_int_eq(cgrpc_call_start_stream(ch, M_UPLOAD, NULL, o, &calls[i]), 0);
    E2e__Chunk first = E2E__CHUNK__INIT;
    first.sleep_ms = 6000 * slowdown(); /* the handler reads it, then sleeps past the checks */
    ck_assert_int_eq(cgrpc_call_send(calls[i], &first.base), 0);
    for (int j = 0; j < BIG; j++) {
      E2e__Chunk c = E2E__CHUNK__INIT;
      c.data.data = data;
      c.data.len = BIG_SIZE;
      ck_assert_int_eq(cgrpc_call_send(calls[i], &c.base), 0);
    }
  }
  for (int i = 0; i < 10; i++) {
    sleep_ms(100 * slowdown());
    long now = rss_kib(srv.pid);
    if (now > peak)
      peak = now;
  }
  fprintf(stderr, "flow: server grew %ld KiB for %d streams of inflating messages\n",
          peak - before, STREAMS);
  /* Inflated, one message waiting per stream would be 120 MiB. */
  ck_assert_msg(peak - before < 32 * 1024, "server grew %ld KiB", peak - before);
  for (int i = 0; i < STREAMS; i++) {
    ProtobufCMessage *resp = NULL;
    cgrpc_status st = CGRPC_STATUS_INIT;
    ck_assert_int_eq(cgrpc_call_close_and_recv(calls[i], &resp, &st), CGRPC_STATUS_OK);
    E2e__UploadSummary *sum = (E2e__UploadSummary *)resp;
    ck_assert_int_eq(sum->chunks, BIG + 1);
    ck_assert_int_eq(sum->bytes, (int64_t)BIG * BIG_SIZE);
    protobuf_c_message_free_unpacked(resp, cgrpc_channel_protobuf_allocator(ch));
    cgrpc_status_clear(&st);
    cgrpc_call_free(calls[i]);
  }
  free(data);
  cgrpc_call_options_free(o);
}
END_TEST

/* What the server's allocator holds now (its Stats method). */
static long server_live_kib(cgrpc_channel *c)
{
  E2e__StatsRequest req = E2E__STATS_REQUEST__INIT;
  E2e__StatsReply *reply = NULL;
  ck_assert_int_eq(e2e__echo_client__stats(c, &req, &reply, NULL, NULL), CGRPC_STATUS_OK);
  long kib = (long)(reply->live_bytes / 1024);
  e2e__stats_reply__free_unpacked(reply, NULL);
  return kib;
}

#define BUDGET_MIB 16

static void setup_budget(void)
{
  static const char *const extra[] = {"--inflate-budget", "16777216", NULL};
  server_start(&srv, extra);
  ch = channel_to(srv.port, NULL);
}

/* Streams whose one gzip message inflates to 4 MiB, to handlers that read it and then hold
 * it (asleep) before they read on: what the handlers of one connection hold inflated at once
 * stays within the server's inflate budget (16 MiB here), where it used to be every stream's
 * message (30 x 4 MiB); the readers past the budget wait their turn, and every call ends OK. */
START_TEST(handlers_holding_inflated_messages_stay_within_the_connections_budget)
{
  enum { STREAMS = 30, BIG_SIZE = 4 * 1024 * 1024 - 64 };
  cgrpc_call_options *o = timeout_opts(120000L * slowdown());
  ck_assert_int_eq(cgrpc_call_options_set_compression(o, "gzip"), 0);
  uint8_t *data = malloc(BIG_SIZE);
  memset(data, 5, BIG_SIZE);
  cgrpc_channel *probe = channel_to(srv.port, NULL); /* Stats on a connection of its own */
  long before = server_live_kib(probe), peak = before;
  cgrpc_call *calls[STREAMS];
  for (int i = 0; i < STREAMS; i++) {
    ck_assert_int_eq(cgrpc_call_start_stream(ch, M_UPLOAD, NULL, o, &calls[i]), 0);
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.data.data = data;
    c.data.len = BIG_SIZE;
    c.sleep_ms = 300 * slowdown(); /* read, then held while the handler sleeps */
    ck_assert_int_eq(cgrpc_call_send(calls[i], &c.base), 0);
  }
  free(data);
  /* Until every handler has read its message: 10 rounds of 3 under this budget. */
  for (int i = 0; i < 30; i++) {
    sleep_ms(100 * slowdown());
    long now = server_live_kib(probe);
    if (now > peak)
      peak = now;
  }
  fprintf(stderr, "flow: the server held at most %ld KiB more for %d streams of 4 MiB inflated\n",
          peak - before, STREAMS);
  ck_assert_msg(peak - before > 4 * 1024, "held %ld KiB: no handler had its message inflated",
                peak - before);
  ck_assert_msg(peak - before < (BUDGET_MIB + 6) * 1024, "held %ld KiB, over the %d MiB budget",
                peak - before, BUDGET_MIB);
  for (int i = 0; i < STREAMS; i++) {
    ProtobufCMessage *resp = NULL;
    cgrpc_status st = CGRPC_STATUS_INIT;
    ck_assert_int_eq(cgrpc_call_close_and_recv(calls[i], &resp, &st), CGRPC_STATUS_OK);
    E2e__UploadSummary *sum = (E2e__UploadSummary *)resp;
    ck_assert_int_eq(sum->chunks, 1);
    ck_assert_int_eq(sum->bytes, BIG_SIZE);
    protobuf_c_message_free_unpacked(resp, cgrpc_channel_protobuf_allocator(ch));
    cgrpc_status_clear(&st);
    cgrpc_call_free(calls[i]);
  }
  cgrpc_channel_free(probe);
  cgrpc_call_options_free(o);
}
END_TEST

static Suite *flow_suite(void)
{
  Suite *s = suite_create("flow");
  TCase *tc = tcase_create("inflated budget");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, a_client_that_does_not_read_holds_its_budget_not_every_inflated_message);
  tcase_add_test(tc, a_server_handler_that_does_not_read_holds_its_budget_not_every_inflated_message);
  tcase_add_test(tc, many_streams_of_inflating_messages_cost_what_was_sent);
  suite_add_tcase(s, tc);
  tc = tcase_create("inflate budget");
  tcase_add_checked_fixture(tc, setup_budget, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, handlers_holding_inflated_messages_stay_within_the_connections_budget);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return run_suite(flow_suite());
}
