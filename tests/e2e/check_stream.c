/* Streaming end to end: the four kinds, how every kind of ending reaches both sides, flow control. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.cgrpc.h"
#include "harness.h"

static server_proc srv;

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

static int stats_cancelled(cgrpc_channel *ch)
{
  E2e__StatsRequest req = E2E__STATS_REQUEST__INIT;
  E2e__StatsReply *reply = NULL;
  ck_assert_int_eq(e2e__echo_client__stats(ch, &req, &reply, NULL, NULL), CGRPC_STATUS_OK);
  int n = reply->cancelled;
  e2e__stats_reply__free_unpacked(reply, NULL);
  return n;
}

/* Waits (bounded) until the server has seen one more cancelled handler. */
static void expect_server_saw_cancel(cgrpc_channel *ch, int before)
{
  int now = before;
  for (int i = 0; i < 300 * slowdown() && now == before; i++) {
    sleep_ms(10);
    now = stats_cancelled(ch);
  }
  ck_assert_int_eq(now, before + 1);
}

static int chunk_ok(const E2e__Chunk *c, int seq, size_t size)
{
  if (c->seq != seq || c->data.len != size)
    return 0;
  for (size_t i = 0; i < size; i++)
    if (c->data.data[i] != (uint8_t)seq)
      return 0;
  return 1;
}

/* ---- the four kinds --------------------------------------------------------------------- */

