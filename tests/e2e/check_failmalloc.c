/* Failing allocations: the Nth allocation of the server, then of the client, fails, for every N
 * a scenario of one call of each kind makes (unary, server streaming, client streaming, bidi),
 * and each run must end cleanly -- every call with a status (any: the failure may end it),
 * what did succeed whole and right, and both sides' heaps back to nothing once freed.  A crash
 * or a use after free shows under ASan and valgrind; a leak, here. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "counting_alloc.h"
#include "harness.h"
#include "kinds_server.h"

/* Every call's deadline: a failure that loses a message ends its call here at the latest. */
#define CALL_MS 300

static counting_alloc srv_heap, cli_heap;

static void free_msg(cgrpc_channel *ch, ProtobufCMessage *m)
{
  protobuf_c_message_free_unpacked(m, cgrpc_channel_protobuf_allocator(ch));
}

/* Options with the call's deadline, and its request compressed with encoding unless NULL. */
static cgrpc_call_options *call_opts_with(const char *encoding)
{
  cgrpc_call_options *o = NULL;
  if (cgrpc_call_options_new(&o) == 0) {
    cgrpc_call_options_set_timeout_ms(o, CALL_MS * slowdown());
    if (encoding != NULL)
      cgrpc_call_options_set_compression(o, encoding);
  }
  return o;
}

static cgrpc_call_options *call_opts(void)
{
  return call_opts_with(NULL);
}

static void unary(cgrpc_channel *ch, const char *encoding)
{
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.payload.data = (uint8_t *)"ping";
  req.payload.len = 4;
  cgrpc_call_options *o = call_opts_with(encoding);
  ProtobufCMessage *resp = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = cgrpc_unary_call(ch, &kinds_methods[K_UNARY], &req.base, &resp, o, &st);
  if (code == CGRPC_STATUS_OK) {
    E2e__EchoReply *r = (E2e__EchoReply *)resp;
    ck_assert(r->payload.len == 4 && memcmp(r->payload.data, "ping", 4) == 0);
  } else {
    ck_assert_ptr_null(resp);
  }
  if (resp != NULL)
    free_msg(ch, resp);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
}

static void download(cgrpc_channel *ch)
{
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.response_size = 3;
  cgrpc_call_options *o = call_opts();
  cgrpc_call *call = NULL;
  if (cgrpc_call_start_stream(ch, &kinds_methods[K_DOWNLOAD], &req.base, o, &call) == 0) {
    ProtobufCMessage *m;
    int n = 0;
    while (cgrpc_call_recv(call, &m) == 1) {
      ck_assert_int_eq(((E2e__Chunk *)m)->seq, n++);
      free_msg(ch, m);
    }
    if (cgrpc_call_finish(call, NULL) == CGRPC_STATUS_OK)
      ck_assert_int_eq(n, 3);
  }
  cgrpc_call_free(call);
  cgrpc_call_options_free(o);
}

static void upload(cgrpc_channel *ch)
{
  cgrpc_call_options *o = call_opts();
  cgrpc_call *call = NULL;
  if (cgrpc_call_start_stream(ch, &kinds_methods[K_UPLOAD], NULL, o, &call) == 0) {
    int sent = 0;
    for (int i = 0; i < 3; i++) {
      E2e__Chunk c = E2E__CHUNK__INIT;
      c.seq = i;
      if (cgrpc_call_send(call, &c.base) != 0)
        break; /* the application knows: it may still close and take the answer */
      sent++;
    }
    ProtobufCMessage *resp = NULL;
    if (cgrpc_call_close_and_recv(call, &resp, NULL) == CGRPC_STATUS_OK)
      ck_assert_int_eq(((E2e__UploadSummary *)resp)->chunks, sent); /* none lost unsaid */
    if (resp != NULL)
      free_msg(ch, resp);
  }
  cgrpc_call_free(call);
  cgrpc_call_options_free(o);
}

