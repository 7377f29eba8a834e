/* 10,000 streams ended every way there is leave both sides' heap and fds where they started. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counting_alloc.h"
#include "e2e.cgrpc.h"
#include "harness.h"

static server_proc srv;
static counting_alloc cli; /* every allocation of the client library */
static cgrpc_channel_options *cli_opts;

typedef enum {
  END_NORMALLY,      /* all messages read, OK */
  END_BY_CANCEL,     /* the client cancels mid-stream */
  END_BY_DEADLINE,   /* the deadline passes mid-stream */
  END_BY_SERVER,     /* the server ends early; our side is reset */
  END_BY_DISCONNECT, /* the client's connection goes away mid-stream */
  NPATHS
} ending;

static const char *const ending_names[NPATHS] = {"normal", "cancel", "deadline", "server-end",
                                                 "disconnect"};

static cgrpc_channel *new_channel(void)
{
  char target[32];
  snprintf(target, sizeof target, "127.0.0.1:%d", srv.port);
  cgrpc_channel *ch = NULL;
  ck_assert_int_eq(cgrpc_channel_new(&ch, target, cli_opts), 0);
  return ch;
}

static void free_chunk(cgrpc_channel *ch, E2e__Chunk *c)
{
  e2e__chunk__free_unpacked(c, cgrpc_channel_protobuf_allocator(ch));
}

/* One stream, ended the given way; checks it ended with the right status. */
static void one_stream(cgrpc_channel *shared, ending how)
{
  cgrpc_call *call = NULL; /* the typed handle's, for the common ending */
  E2e__Chunk *c = NULL;
  cgrpc_code want = CGRPC_STATUS_OK;
  cgrpc_channel *ch = how == END_BY_DISCONNECT ? new_channel() : shared;
  switch (how) {
  case END_NORMALLY:
  case END_BY_CANCEL: {
    E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
    req.count = how == END_NORMALLY ? 3 : 1000;
    req.size = 100;
    req.sleep_ms = how == END_NORMALLY ? 0 : 2;
    E2e__Echo_DownloadCall *download = NULL;
    ck_assert_int_eq(e2e__echo_client__download(ch, &req, NULL, &download), 0);
    call = e2e__echo_client__download_call(download);
    if (e2e__echo_client__download_recv(download, &c) != 1) {
      cgrpc_status st = CGRPC_STATUS_INIT;
      e2e__echo_client__download_finish(download, &st);
      ck_abort_msg("%s: no first message: %s (%s)", ending_names[how], cgrpc_code_name(st.code),
                   st.message);
    }
    free_chunk(ch, c);
    if (how == END_BY_CANCEL) {
      e2e__echo_client__download_cancel(download);
      want = CGRPC_STATUS_CANCELLED;
    }
    while (e2e__echo_client__download_recv(download, &c) == 1)
      free_chunk(ch, c);
    break;
  }
  case END_BY_DEADLINE: {
    cgrpc_call_options *o = timeout_opts(20);
    E2e__Echo_ChatCall *chat = NULL;
    ck_assert_int_eq(e2e__echo_client__chat(ch, o, &chat), 0);
    call = e2e__echo_client__chat_call(chat);
    cgrpc_call_options_free(o);
    E2e__Chunk out = E2E__CHUNK__INIT;
    out.sleep_ms = 2000;
    e2e__echo_client__chat_send(chat, &out);
    while (e2e__echo_client__chat_recv(chat, &c) == 1)
      free_chunk(ch, c);
    want = CGRPC_STATUS_DEADLINE_EXCEEDED;
    break;
  }
  case END_BY_SERVER: {
    E2e__Echo_ChatCall *chat = NULL;
    ck_assert_int_eq(e2e__echo_client__chat(ch, NULL, &chat), 0);
    call = e2e__echo_client__chat_call(chat);
    E2e__Chunk out = E2E__CHUNK__INIT;
    out.status_code = CGRPC_STATUS_ABORTED;
    e2e__echo_client__chat_send(chat, &out);
    out.status_code = 0;
    /* Keep our side open and busy: the server's end resets it. */
    for (int i = 0; i < 1000 && e2e__echo_client__chat_send(chat, &out) == 0; i++)
      if (i % 50 == 49)
        sleep_ms(1);
    want = CGRPC_STATUS_ABORTED;
    break;
  }
  case END_BY_DISCONNECT: {
    E2e__Echo_UploadCall *upload = NULL;
    ck_assert_int_eq(e2e__echo_client__upload(ch, NULL, &upload), 0);
    call = e2e__echo_client__upload_call(upload);
    E2e__Chunk out = E2E__CHUNK__INIT;
    ck_assert_int_eq(e2e__echo_client__upload_send(upload, &out), 0);
    cgrpc_channel_free(ch); /* closes the connection under the stream */
    want = CGRPC_STATUS_CANCELLED;
    break;
  }
  default:
    ck_abort();
  }
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code got = cgrpc_call_finish(call, &st);
  ck_assert_msg(got == want, "%s: %s (%s)", ending_names[how], cgrpc_code_name(got), st.message);
  cgrpc_status_clear(&st);
  cgrpc_call_free(call);
}