START_TEST(server_streaming_delivers_every_message_in_order_then_the_status)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  /* Sizes straddling DATA frames (16 KiB) and the 64 KiB send buffer. */
  static const int sizes[] = {0, 1, 100, 16384, 16385, 70000, 300000};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
    req.count = sizes[k] > 50000 ? 20 : 300;
    req.size = sizes[k];
    E2e__Echo_DownloadCall *call = NULL;
    ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &call), 0);
    E2e__Chunk *c;
    int n = 0;
    while (e2e__echo_client__download_recv(call, &c) == 1) {
      ck_assert_msg(chunk_ok(c, n, (size_t)req.size), "chunk %d of size %d is wrong", n, req.size);
      e2e__chunk__free_unpacked(c, NULL);
      n++;
    }
    ck_assert_int_eq(n, req.count);
    cgrpc_status st = CGRPC_STATUS_INIT;
    ck_assert_int_eq(e2e__echo_client__download_finish(call, &st), CGRPC_STATUS_OK);
    ck_assert_str_eq(cgrpc_metadata_get(st.trailing_metadata, "x-intercepted"), "yes");
    cgrpc_status_clear(&st);
    e2e__echo_client__download_free(call);
  }
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(client_streaming_sends_everything_and_gets_one_answer)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__Echo_UploadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__upload(ch, NULL, &call), 0);
  uint8_t data[5000];
  memset(data, 7, sizeof data);
  int64_t bytes = 0;
  for (int i = 0; i < 1000; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.data.data = data;
    c.data.len = (size_t)(i * 37) % sizeof data; /* empty ones too */
    c.seq = i;
    bytes += (int64_t)c.data.len;
    ck_assert_int_eq(e2e__echo_client__upload_send(call, &c), 0);
  }
  E2e__UploadSummary *sum = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(e2e__echo_client__upload_close_and_recv(call, &sum, &st), CGRPC_STATUS_OK);
  ck_assert_int_eq(sum->chunks, 1000);
  ck_assert_int_eq(sum->bytes, bytes);
  e2e__upload_summary__free_unpacked(sum, NULL);
  cgrpc_status_clear(&st);
  e2e__echo_client__upload_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(a_stream_with_no_messages_at_all_is_fine)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__Echo_UploadCall *upload = NULL;
  ck_assert_int_eq(e2e__echo_client__upload(ch, NULL, &upload), 0);
  E2e__UploadSummary *sum = NULL;
  ck_assert_int_eq(e2e__echo_client__upload_close_and_recv(upload, &sum, NULL), CGRPC_STATUS_OK);
  ck_assert_int_eq(sum->chunks, 0);
  e2e__upload_summary__free_unpacked(sum, NULL);
  e2e__echo_client__upload_free(upload);

  /* And nothing back from a server stream. */
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  E2e__Echo_DownloadCall *download = NULL;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &download), 0);
  E2e__Chunk *c;
  ck_assert_int_eq(e2e__echo_client__download_recv(download, &c), 0);
  ck_assert_ptr_null(c);
  ck_assert_int_eq(e2e__echo_client__download_finish(download, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__download_free(download);

  /* Nor both ways. */
  E2e__Echo_ChatCall *chat = NULL;
  ck_assert_int_eq(e2e__echo_client__chat(ch, NULL, &chat), 0);
  ck_assert_int_eq(e2e__echo_client__chat_close_send(chat), 0);
  ck_assert_int_eq(e2e__echo_client__chat_recv(chat, &c), 0);
  ck_assert_int_eq(e2e__echo_client__chat_finish(chat, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__chat_free(chat);
  cgrpc_channel_free(ch);
}
END_TEST

static void ping_pong(const char *method)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__Echo_ChatCall *chat = NULL;
  E2e__Echo_RelayCall *relay_call = NULL;
  int relay = strcmp(method, "relay") == 0;
  ck_assert_int_eq(relay ? e2e__echo_client__relay(ch, NULL, &relay_call) : e2e__echo_client__chat(ch, NULL, &chat), 0);
  uint8_t data[3000];
  for (int i = 0; i < 200; i++) {
    memset(data, i & 0xff, sizeof data);
    E2e__Chunk out = E2E__CHUNK__INIT;
    out.seq = i;
    out.data.data = data;
    out.data.len = (size_t)(i * 13) % sizeof data;
    ck_assert_int_eq(relay ? e2e__echo_client__relay_send(relay_call, &out) : e2e__echo_client__chat_send(chat, &out), 0);
    E2e__Chunk *in = NULL;
    ck_assert_int_eq(relay ? e2e__echo_client__relay_recv(relay_call, &in) : e2e__echo_client__chat_recv(chat, &in), 1);
    ck_assert_msg(chunk_ok(in, i, out.data.len), "%s: answer %d is wrong", method, i);
    e2e__chunk__free_unpacked(in, NULL);
  }
  ck_assert_int_eq(relay ? e2e__echo_client__relay_close_send(relay_call) : e2e__echo_client__chat_close_send(chat), 0);
  E2e__Chunk *in = NULL;
  ck_assert_int_eq(relay ? e2e__echo_client__relay_recv(relay_call, &in) : e2e__echo_client__chat_recv(chat, &in), 0);
  ck_assert_int_eq(relay ? e2e__echo_client__relay_finish(relay_call, NULL) : e2e__echo_client__chat_finish(chat, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__relay_free(relay_call);
  e2e__echo_client__chat_free(chat);
  cgrpc_channel_free(ch);
}

START_TEST(bidi_ping_pong_with_a_blocking_handler)
{
  ping_pong("chat");
}
END_TEST

START_TEST(bidi_ping_pong_with_a_callback_handler)
{
  ping_pong("relay");
}
END_TEST

START_TEST(many_small_messages_share_data_frames)
{
  /* A writer far ahead of the reader: messages pile into frames and come
   * out whole and in order on the other side. */
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__Echo_RelayCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__relay(ch, NULL, &call), 0);
  enum { N = 3000 };
  for (int i = 0; i < N; i++) {
    E2e__Chunk out = E2E__CHUNK__INIT;
    out.seq = i;
    ck_assert_int_eq(e2e__echo_client__relay_send(call, &out), 0);
  }
  ck_assert_int_eq(e2e__echo_client__relay_close_send(call), 0);
  E2e__Chunk *in = NULL;
  int n = 0;
  while (e2e__echo_client__relay_recv(call, &in) == 1) {
    ck_assert_int_eq(in->seq, n);
    e2e__chunk__free_unpacked(in, NULL);
    n++;
  }
  ck_assert_int_eq(n, N);
  ck_assert_int_eq(e2e__echo_client__relay_finish(call, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__relay_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

/* ---- endings ----------------------------------------------------------------------------- */

START_TEST(a_server_that_ends_early_ends_the_clients_reads_with_its_status)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = 5;
  req.size = 10;
  req.status_code = CGRPC_STATUS_DATA_LOSS;
  E2e__Echo_DownloadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &call), 0);
  E2e__Chunk *c;
  int n = 0;
  while (e2e__echo_client__download_recv(call, &c) == 1) {
    e2e__chunk__free_unpacked(c, NULL);
    n++;
  }
  ck_assert_int_eq(n, 5);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(e2e__echo_client__download_finish(call, &st), CGRPC_STATUS_DATA_LOSS);
  ck_assert_str_eq(st.message, "download ended with 15");
  cgrpc_status_clear(&st);
  e2e__echo_client__download_free(call);

  /* A bidi server that ends while the client is still sending: the
   * client's sends stop with CLOSED and finish tells why. */
  E2e__Echo_ChatCall *chat = NULL;
  ck_assert_int_eq(e2e__echo_client__chat(ch, NULL, &chat), 0);
  E2e__Chunk stop = E2E__CHUNK__INIT;
  stop.status_code = CGRPC_STATUS_ABORTED;
  ck_assert_int_eq(e2e__echo_client__chat_send(chat, &stop), 0);
  int rv = 0;
  E2e__Chunk more = E2E__CHUNK__INIT;
  cgrpc_time give_up = cgrpc_now() + CGRPC_MS_TO_NS(5000) * slowdown();
  for (int i = 0; rv == 0 && cgrpc_now() < give_up; i++) {
    rv = e2e__echo_client__chat_send(chat, &more);
    if (i % 100 == 99)
      sleep_ms(1); /* keep sending until the status arrives */
  }
  ck_assert_int_eq(rv, CGRPC_ERR_CLOSED);
  ck_assert_int_eq(e2e__echo_client__chat_finish(chat, &st), CGRPC_STATUS_ABORTED);
  cgrpc_status_clear(&st);
  e2e__echo_client__chat_free(chat);
  cgrpc_channel_free(ch);
}
END_TEST

/* A server stream that ended while most of its messages still wait for the reader (the
 * receive budget holds them back): 40 x 16 KiB fits the stream window, not the budget. */
static E2e__Echo_DownloadCall *download_held(cgrpc_channel *ch, long timeout_ms)
{
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = 40;
  req.size = 16384;
  cgrpc_call_options *o = timeout_opts(timeout_ms);
  E2e__Echo_DownloadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, o, &call), 0);
  cgrpc_call_options_free(o);
  return call;
}

START_TEST(finish_without_reading_ends_a_server_stream_that_is_over)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__Echo_DownloadCall *call = download_held(ch, 30000L * slowdown());
  sleep_ms(300 * slowdown()); /* the server sends everything and its status */
  E2e__Chunk *c;
  ck_assert_int_eq(e2e__echo_client__download_recv(call, &c), 1);
  e2e__chunk__free_unpacked(c, NULL);
  /* The rest is never read: finish drops it and returns the server's status at once, not at
   * the deadline. */
  cgrpc_time t0 = cgrpc_now();
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(e2e__echo_client__download_finish(call, &st), CGRPC_STATUS_OK);
  long ms = (long)((cgrpc_now() - t0) / 1000000);
  ck_assert_msg(ms < 3000L * slowdown(), "finish took %ld ms", ms);
  cgrpc_status_clear(&st);
  e2e__echo_client__download_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(messages_of_a_server_stream_that_is_over_outlive_its_deadline)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__Echo_DownloadCall *call = download_held(ch, 300L * slowdown());
  sleep_ms(600 * slowdown()); /* past the deadline, which the server's answer beat */
  E2e__Chunk *c;
  int n = 0;
  while (e2e__echo_client__download_recv(call, &c) == 1) {
    ck_assert(chunk_ok(c, n, 16384));
    e2e__chunk__free_unpacked(c, NULL);
    n++;
  }
  ck_assert_int_eq(n, 40);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(e2e__echo_client__download_finish(call, &st), CGRPC_STATUS_OK);
  cgrpc_status_clear(&st);
  e2e__echo_client__download_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(half_close_lets_the_server_finish_sending)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__Echo_ChatCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__chat(ch, NULL, &call), 0);
  for (int i = 0; i < 50; i++) {
    E2e__Chunk out = E2E__CHUNK__INIT;
    out.seq = i;
    out.sleep_ms = i == 0 ? 200 : 0; /* the server is still busy after we close */
    ck_assert_int_eq(e2e__echo_client__chat_send(call, &out), 0);
  }
  ck_assert_int_eq(e2e__echo_client__chat_close_send(call), 0);
  ck_assert_int_eq(e2e__echo_client__chat_close_send(call), 0); /* idempotent */
  E2e__Chunk again = E2E__CHUNK__INIT;
  ck_assert_int_eq(e2e__echo_client__chat_send(call, &again), CGRPC_ERR_CLOSED);
  E2e__Chunk *in;
  int n = 0;
  while (e2e__echo_client__chat_recv(call, &in) == 1) {
    ck_assert_int_eq(in->seq, n++);
    e2e__chunk__free_unpacked(in, NULL);
  }
  ck_assert_int_eq(n, 50);
  ck_assert_int_eq(e2e__echo_client__chat_finish(call, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__chat_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(client_cancel_mid_stream_reaches_the_server_promptly)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  int before = stats_cancelled(ch);
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = 1000;
  req.size = 10;
  req.sleep_ms = 20;
  E2e__Echo_DownloadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &call), 0);
  E2e__Chunk *c;
  ck_assert_int_eq(e2e__echo_client__download_recv(call, &c), 1);
  e2e__chunk__free_unpacked(c, NULL);
  cgrpc_time t0 = cgrpc_now();
  e2e__echo_client__download_cancel(call);
  while (e2e__echo_client__download_recv(call, &c) == 1)
    e2e__chunk__free_unpacked(c, NULL);
  ck_assert_int_eq(e2e__echo_client__download_finish(call, NULL), CGRPC_STATUS_CANCELLED);
  ck_assert_msg(ms_since(t0) < 500 * slowdown(), "cancel took %lld ms", (long long)ms_since(t0));
  e2e__echo_client__download_free(call);
  expect_server_saw_cancel(ch, before);

  /* Freeing a running stream cancels it too. */
  before = stats_cancelled(ch);
  E2e__Echo_ChatCall *chat = NULL;
  ck_assert_int_eq(e2e__echo_client__chat(ch, NULL, &chat), 0);
  E2e__Chunk out = E2E__CHUNK__INIT;
  out.sleep_ms = 5000;
  ck_assert_int_eq(e2e__echo_client__chat_send(chat, &out), 0);
  sleep_ms(100);
  e2e__echo_client__chat_free(chat);
  expect_server_saw_cancel(ch, before);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(a_deadline_mid_stream_ends_both_sides)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  int before = stats_cancelled(ch);
  cgrpc_call_options *o = timeout_opts(300);
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = 1000;
  req.size = 10;
  req.sleep_ms = 50;
  E2e__Echo_DownloadCall *call = NULL;
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, o, &call), 0);
  E2e__Chunk *c;
  int n = 0;
  while (e2e__echo_client__download_recv(call, &c) == 1) {
    e2e__chunk__free_unpacked(c, NULL);
    n++;
  }
  ck_assert_int_eq(e2e__echo_client__download_finish(call, NULL), CGRPC_STATUS_DEADLINE_EXCEEDED);
  int64_t took = ms_since(t0);
  ck_assert_int_ge(took, 290);
  ck_assert_msg(took < 2000 * slowdown(), "took %lld ms", (long long)took);
  ck_assert_int_gt(n, 0);
  ck_assert_int_lt(n, 1000);
  e2e__echo_client__download_free(call);
  cgrpc_call_options_free(o);
  expect_server_saw_cancel(ch, before);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(the_server_going_away_mid_stream_is_unavailable)
{
  server_proc p;
  server_start(&p, NULL);
  cgrpc_channel *ch = channel_to(p.port, NULL);
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = 100000;
  req.size = 10;
  req.sleep_ms = 10;
  E2e__Echo_DownloadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &call), 0);
  E2e__Chunk *c;
  ck_assert_int_eq(e2e__echo_client__download_recv(call, &c), 1);
  e2e__chunk__free_unpacked(c, NULL);
  kill(p.pid, SIGKILL);
  server_wait(&p);
  while (e2e__echo_client__download_recv(call, &c) == 1)
    e2e__chunk__free_unpacked(c, NULL);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(e2e__echo_client__download_finish(call, &st), CGRPC_STATUS_UNAVAILABLE);
  cgrpc_status_clear(&st);
  e2e__echo_client__download_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(the_client_going_away_mid_stream_cancels_the_handler)
{
  cgrpc_channel *watch = channel_to(srv.port, NULL);
  int before = stats_cancelled(watch);
  /* A whole channel that vanishes: its connection closes under the stream. */
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__Echo_UploadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__upload(ch, NULL, &call), 0);
  E2e__Chunk out = E2E__CHUNK__INIT;
  ck_assert_int_eq(e2e__echo_client__upload_send(call, &out), 0);
  sleep_ms(100);
  cgrpc_channel_free(ch); /* the call ends CANCELLED, the connection closes */
  /* The status alone, without closing (a client stream ends typed with close_and_recv). */
  ck_assert_int_eq(cgrpc_call_finish(e2e__echo_client__upload_call(call), NULL),
                   CGRPC_STATUS_CANCELLED);
  e2e__echo_client__upload_free(call);
  expect_server_saw_cancel(watch, before);
  cgrpc_channel_free(watch);
}
END_TEST