static void chat(cgrpc_channel *ch)
{
  cgrpc_call_options *o = call_opts();
  cgrpc_call *call = NULL;
  if (cgrpc_call_start_stream(ch, &kinds_methods[K_CHAT], NULL, o, &call) == 0) {
    int echoed = 0, send_failed = 0;
    for (int i = 0; i < 2; i++) {
      E2e__Chunk c = E2E__CHUNK__INIT;
      c.seq = i;
      ProtobufCMessage *m;
      if (cgrpc_call_send(call, &c.base) != 0) {
        send_failed = 1; /* the application knows */
        break;
      }
      if (cgrpc_call_recv(call, &m) != 1)
        break;
      ck_assert_int_eq(((E2e__Chunk *)m)->seq, i);
      free_msg(ch, m);
      echoed++;
    }
    cgrpc_call_close_send(call);
    if (cgrpc_call_finish(call, NULL) == CGRPC_STATUS_OK && !send_failed)
      ck_assert_int_eq(echoed, 2); /* no echo lost unsaid */
  }
  cgrpc_call_free(call);
  cgrpc_call_options_free(o);
}

/* One run: a server and a channel on their own heaps, a call of each kind, everything freed.
 * Returns how many allocations the failing side made (to know when N has passed them all). */
static long run(counting_alloc *failing, long nth)
{
  counting_alloc_init(&srv_heap);
  counting_alloc_init(&cli_heap);
  failing->fail_nth = nth;
  cgrpc_server_options *so;
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  cgrpc_server_options_set_allocator(so, &srv_heap.alloc);
  cgrpc_channel_options_set_allocator(co, &cli_heap.alloc);
  kinds_server k;
  int started = kinds_try_start(&k, so);
  cgrpc_server_options_free(so);
  if (started == 0) {
    char target[32];
    snprintf(target, sizeof target, "127.0.0.1:%d", k.port);
    cgrpc_channel *ch = NULL;
    if (cgrpc_channel_new(&ch, target, co) == 0) {
      unary(ch, NULL);
      unary(ch, "gzip"); /* the request inflated on the server's handler thread */
      download(ch);
      upload(ch);
      chat(ch);
      unary(ch, NULL); /* and the channel still serves after whatever failed */
    }
    cgrpc_channel_free(ch);
    kinds_stop(&k);
  } else {
    ck_assert_int_eq(started, CGRPC_ERR_NOMEM);
  }
  cgrpc_channel_options_free(co);
  ck_assert_msg(srv_heap.blocks == 0 && cli_heap.blocks == 0,
                "allocation %ld of the %s failed: %ld server and %ld client blocks left", nth,
                failing == &srv_heap ? "server" : "client", srv_heap.blocks, cli_heap.blocks);
  return failing->allocs;
}

/* Every N from 1 until the run makes fewer than N allocations (it no longer reaches the
 * failure); under valgrind every 7th N (each run costs a server and a channel). */
static void sweep(counting_alloc *failing, const char *side)
{
  long all = run(failing, 0);
  ck_assert_int_gt(all, 50);
  long step = slowdown() > 1 ? 7 : 1;
  long n;
  for (n = 1; n <= all; n += step)
    if (run(failing, n) < n)
      break;
  fprintf(stderr, "failmalloc: %s: %ld allocations in a clean run, failed each of 1..%ld%s\n",
          side, all, n - 1, step > 1 ? " (every 7th)" : "");
}

START_TEST(every_server_allocation_can_fail_without_a_crash_or_a_leak)
{
  sweep(&srv_heap, "server");
}
END_TEST

START_TEST(every_client_allocation_can_fail_without_a_crash_or_a_leak)
{
  sweep(&cli_heap, "client");
}
END_TEST

static Suite *failmalloc_suite(void)
{
  Suite *s = suite_create("failmalloc");
  TCase *tc = tcase_create("sweep");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, every_server_allocation_can_fail_without_a_crash_or_a_leak);
  tcase_add_test(tc, every_client_allocation_can_fail_without_a_crash_or_a_leak);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return run_suite(failmalloc_suite());
}