typedef struct worker {
  cgrpc_channel *ch;
  ending how;
  int n;
} worker;

static void *worker_main(void *arg)
{
  worker *w = arg;
  for (int i = 0; i < w->n; i++)
    one_stream(w->ch, w->how);
  return NULL;
}

/* n streams ended one way, from several threads at once. */
static void run_streams(cgrpc_channel *ch, ending how, int n)
{
  enum { THREADS = 8 };
  pthread_t t[THREADS];
  worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){ch, how, n / THREADS + (i < n % THREADS)};
    pthread_create(&t[i], NULL, worker_main, &w[i]);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
}

static int open_fds(void)
{
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  if (d != NULL)
    closedir(d);
  return n - 1;
}

static E2e__StatsReply *server_stats(cgrpc_channel *ch)
{
  E2e__StatsRequest req = E2E__STATS_REQUEST__INIT;
  E2e__StatsReply *reply = NULL;
  ck_assert_int_eq(e2e__echo_client__stats(ch, &req, &reply, NULL, NULL), CGRPC_STATUS_OK);
  return reply;
}

START_TEST(ten_thousand_streams_ended_every_way_leave_heap_and_fds_as_they_were)
{
  int per_path = (wrapped() ? 1000 : 10000) / NPATHS;
  cgrpc_channel *ch = new_channel();
  /* Warm up every path, so that what legitimately stays is in the baseline:
   * mostly the HPACK header tables, which fill up to 4 KiB each way. */
  for (int how = 0; how < NPATHS; how++)
    run_streams(ch, (ending)how, wrapped() ? 16 : 100);
  sleep_ms(200);
  long cli_blocks = counting_alloc_blocks(&cli), cli_bytes = counting_alloc_bytes(&cli);
  int cli_fds = open_fds();
  E2e__StatsReply *base = server_stats(ch);

  for (int how = 0; how < NPATHS; how++)
    run_streams(ch, (ending)how, per_path);

  /* The server finishes cancelled handlers and closes dropped connections
   * a little after the client has moved on. */
  E2e__StatsReply *now = NULL;
  for (int i = 0; i < 200 * slowdown(); i++) {
    if (now != NULL)
      e2e__stats_reply__free_unpacked(now, cgrpc_channel_protobuf_allocator(ch));
    now = server_stats(ch);
    if (now->live_blocks <= base->live_blocks + 256 && now->open_fds <= base->open_fds)
      break;
    sleep_ms(25);
  }
  long d_blocks = counting_alloc_blocks(&cli) - cli_blocks;
  long d_bytes = counting_alloc_bytes(&cli) - cli_bytes;
  printf("client: %+ld blocks %+ld bytes, %+d fds; server: %+lld blocks %+lld bytes, %+d fds "
         "after %d streams\n",
         d_blocks, d_bytes, open_fds() - cli_fds, (long long)(now->live_blocks - base->live_blocks),
         (long long)(now->live_bytes - base->live_bytes), now->open_fds - base->open_fds,
         per_path * NPATHS);
  /* A leak of even one block per stream would be thousands; what may move is
   * bounded state: the HPACK tables (4 KiB each way, some 60-byte entries). */
  ck_assert_int_le(d_blocks, 256);
  ck_assert_int_le(d_bytes, 64 * 1024);
  ck_assert_int_eq(open_fds(), cli_fds);
  ck_assert_int_le(now->live_blocks - base->live_blocks, 256);
  ck_assert_int_le(now->live_bytes - base->live_bytes, 64 * 1024);
  ck_assert_int_eq(now->open_fds, base->open_fds);
  ck_assert_int_ge(now->cancelled - base->cancelled, per_path); /* the server saw them end */
  e2e__stats_reply__free_unpacked(now, cgrpc_channel_protobuf_allocator(ch));
  e2e__stats_reply__free_unpacked(base, cgrpc_channel_protobuf_allocator(ch));
  cgrpc_channel_free(ch);
  ck_assert_int_eq(counting_alloc_blocks(&cli), 0); /* and a freed channel frees it all */
}
END_TEST

static void setup(void)
{
  counting_alloc_init(&cli);
  ck_assert_int_eq(cgrpc_channel_options_new(&cli_opts), 0);
  cgrpc_channel_options_set_allocator(cli_opts, &cli.alloc);
  server_start(&srv, NULL);
}

static void teardown(void)
{
  cgrpc_channel_options_free(cli_opts);
  int rv = server_stop(&srv);
  if (rv != 0) {
    fprintf(stderr, "e2e_server exited with %d\n", rv);
    abort();
  }
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  Suite *s = suite_create("leaks");
  TCase *tc = tcase_create("streams");
  tcase_set_timeout(tc, 300 * slowdown());
  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_add_test(tc, ten_thousand_streams_ended_every_way_leave_heap_and_fds_as_they_were);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