/* ---- flow control -------------------------------------------------------------------------- */

START_TEST(a_fast_writer_is_held_back_by_a_slow_reader_with_bounded_memory)
{
  /* 48 MiB to a server that takes 1 ms per 64 KiB message (at most ~64 MiB/s):
   * the client's send blocks instead of buffering, so its memory stays flat. */
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__Echo_UploadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__upload(ch, NULL, &call), 0);
  size_t size = 64 * 1024;
  uint8_t *data = calloc(1, size);
  long before = rss_kib(getpid());
  long peak = before;
  enum { N = 768 };
  for (int i = 0; i < N; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.data.data = data;
    c.data.len = size;
    c.sleep_ms = 1;
    ck_assert_int_eq(e2e__echo_client__upload_send(call, &c), 0);
    if (i % 32 == 0) {
      long now = rss_kib(getpid());
      if (now > peak)
        peak = now;
    }
  }
  E2e__UploadSummary *sum = NULL;
  ck_assert_int_eq(e2e__echo_client__upload_close_and_recv(call, &sum, NULL), CGRPC_STATUS_OK);
  ck_assert_int_eq(sum->chunks, N);
  e2e__upload_summary__free_unpacked(sum, NULL);
  free(data);
  e2e__echo_client__upload_free(call);
  cgrpc_channel_free(ch);
  long grew = (peak - before) / 1024;
  ck_assert_msg(grew < (wrapped() ? 48 : 16), "client RSS grew by %ld MiB", grew);
}
END_TEST

START_TEST(a_slow_reader_holds_back_a_fast_server)
{
  /* The server streams 32 MiB; we read slowly at first.  Had the client
   * buffered everything, its memory would grow by 32 MiB before we read. */
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = 512;
  req.size = 64 * 1024;
  E2e__Echo_DownloadCall *call = NULL;
  long before = rss_kib(getpid());
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &call), 0);
  sleep_ms(500); /* the server writes as fast as it may meanwhile */
  long held = (rss_kib(getpid()) - before) / 1024;
  E2e__Chunk *c;
  int n = 0;
  while (e2e__echo_client__download_recv(call, &c) == 1) {
    ck_assert_int_eq(c->seq, n++);
    e2e__chunk__free_unpacked(c, NULL);
  }
  ck_assert_int_eq(n, 512);
  ck_assert_int_eq(e2e__echo_client__download_finish(call, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__download_free(call);
  cgrpc_channel_free(ch);
  ck_assert_msg(held < (wrapped() ? 48 : 16), "client held %ld MiB unread", held);
}
END_TEST

/* ---- the asynchronous client -------------------------------------------------------------- */

typedef struct async_state {
  waiter w;
  int messages;
  int in_order;
  int ready_calls;
  unsigned compressed_mask; /* bit i: message i arrived compressed (i < 32) */
} async_state;

/* Each response of an asynchronous stream: in order, and arrived compressed or not. */
static void async_got(async_state *a, E2e__Chunk *c, int compressed)
{
  if (c->seq != a->messages)
    a->in_order = 0;
  if (a->messages < 32 && compressed)
    a->compressed_mask |= 1u << a->messages;
  a->messages++;
  e2e__chunk__free_unpacked(c, NULL);
}

static void download_on_message(E2e__Echo_DownloadCall *call, E2e__Chunk *c, void *ud)
{
  async_got(ud, c, cgrpc_call_response_compressed(e2e__echo_client__download_call(call)));
}

static void download_on_done(E2e__Echo_DownloadCall *call, cgrpc_status *status, void *ud)
{
  (void)call;
  waiter_done(&((async_state *)ud)->w, status->code);
}

/* Downloads count chunks of size bytes with callbacks into a, the server
 * compressing with compression ("" for none) all but every third. */
static void download_async(cgrpc_channel *ch, int count, int size, const char *compression,
                           async_state *a)
{
  static const E2e__Echo_DownloadCallbacks cbs = {.on_message = download_on_message,
                                                  .on_done = download_on_done};
  *a = (async_state){.in_order = 1};
  waiter_init(&a->w, 1);
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = count;
  req.size = size;
  req.compression = (char *)compression;
  E2e__Echo_DownloadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__download_async(ch, &req, NULL, &cbs, a, &call), 0);
  waiter_wait(&a->w);
  ck_assert_int_eq(a->w.codes[0], CGRPC_STATUS_OK);
  ck_assert_int_eq(a->messages, count);
  ck_assert(a->in_order);
  e2e__echo_client__download_free(call);
}

START_TEST(asynchronous_streams_deliver_through_callbacks)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  async_state a;
  download_async(ch, 500, 1000, "", &a);
  cgrpc_channel_free(ch);
}
END_TEST

static void chat_on_message(E2e__Echo_ChatCall *call, E2e__Chunk *c, void *ud)
{
  async_got(ud, c, cgrpc_call_response_compressed(e2e__echo_client__chat_call(call)));
}

static void chat_on_ready(E2e__Echo_ChatCall *call, void *ud)
{
  async_state *a = ud;
  (void)call;
  __atomic_add_fetch(&a->ready_calls, 1, __ATOMIC_RELAXED);
}

static void chat_on_done(E2e__Echo_ChatCall *call, cgrpc_status *status, void *ud)
{
  (void)call;
  waiter_done(&((async_state *)ud)->w, status->code);
}

START_TEST(try_send_says_again_when_full_and_on_send_ready_follows)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  static const E2e__Echo_ChatCallbacks cbs = {
      .on_message = chat_on_message, .on_send_ready = chat_on_ready, .on_done = chat_on_done};
  async_state a = {.in_order = 1};
  waiter_init(&a.w, 1);
  E2e__Echo_ChatCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__chat_async(ch, NULL, &cbs, &a, &call), 0);
  /* The server sleeps on the first message, so the buffer fills. */
  uint8_t data[16 * 1024] = {0};
  E2e__Chunk c = E2E__CHUNK__INIT;
  c.sleep_ms = 300;
  ck_assert_int_eq(e2e__echo_client__chat_try_send(call, &c), 0);
  c.sleep_ms = 0;
  c.data.data = data;
  c.data.len = sizeof data;
  int sent = 1, rv;
  while ((rv = e2e__echo_client__chat_try_send(call, &c)) == 0 && sent < 100000)
    sent++;
  ck_assert_int_eq(rv, CGRPC_ERR_AGAIN);
  for (int i = 0; i < 500 * slowdown() && __atomic_load_n(&a.ready_calls, __ATOMIC_RELAXED) == 0; i++)
    sleep_ms(10);
  ck_assert_int_ge(__atomic_load_n(&a.ready_calls, __ATOMIC_RELAXED), 1);
  ck_assert_int_eq(e2e__echo_client__chat_try_send(call, &c), 0);
  ck_assert_int_eq(e2e__echo_client__chat_close_send(call), 0);
  waiter_wait(&a.w);
  ck_assert_int_eq(a.w.codes[0], CGRPC_STATUS_OK);
  ck_assert_int_eq(a.messages, sent + 1);
  e2e__echo_client__chat_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

/* ---- typed callbacks on both sides ---------------------------------------------------------
 * The generated callbacks structs, client and server, called through the generated invokers:
 * each callback gets the typed handle and typed messages.  The server's Relay handler runs on
 * its typed callbacks and sends its headers at once (with x-relay); Upload and Download do
 * too when the call carries x-async. */

typedef struct typed_state {
  pthread_mutex_t lock;
  waiter w;
  int headers;            /* on_headers calls */
  int headers_before;     /* messages that had arrived when on_headers came */
  int relay_header;       /* x-relay was among them */
  int messages, in_order; /* on_message calls, each seq the next */
  int send_ready;
  int summary_chunks; /* an upload's answer */
  void *handle; /* the handle every callback got, if always the same */
  int same_handle;
} typed_state;

static void typed_init(typed_state *t)
{
  memset(t, 0, sizeof *t);
  pthread_mutex_init(&t->lock, NULL);
  waiter_init(&t->w, 1);
  t->in_order = t->same_handle = 1;
}

static void typed_saw(typed_state *t, void *handle)
{
  pthread_mutex_lock(&t->lock);
  if (t->handle == NULL)
    t->handle = handle;
  t->same_handle = t->same_handle && t->handle == handle;
  pthread_mutex_unlock(&t->lock);
}

static void typed_headers(typed_state *t, void *handle, const cgrpc_metadata *md)
{
  typed_saw(t, handle);
  pthread_mutex_lock(&t->lock);
  t->headers++;
  t->headers_before = t->messages;
  const char *relay = cgrpc_metadata_get(md, "x-relay");
  t->relay_header = relay != NULL && strcmp(relay, "callbacks") == 0;
  pthread_mutex_unlock(&t->lock);
}

static void typed_message(typed_state *t, void *handle, int seq)
{
  typed_saw(t, handle);
  pthread_mutex_lock(&t->lock);
  t->in_order = t->in_order && seq == t->messages;
  t->messages++;
  pthread_mutex_unlock(&t->lock);
}

static int typed_headers_seen(typed_state *t)
{
  pthread_mutex_lock(&t->lock);
  int n = t->headers;
  pthread_mutex_unlock(&t->lock);
  return n;
}

static void relay_on_headers(E2e__Echo_RelayCall *call, const cgrpc_metadata *md, void *ud)
{
  typed_headers(ud, call, md);
}

static void relay_on_message(E2e__Echo_RelayCall *call, E2e__Chunk *c, void *ud)
{
  typed_message(ud, call, c->seq);
  e2e__chunk__free_unpacked(c, NULL);
}

static void relay_on_send_ready(E2e__Echo_RelayCall *call, void *ud)
{
  typed_state *t = ud;
  typed_saw(t, call);
  __atomic_add_fetch(&t->send_ready, 1, __ATOMIC_RELAXED);
}

static void relay_on_done(E2e__Echo_RelayCall *call, cgrpc_status *status, void *ud)
{
  typed_state *t = ud;
  typed_saw(t, call);
  waiter_done(&t->w, status->code);
}

START_TEST(typed_callbacks_carry_a_bidi_call_on_both_sides_headers_first)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  static const E2e__Echo_RelayCallbacks cbs = {.on_headers = relay_on_headers,
                                               .on_message = relay_on_message,
                                               .on_send_ready = relay_on_send_ready,
                                               .on_done = relay_on_done};
  typed_state t;
  typed_init(&t);
  E2e__Echo_RelayCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__relay_async(ch, NULL, &cbs, &t, &call), 0);
  /* The handler sends its headers before it sees a message: they come first. */
  for (int i = 0; i < 500 * slowdown() && typed_headers_seen(&t) == 0; i++)
    sleep_ms(10);
  ck_assert_int_eq(typed_headers_seen(&t), 1);
  enum { N = 2000 };
  uint8_t data[1000];
  memset(data, 'r', sizeof data);
  int again = 0;
  for (int i = 0; i < N; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.seq = i;
    c.data.data = data;
    c.data.len = sizeof data;
    int rv;
    while ((rv = e2e__echo_client__relay_try_send(call, &c)) == CGRPC_ERR_AGAIN) {
      again++;
      sleep_ms(1);
    }
    ck_assert_int_eq(rv, 0);
  }
  ck_assert_int_eq(e2e__echo_client__relay_close_send(call), 0);
  waiter_wait(&t.w);
  ck_assert_int_eq(t.w.codes[0], CGRPC_STATUS_OK);
  ck_assert_int_eq(t.headers, 1);
  ck_assert_int_eq(t.headers_before, 0);
  ck_assert(t.relay_header);
  ck_assert_int_eq(t.messages, N);
  ck_assert(t.in_order);
  ck_assert(t.same_handle);
  ck_assert_ptr_eq(t.handle, call);
  ck_assert(again == 0 || t.send_ready > 0);
  e2e__echo_client__relay_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

static void chat_typed_on_headers(E2e__Echo_ChatCall *call, const cgrpc_metadata *md, void *ud)
{
  typed_headers(ud, call, md);
}

static void chat_typed_on_message(E2e__Echo_ChatCall *call, E2e__Chunk *c, void *ud)
{
  typed_message(ud, call, c->seq);
  e2e__chunk__free_unpacked(c, NULL);
}

static void chat_typed_on_done(E2e__Echo_ChatCall *call, cgrpc_status *status, void *ud)
{
  typed_state *t = ud;
  typed_saw(t, call);
  waiter_done(&t->w, status->code);
}

START_TEST(on_headers_comes_before_the_first_message_that_carries_them)
{
  /* Chat's blocking handler sends no headers of its own: they go out with the first answer,
   * in the same HEADERS-then-DATA write, and still reach on_headers first. */
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  static const E2e__Echo_ChatCallbacks cbs = {.on_headers = chat_typed_on_headers,
                                              .on_message = chat_typed_on_message,
                                              .on_done = chat_typed_on_done};
  for (int round = 0; round < 20; round++) {
    typed_state t;
    typed_init(&t);
    E2e__Echo_ChatCall *call = NULL;
    ck_assert_int_eq(e2e__echo_client__chat_async(ch, NULL, &cbs, &t, &call), 0);
    for (int i = 0; i < 5; i++) {
      E2e__Chunk c = E2E__CHUNK__INIT;
      c.seq = i;
      ck_assert_int_eq(e2e__echo_client__chat_send(call, &c), 0);
    }
    ck_assert_int_eq(e2e__echo_client__chat_close_send(call), 0);
    waiter_wait(&t.w);
    ck_assert_int_eq(t.w.codes[0], CGRPC_STATUS_OK);
    ck_assert_int_eq(t.headers, 1);
    ck_assert_int_eq(t.headers_before, 0);
    ck_assert_int_eq(t.messages, 5);
    ck_assert(t.in_order);
    ck_assert(t.same_handle);
    e2e__echo_client__chat_free(call);
  }
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(recv_headers_returns_the_headers_before_any_message)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  /* Relay sends its headers at once: the client has them before it sends anything. */
  E2e__Echo_RelayCall *relay = NULL;
  ck_assert_int_eq(e2e__echo_client__relay(ch, NULL, &relay), 0);
  const cgrpc_metadata *md = NULL;
  ck_assert_int_eq(e2e__echo_client__relay_recv_headers(relay, &md), 1);
  ck_assert_str_eq(cgrpc_metadata_get(md, "x-relay"), "callbacks");
  E2e__Chunk out = E2E__CHUNK__INIT;
  out.seq = 7;
  ck_assert_int_eq(e2e__echo_client__relay_send(relay, &out), 0);
  E2e__Chunk *in = NULL;
  ck_assert_int_eq(e2e__echo_client__relay_recv(relay, &in), 1);
  ck_assert_int_eq(in->seq, 7);
  e2e__chunk__free_unpacked(in, NULL);
  ck_assert_int_eq(e2e__echo_client__relay_close_send(relay), 0);
  ck_assert_int_eq(e2e__echo_client__relay_recv(relay, &in), 0);
  ck_assert_int_eq(e2e__echo_client__relay_finish(relay, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__relay_free(relay);

  /* A server stream: the headers come with the first chunk, and recv still has it. */
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = 3;
  req.size = 10;
  E2e__Echo_DownloadCall *download = NULL;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &download), 0);
  ck_assert_int_eq(e2e__echo_client__download_recv_headers(download, &md), 1);
  E2e__Chunk *c;
  int n = 0;
  while (e2e__echo_client__download_recv(download, &c) == 1) {
    ck_assert(chunk_ok(c, n++, 10));
    e2e__chunk__free_unpacked(c, NULL);
  }
  ck_assert_int_eq(n, 3);
  ck_assert_int_eq(e2e__echo_client__download_finish(download, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__download_free(download);

  /* An error without messages is Trailers-Only: no headers, and finish says why. */
  req.count = 0;
  req.status_code = CGRPC_STATUS_NOT_FOUND;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &download), 0);
  ck_assert_int_eq(e2e__echo_client__download_recv_headers(download, &md), 0);
  ck_assert_int_eq(e2e__echo_client__download_finish(download, NULL), CGRPC_STATUS_NOT_FOUND);
  e2e__echo_client__download_free(download);
  cgrpc_channel_free(ch);
}
END_TEST

static cgrpc_call_options *async_opts(void)
{
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  cgrpc_call_options_add_metadata(o, "x-async", "1", 1);
  return o;
}

static void upload_on_headers(E2e__Echo_UploadCall *call, const cgrpc_metadata *md, void *ud)
{
  typed_headers(ud, call, md);
}

static void upload_on_message(E2e__Echo_UploadCall *call, E2e__UploadSummary *sum, void *ud)
{
  typed_state *t = ud;
  typed_message(t, call, 0);
  t->summary_chunks = (int)sum->chunks; /* read once on_done has run */
  e2e__upload_summary__free_unpacked(sum, NULL);
}

static void upload_on_done(E2e__Echo_UploadCall *call, cgrpc_status *status, void *ud)
{
  typed_state *t = ud;
  typed_saw(t, call);
  waiter_done(&t->w, status->code);
}

START_TEST(typed_callbacks_serve_client_and_server_streams_without_a_thread)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  cgrpc_call_options *o = async_opts();

  /* Client-streaming: the server counts the chunks in on_message and answers from
   * on_recv_done; the client takes the answer in its callbacks. */
  static const E2e__Echo_UploadCallbacks upload_cbs = {.on_headers = upload_on_headers,
                                                       .on_message = upload_on_message,
                                                       .on_done = upload_on_done};
  typed_state t;
  typed_init(&t);
  E2e__Echo_UploadCall *upload = NULL;
  ck_assert_int_eq(e2e__echo_client__upload_async(ch, o, &upload_cbs, &t, &upload), 0);
  for (int i = 0; i < 300; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.seq = i;
    ck_assert_int_eq(e2e__echo_client__upload_send(upload, &c), 0);
  }
  ck_assert_int_eq(e2e__echo_client__upload_close_send(upload), 0);
  waiter_wait(&t.w);
  ck_assert_int_eq(t.w.codes[0], CGRPC_STATUS_OK);
  ck_assert_int_eq(t.messages, 1);
  ck_assert_int_eq(t.summary_chunks, 300);
  ck_assert_int_eq(t.headers, 1);
  ck_assert_int_eq(t.headers_before, 0);
  ck_assert(t.same_handle);
  e2e__echo_client__upload_free(upload);

  /* The same, blocking on the client's side. */
  ck_assert_int_eq(e2e__echo_client__upload(ch, o, &upload), 0);
  for (int i = 0; i < 10; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    ck_assert_int_eq(e2e__echo_client__upload_send(upload, &c), 0);
  }
  E2e__UploadSummary *sum = NULL;
  ck_assert_int_eq(e2e__echo_client__upload_close_and_recv(upload, &sum, NULL), CGRPC_STATUS_OK);
  ck_assert_int_eq(sum->chunks, 10);
  e2e__upload_summary__free_unpacked(sum, NULL);
  e2e__echo_client__upload_free(upload);

  /* Server-streaming: the server sends with try_send, going on from on_send_ready once its
   * buffer is full (4 MiB is far more than it holds). */
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = 64;
  req.size = 64 * 1024;
  E2e__Echo_DownloadCall *download = NULL;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, o, &download), 0);
  E2e__Chunk *c;
  int n = 0;
  while (e2e__echo_client__download_recv(download, &c) == 1) {
    ck_assert(chunk_ok(c, n++, 64 * 1024));
    e2e__chunk__free_unpacked(c, NULL);
  }
  ck_assert_int_eq(n, 64);
  ck_assert_int_eq(e2e__echo_client__download_finish(download, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__download_free(download);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(a_typed_async_handler_sees_the_client_go_away)
{
  /* Relay's on_cancel finishes the call with CANCELLED: the server counts it. */
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  int before = stats_cancelled(ch);
  E2e__Echo_RelayCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__relay(ch, NULL, &call), 0);
  const cgrpc_metadata *md = NULL;
  ck_assert_int_eq(e2e__echo_client__relay_recv_headers(call, &md), 1); /* the handler runs */
  e2e__echo_client__relay_cancel(call);
  ck_assert_int_eq(e2e__echo_client__relay_finish(call, NULL), CGRPC_STATUS_CANCELLED);
  e2e__echo_client__relay_free(call);
  expect_server_saw_cancel(ch, before);
  cgrpc_channel_free(ch);
}
END_TEST

/* ---- compression --------------------------------------------------------------------------- */

static E2e__EchoReply *echo_with(cgrpc_channel *ch, const char *call_compression,
                                 const char *response_compression, size_t payload, cgrpc_code want)
{
  uint8_t *data = malloc(payload + 1);
  for (size_t i = 0; i < payload; i++)
    data[i] = (uint8_t)(i % 13);
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.payload.data = data;
  req.payload.len = payload;
  req.compression = (char *)response_compression;
  cgrpc_call_options *o = NULL;
  if (call_compression != NULL) {
    cgrpc_call_options_new(&o);
    ck_assert_int_eq(cgrpc_call_options_set_compression(o, call_compression), 0);
  }
  E2e__EchoReply *reply = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = e2e__echo_client__echo(ch, &req, &reply, o, &st);
  ck_assert_msg(code == want, "got %s (%s)", cgrpc_code_name(code), st.message);
  if (reply != NULL) {
    ck_assert_uint_eq(reply->payload.len, payload);
    ck_assert(payload == 0 || memcmp(reply->payload.data, data, payload) == 0);
  }
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  free(data);
  return reply;
}

START_TEST(unary_calls_compress_both_ways_with_gzip_and_deflate)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  static const char *const encodings[] = {"gzip", "deflate"};
  for (int i = 0; i < 2; i++) {
    E2e__EchoReply *r = echo_with(ch, encodings[i], encodings[1 - i], 200000, CGRPC_STATUS_OK);
    ck_assert_msg(r->request_compressed, "%s request not compressed", encodings[i]);
    e2e__echo_reply__free_unpacked(r, NULL);
  }
  E2e__EchoReply *r = echo_with(ch, NULL, "", 1000, CGRPC_STATUS_OK);
  ck_assert(!r->request_compressed);
  e2e__echo_reply__free_unpacked(r, NULL);
  r = echo_with(ch, "identity", "identity", 0, CGRPC_STATUS_OK); /* empty messages too */
  ck_assert(!r->request_compressed);
  e2e__echo_reply__free_unpacked(r, NULL);
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  ck_assert_int_eq(cgrpc_call_options_set_compression(o, "snappy"), CGRPC_ERR_INVALID_ARGUMENT);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(a_channel_default_compression_applies_to_every_call)
{
  cgrpc_channel_options *opts;
  cgrpc_channel_options_new(&opts);
  ck_assert_int_eq(cgrpc_channel_options_set_compression(opts, "gzip"), 0);
  cgrpc_channel *ch = channel_to(srv.port, opts);
  cgrpc_channel_options_free(opts);
  E2e__EchoReply *r = echo_with(ch, NULL, "", 5000, CGRPC_STATUS_OK);
  ck_assert(r->request_compressed);
  e2e__echo_reply__free_unpacked(r, NULL);
  r = echo_with(ch, "identity", "", 5000, CGRPC_STATUS_OK); /* a call may opt out */
  ck_assert(!r->request_compressed);
  e2e__echo_reply__free_unpacked(r, NULL);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(streams_compress_message_by_message)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  cgrpc_call_options_set_compression(o, "gzip");
  E2e__Echo_UploadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__upload(ch, o, &call), 0);
  uint8_t data[4000];
  memset(data, 'z', sizeof data);
  for (int i = 0; i < 30; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.data.data = data;
    c.data.len = sizeof data;
    ck_assert_int_eq(cgrpc_call_send_flags(e2e__echo_client__upload_call(call), &c.base, i % 3 == 2 ? CGRPC_SEND_NO_COMPRESS : 0), 0);
  }
  E2e__UploadSummary *sum = NULL;
  ck_assert_int_eq(e2e__echo_client__upload_close_and_recv(call, &sum, NULL), CGRPC_STATUS_OK);
  ck_assert_int_eq(sum->chunks, 30);
  ck_assert_int_eq(sum->compressed, 20);
  e2e__upload_summary__free_unpacked(sum, NULL);
  e2e__echo_client__upload_free(call);
  cgrpc_call_options_free(o);

  /* The server compresses two of every three chunks it sends. */
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = 30;
  req.size = 50000;
  req.compression = "deflate";
  E2e__Echo_DownloadCall *download = NULL;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &download), 0);
  E2e__Chunk *c;
  int n = 0;
  while (e2e__echo_client__download_recv(download, &c) == 1) {
    ck_assert(chunk_ok(c, n++, 50000));
    e2e__chunk__free_unpacked(c, NULL);
  }
  ck_assert_int_eq(n, 30);
  ck_assert_int_eq(e2e__echo_client__download_finish(download, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__download_free(download);
  cgrpc_channel_free(ch);
}
END_TEST

static void echo_on_done(cgrpc_status *status, E2e__EchoReply *response, void *ud)
{
  e2e__echo_reply__free_unpacked(response, NULL);
  waiter_done(ud, status->code);
}

/* Downloads count chunks, the server compressing with encoding ("" for none)
 * all but every third; returns the mask of those recv saw compressed. */
static unsigned download_compressed_mask(cgrpc_channel *ch, const char *encoding, int count)
{
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = count;
  req.size = 3000;
  req.compression = (char *)encoding;
  E2e__Echo_DownloadCall *call = NULL;
  ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &call), 0);
  ck_assert(!cgrpc_call_response_compressed(e2e__echo_client__download_call(call))); /* nothing received yet */
  E2e__Chunk *c;
  unsigned mask = 0;
  int n = 0;
  while (e2e__echo_client__download_recv(call, &c) == 1) {
    ck_assert(chunk_ok(c, n, 3000));
    if (cgrpc_call_response_compressed(e2e__echo_client__download_call(call)))
      mask |= 1u << n;
    n++;
    e2e__chunk__free_unpacked(c, NULL);
  }
  ck_assert_int_eq(n, count);
  ck_assert_int_eq(e2e__echo_client__download_finish(call, NULL), CGRPC_STATUS_OK);
  e2e__echo_client__download_free(call);
  return mask;
}

START_TEST(the_client_tells_which_responses_arrived_compressed)
{
  cgrpc_channel *ch = channel_to(srv.port, NULL);
  /* Blocking recv, message by message: the server sends every third chunk
   * with CGRPC_SEND_NO_COMPRESS: bits 0, 1, 3, 4, 6 and 7. */
  ck_assert_uint_eq(download_compressed_mask(ch, "gzip", 9), 0xdbu);
  ck_assert_uint_eq(download_compressed_mask(ch, "deflate", 9), 0xdbu);
  ck_assert_uint_eq(download_compressed_mask(ch, "", 9), 0u);

  /* on_message of an asynchronous stream. */
  async_state a;
  download_async(ch, 6, 3000, "gzip", &a);
  ck_assert_uint_eq(a.compressed_mask, 0x1bu);
  download_async(ch, 6, 3000, "", &a);
  ck_assert_uint_eq(a.compressed_mask, 0u);

  /* An asynchronous unary call's response, and a unary method through the
   * streaming API, compressed or not. */
  cgrpc_call *call = NULL;
  for (int compress = 0; compress < 2; compress++) {
    E2e__EchoRequest ereq = E2E__ECHO_REQUEST__INIT;
    ereq.response_size = 5000;
    ereq.compression = compress ? "gzip" : "";
    waiter w;
    waiter_init(&w, 1);
    ck_assert_int_eq(e2e__echo_client__echo_async(ch, &ereq, NULL, echo_on_done, &w, &call), 0);
    waiter_wait(&w);
    ck_assert_int_eq(w.codes[0], CGRPC_STATUS_OK);
    ck_assert_int_eq(cgrpc_call_response_compressed(call), compress);
    cgrpc_call_free(call);

    const cgrpc_method_desc *echo = &e2e__echo__cgrpc_service.methods[E2E__ECHO__METHOD_ECHO];
    ck_assert_int_eq(cgrpc_call_start_stream(ch, echo, &ereq.base, NULL, &call), 0);
    ProtobufCMessage *reply = NULL;
    ck_assert_int_eq(cgrpc_call_recv(call, &reply), 1);
    ck_assert_int_eq(cgrpc_call_response_compressed(call), compress);
    ck_assert_uint_eq(((E2e__EchoReply *)reply)->payload.len, 5000);
    protobuf_c_message_free_unpacked(reply, NULL);
    ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_OK);
    cgrpc_call_free(call);
  }
  ck_assert(!cgrpc_call_response_compressed(NULL));
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(compression_bombs_are_refused_before_they_are_inflated)
{
  /* 8 MiB of zeros is a few KiB gzipped: small on the wire, over the limit inflated. */
  static const char *const extra[] = {"--max-recv", "65536", NULL};
  server_proc small;
  server_start(&small, extra);
  cgrpc_channel *ch = channel_to(small.port, NULL);
  cgrpc_call_options *o;
  cgrpc_call_options_new(&o);
  cgrpc_call_options_set_compression(o, "gzip");
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.payload.len = 8 << 20;
  req.payload.data = calloc(1, req.payload.len);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(e2e__echo_client__echo(ch, &req, NULL, o, &st), CGRPC_STATUS_RESOURCE_EXHAUSTED);
  ck_assert_ptr_nonnull(strstr(st.message, "decompressed"));
  cgrpc_status_clear(&st);
  /* In a client stream, the handler's thread inflates it as it reads it: the same answer. */
  E2e__Echo_UploadCall *up = NULL;
  ck_assert_int_eq(e2e__echo_client__upload(ch, o, &up), 0);
  E2e__Chunk c = E2E__CHUNK__INIT;
  c.data.data = req.payload.data;
  c.data.len = req.payload.len;
  ck_assert_int_eq(e2e__echo_client__upload_send(up, &c), 0);
  E2e__UploadSummary *sum = NULL;
  ck_assert_int_eq(e2e__echo_client__upload_close_and_recv(up, &sum, &st),
                   CGRPC_STATUS_RESOURCE_EXHAUSTED);
  ck_assert_ptr_nonnull(strstr(st.message, "decompressed"));
  ck_assert_ptr_null(sum);
  cgrpc_status_clear(&st);
  e2e__echo_client__upload_free(up);
  free(req.payload.data);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
  ck_assert_int_eq(server_stop(&small), 0);

  /* And the client's limit holds against a server's bomb. */
  cgrpc_channel_options *copts;
  cgrpc_channel_options_new(&copts);
  cgrpc_channel_options_set_max_recv_message_size(copts, 65536);
  ch = channel_to(srv.port, copts);
  cgrpc_channel_options_free(copts);
  E2e__EchoRequest big = E2E__ECHO_REQUEST__INIT;
  big.response_size = 8 << 20;
  big.compression = "gzip";
  ck_assert_int_eq(e2e__echo_client__echo(ch, &big, NULL, NULL, &st), CGRPC_STATUS_RESOURCE_EXHAUSTED);
  ck_assert_ptr_nonnull(strstr(st.message, "decompressed"));
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
}
END_TEST

static Suite *stream_suite(void)
{
  Suite *s = suite_create("stream");
  TCase *tc = tcase_create("streams");
  tcase_set_timeout(tc, 60 * slowdown());
  tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
  tcase_add_test(tc, server_streaming_delivers_every_message_in_order_then_the_status);
  tcase_add_test(tc, client_streaming_sends_everything_and_gets_one_answer);
  tcase_add_test(tc, a_stream_with_no_messages_at_all_is_fine);
  tcase_add_test(tc, bidi_ping_pong_with_a_blocking_handler);
  tcase_add_test(tc, bidi_ping_pong_with_a_callback_handler);
  tcase_add_test(tc, many_small_messages_share_data_frames);
  tcase_add_test(tc, a_server_that_ends_early_ends_the_clients_reads_with_its_status);
  tcase_add_test(tc, finish_without_reading_ends_a_server_stream_that_is_over);
  tcase_add_test(tc, messages_of_a_server_stream_that_is_over_outlive_its_deadline);
  tcase_add_test(tc, half_close_lets_the_server_finish_sending);
  tcase_add_test(tc, client_cancel_mid_stream_reaches_the_server_promptly);
  tcase_add_test(tc, a_deadline_mid_stream_ends_both_sides);
  tcase_add_test(tc, the_server_going_away_mid_stream_is_unavailable);
  tcase_add_test(tc, the_client_going_away_mid_stream_cancels_the_handler);
  tcase_add_test(tc, a_fast_writer_is_held_back_by_a_slow_reader_with_bounded_memory);
  tcase_add_test(tc, a_slow_reader_holds_back_a_fast_server);
  tcase_add_test(tc, asynchronous_streams_deliver_through_callbacks);
  tcase_add_test(tc, try_send_says_again_when_full_and_on_send_ready_follows);
  tcase_add_test(tc, typed_callbacks_carry_a_bidi_call_on_both_sides_headers_first);
  tcase_add_test(tc, on_headers_comes_before_the_first_message_that_carries_them);
  tcase_add_test(tc, recv_headers_returns_the_headers_before_any_message);
  tcase_add_test(tc, typed_callbacks_serve_client_and_server_streams_without_a_thread);
  tcase_add_test(tc, a_typed_async_handler_sees_the_client_go_away);
  tcase_add_test(tc, unary_calls_compress_both_ways_with_gzip_and_deflate);
  tcase_add_test(tc, a_channel_default_compression_applies_to_every_call);
  tcase_add_test(tc, streams_compress_message_by_message);
  tcase_add_test(tc, the_client_tells_which_responses_arrived_compressed);
  tcase_add_test(tc, compression_bombs_are_refused_before_they_are_inflated);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  SRunner *sr = srunner_create(stream_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
