/* Keepalive (gRFC A8) and connection lifetime (A9) end to end: a client finds a dead path
 * through a TCP proxy that stops forwarding; a server polices clients' pings (too_many_pings)
 * and drops clients that do not answer its own; max_connection_age rotates connections under
 * load without failing calls, max_connection_idle closes idle ones; a graceful shutdown lets
 * 100 calls in flight finish and turns new ones away.  The server runs in this process (faulty.proto's Try, which sleeps as
 * told); the proxy is a thread of this process; raw HTTP/2 clients play the misbehaving
 * peers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>
#include <nghttp2/nghttp2.h>

#include "faulty.cgrpc.h"
#include "harness.h"
#include "rawh2.h"

/* ---- the server ---------------------------------------------------------------------- */

static cgrpc_server *srv;
static int port;
static int calls_started; /* atomic */

static cgrpc_code try_handler(cgrpc_server_call *call, const Faulty__TryRequest *req,
                              Faulty__TryReply *reply, void *ud)
{
  (void)ud;
  __atomic_add_fetch(&calls_started, 1, __ATOMIC_RELAXED);
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(req->sleep_ms);
  while (cgrpc_now() < until && !cgrpc_server_call_is_cancelled(call))
    sleep_ms(5);
  reply->attempt = 1;
  return CGRPC_STATUS_OK;
}

/* Limits of connections' lives and handler threads (0: the default) for the next server_up. */
static int64_t next_idle_ms, next_age_ms, next_grace_ms;
static int next_threads;
static int next_port; /* 0: any free port */
static int64_t next_frame_timeout_ms; /* 0: the default */

/* min_ping_ms < 0: the server's defaults. */
static void server_up(int64_t keepalive_ms, int64_t timeout_ms, int64_t min_ping_ms, int permit)
{
  cgrpc_server_options *o;
  ck_assert_int_eq(cgrpc_server_options_new(&o), 0);
  ck_assert_int_eq(cgrpc_server_options_set_max_connection_idle(o, next_idle_ms), 0);
  ck_assert_int_eq(cgrpc_server_options_set_max_connection_age(o, next_age_ms, next_grace_ms), 0);
  if (next_threads > 0)
    cgrpc_server_options_set_handler_threads(o, next_threads);
  if (next_frame_timeout_ms > 0)
    ck_assert_int_eq(cgrpc_server_options_set_frame_timeout(o, next_frame_timeout_ms), 0);
  ck_assert_int_eq(cgrpc_server_options_set_frame_timeout(o, -1), CGRPC_ERR_INVALID_ARGUMENT);
  next_frame_timeout_ms = 0;
  next_idle_ms = next_age_ms = next_grace_ms = 0;
  next_threads = 0;
  if (keepalive_ms >= 0)
    ck_assert_int_eq(cgrpc_server_options_set_keepalive(o, keepalive_ms, timeout_ms), 0);
  if (min_ping_ms >= 0)
    ck_assert_int_eq(cgrpc_server_options_set_keepalive_policy(o, min_ping_ms, permit), 0);
  ck_assert_int_eq(cgrpc_server_new(&srv, o), 0);
  cgrpc_server_options_free(o);
  Faulty__Faulty_Server impl = FAULTY__FAULTY__SERVER_INIT;
  impl.try_ = try_handler;
  ck_assert_int_eq(faulty__faulty_server__register(srv, &impl, NULL), 0);
  char address[32];
  snprintf(address, sizeof address, "127.0.0.1:%d", next_port);
  next_port = 0;
  ck_assert_int_eq(cgrpc_server_add_listener(srv, address, &port), 0);
  __atomic_store_n(&calls_started, 0, __ATOMIC_RELAXED); /* before any handler can run */
  ck_assert_int_eq(cgrpc_server_start(srv), 0);
}

static void server_down(void)
{
  cgrpc_server_shutdown(srv, 0);
  cgrpc_server_free(srv);
  srv = NULL;
}

/* ---- a TCP proxy that can stop forwarding (a dead path: no FIN, no RST) ------------------- */

typedef struct proxy {
  int lfd;
  int port;
  int backend_port;
  int blackhole; /* atomic: read and drop everything */
  int accepted;  /* atomic: connections accepted so far */
  int stop;      /* atomic */
  pthread_t thread;
} proxy;

static int connect_to(int p)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* Relays between up to 8 client connections and their backend connections. */
static void *proxy_run(void *arg)
{
  proxy *px = arg;
  struct pollfd fds[1 + 16];
  int n = 0; /* pairs */
  int pair[16];
  while (!__atomic_load_n(&px->stop, __ATOMIC_ACQUIRE)) {
    fds[0] = (struct pollfd){px->lfd, POLLIN, 0};
    for (int i = 0; i < 2 * n; i++)
      fds[1 + i] = (struct pollfd){pair[i], POLLIN, 0};
    int polled = n; /* pairs accepted below are polled from the next round */
    if (poll(fds, (nfds_t)(1 + 2 * n), 20) <= 0)
      continue;
    if ((fds[0].revents & POLLIN) && n < 8) {
      int c = accept(px->lfd, NULL, NULL);
      int b = c >= 0 ? connect_to(px->backend_port) : -1;
      if (b >= 0) {
        __atomic_add_fetch(&px->accepted, 1, __ATOMIC_RELAXED);
        pair[2 * n] = c;
        pair[2 * n + 1] = b;
        n++;
      } else if (c >= 0) {
        close(c);
      }
    }
    for (int i = 0; i < 2 * polled; i++) {
      if (!(fds[1 + i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[65536];
      ssize_t r = read(pair[i], buf, sizeof buf);
      if (r > 0 && !__atomic_load_n(&px->blackhole, __ATOMIC_ACQUIRE))
        send(pair[i ^ 1], buf, (size_t)r, MSG_NOSIGNAL);
      if (r <= 0) { /* one side closed: close the pair */
        int p = i / 2;
        close(pair[2 * p]);
        close(pair[2 * p + 1]);
        pair[2 * p] = pair[2 * (n - 1)];
        pair[2 * p + 1] = pair[2 * (n - 1) + 1];
        n--;
        break; /* fds no longer match the pairs: poll again */
      }
    }
  }
  for (int i = 0; i < 2 * n; i++)
    close(pair[i]);
  return NULL;
}

static void proxy_start(proxy *px, int backend_port)
{
  memset(px, 0, sizeof *px);
  px->backend_port = backend_port;
  px->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  ck_assert(bind(px->lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
  ck_assert(listen(px->lfd, 8) == 0);
  ck_assert(getsockname(px->lfd, (struct sockaddr *)&sa, &len) == 0);
  px->port = ntohs(sa.sin_port);
  ck_assert(pthread_create(&px->thread, NULL, proxy_run, px) == 0);
}

static void proxy_stop(proxy *px)
{
  __atomic_store_n(&px->stop, 1, __ATOMIC_RELEASE);
  pthread_join(px->thread, NULL);
  close(px->lfd);
}

static int accepted(proxy *px)
{
  return __atomic_load_n(&px->accepted, __ATOMIC_RELAXED);
}

/* ---- the client side ------------------------------------------------------------------ */

static const cgrpc_method_desc *try_method(void)
{
  return &faulty__faulty__cgrpc_service.methods[FAULTY__FAULTY__METHOD_TRY];
}

static cgrpc_code try_call(cgrpc_channel *ch, int sleep, int64_t timeout_ms, cgrpc_status *st)
{
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "k";
  req.sleep_ms = sleep;
  cgrpc_call_options *o = timeout_opts(timeout_ms);
  ProtobufCMessage *resp = NULL;
  cgrpc_code code = cgrpc_unary_call(ch, try_method(), &req.base, &resp, o, st);
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  cgrpc_call_options_free(o);
  return code;
}

/* max_pings: cgrpc_channel_options_set_max_pings_without_data's, < 0 for its default. */
static cgrpc_channel *channel_keepalive_max(int p, int64_t time_ms, int64_t timeout_ms,
                                            int permit, int max_pings)
{
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  if (time_ms > 0)
    ck_assert_int_eq(cgrpc_channel_options_set_keepalive(co, time_ms, timeout_ms, permit), 0);
  if (max_pings >= 0)
    ck_assert_int_eq(cgrpc_channel_options_set_max_pings_without_data(co, max_pings), 0);
  cgrpc_channel *ch = channel_to(p, co);
  cgrpc_channel_options_free(co);
  return ch;
}

static cgrpc_channel *channel_keepalive(int p, int64_t time_ms, int64_t timeout_ms, int permit)
{
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  if (time_ms > 0)
    ck_assert_int_eq(cgrpc_channel_options_set_keepalive(co, time_ms, timeout_ms, permit), 0);
  cgrpc_channel *ch = channel_to(p, co);
  cgrpc_channel_options_free(co);
  return ch;
}

/* A call sleeping 5 s on the server when the path dies under it. */
static cgrpc_code call_across_dead_path(cgrpc_channel *ch, proxy *px, int64_t timeout_ms,
                                        int64_t *took_ms, cgrpc_status *st)
{
  cgrpc_status warm = CGRPC_STATUS_INIT;
  ck_assert_int_eq(try_call(ch, 0, 5000, &warm), CGRPC_STATUS_OK); /* the connection is up */
  cgrpc_status_clear(&warm);
  __atomic_store_n(&px->blackhole, 1, __ATOMIC_RELEASE);
  cgrpc_time t0 = cgrpc_now();
  cgrpc_code code = try_call(ch, 5000, timeout_ms, st);
  *took_ms = ms_since(t0);
  __atomic_store_n(&px->blackhole, 0, __ATOMIC_RELEASE);
  return code;
}

START_TEST(client_keepalive_finds_a_dead_path_and_the_next_call_gets_a_new_connection)
{
  server_up(-1, 0, -1, 0);
  proxy px;
  proxy_start(&px, port);
  cgrpc_channel *ch = channel_keepalive(px.port, 200, 300, 0);
  cgrpc_status st = CGRPC_STATUS_INIT;
  int64_t took;
  /* A ping at most 200 ms after the last read, then 300 ms for its answer: the call ends
   * long before its 10 s deadline, with UNAVAILABLE. */
  ck_assert_int_eq(call_across_dead_path(ch, &px, 10000, &took, &st), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_msg(strstr(st.message, "keepalive") != NULL, "%s", st.message);
  ck_assert_int_ge(took, 300);
  ck_assert_int_le(took, 500 + 2000 * slowdown());
  cgrpc_status_clear(&st);
  ck_assert_int_eq(try_call(ch, 0, 5000, &st), CGRPC_STATUS_OK);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
  proxy_stop(&px);
  server_down();
}
END_TEST

START_TEST(without_keepalive_a_dead_path_costs_the_whole_deadline)
{
  server_up(-1, 0, -1, 0);
  proxy px;
  proxy_start(&px, port);
  cgrpc_channel *ch = channel_keepalive(px.port, 0, 0, 0);
  cgrpc_status st = CGRPC_STATUS_INIT;
  int64_t took;
  ck_assert_int_eq(call_across_dead_path(ch, &px, 1500, &took, &st),
                   CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert_int_ge(took, 1500);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
  proxy_stop(&px);
  server_down();
}
END_TEST

START_TEST(pings_too_often_get_goaway_too_many_pings)
{
  server_up(-1, 0, 1000, 0);
  rawh2 *c = rawh2_connect(port);
  ck_assert_ptr_nonnull(c);
  /* No call open and pings not permitted without one: every ping after the first is a
   * strike; the third strike gets the GOAWAY. */
  int acked = 0;
  for (int i = 0; i < 6 && rawh2_ping(c, 1000 * slowdown()) == 0; i++)
    acked++;
  uint32_t code = 0;
  char debug[32] = "";
  ck_assert_int_eq(rawh2_wait_goaway(c, 1000 * slowdown(), &code, debug, sizeof debug), 1);
  ck_assert_uint_eq(code, NGHTTP2_ENHANCE_YOUR_CALM);
  ck_assert_str_eq(debug, "too_many_pings");
  ck_assert_int_eq(acked, 4); /* the fourth ping, the third strike, is acked with the GOAWAY */
  rawh2_free(c);
  server_down();
}
END_TEST

START_TEST(a_client_told_too_many_pings_pings_half_as_often)
{
  /* The server allows a ping a second (its answers clear strikes, so pings between calls are
   * fine); the client pings every 30 ms, also without calls.  Each quiet 400 ms after a call,
   * the client's pings pile up strikes until GOAWAY too_many_pings, and the next call opens
   * a new connection -- 8 of them if the client kept its interval; but it doubles it each time
   * (30, 60, 120 ms: 4 pings no longer fit in 400 ms), so the GOAWAYs stop after a few.
   * (By default a client stops after 2 pings until it sends again: no limit here.) */
  server_up(-1, 0, 1000, 1);
  proxy px;
  proxy_start(&px, port);
  cgrpc_channel *ch = channel_keepalive_max(px.port, 30, 1000, 1, 0);
  int failed = 0;
  for (int i = 0; i < 8; i++) {
    cgrpc_status st = CGRPC_STATUS_INIT;
    failed += try_call(ch, 0, 5000, &st) != CGRPC_STATUS_OK;
    cgrpc_status_clear(&st);
    sleep_ms(400);
  }
  ck_assert_int_eq(failed, 0);
  ck_assert_int_ge(accepted(&px), 2);
  ck_assert_int_le(accepted(&px), 5);
  cgrpc_channel_free(ch);
  proxy_stop(&px);
  server_down();
}
END_TEST

START_TEST(a_client_pings_a_quiet_call_twice_so_a_default_server_never_says_too_many_pings)
{
  /* A server at its defaults (a ping each 5 minutes, 2 strikes) and a client pinging after
   * 30 ms without reads, on calls that are quiet for 400 ms: like grpc-core's, the client
   * sends 2 pings, then none until it sends headers or data (the next call) -- else its
   * fourth ping would be the third strike and GOAWAY too_many_pings, a new connection. */
  server_up(-1, 0, -1, 0);
  proxy px;
  proxy_start(&px, port);
  cgrpc_channel *ch = channel_keepalive(px.port, 30, 1000, 0);
  for (int i = 0; i < 3; i++) {
    cgrpc_status st = CGRPC_STATUS_INIT;
    ck_assert_int_eq(try_call(ch, 400, 5000, &st), CGRPC_STATUS_OK);
    cgrpc_status_clear(&st);
  }
  ck_assert_int_eq(accepted(&px), 1);
  cgrpc_channel_free(ch);
  proxy_stop(&px);
  server_down();
}
END_TEST

START_TEST(pings_the_policy_allows_are_answered)
{
  server_up(-1, 0, 100, 1);
  rawh2 *c = rawh2_connect(port);
  ck_assert_ptr_nonnull(c);
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(rawh2_ping(c, 1000 * slowdown()), 0);
    sleep_ms(150);
  }
  ck_assert_int_eq(rawh2_wait_goaway(c, 100, NULL, NULL, 0), 0);
  rawh2_free(c);
  server_down();
}
END_TEST

START_TEST(the_server_drops_a_client_that_does_not_answer_its_pings)
{
  server_up(100, 200, -1, 0);
  /* This client answers pings only while it reads: first it reads (and stays), then it
   * stops reading (and is dropped within 100 + 200 ms and some slack). */
  rawh2 *c = rawh2_connect(port);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(rawh2_wait_goaway(c, 600, NULL, NULL, 0), 0);
  ck_assert_int_eq(rawh2_wait_closed(c, 10), 0);
  sleep_ms(600 + 500 * slowdown());
  ck_assert_int_eq(rawh2_wait_closed(c, 1000 * slowdown()), 1);
  rawh2_free(c);
  server_down();
}
END_TEST

/* Slowloris: a client that begins a request's HEADERS frame and trickles the rest is cut off
 * once the frame has been open for the frame timeout; a client quiet between frames is not. */
START_TEST(a_frame_left_unfinished_ends_the_connection_after_the_frame_timeout)
{
  next_frame_timeout_ms = 300;
  server_up(-1, 0, -1, 0);
  rawh2 *quiet = rawh2_connect(port);
  rawh2 *slow = rawh2_connect(port);
  ck_assert_ptr_nonnull(quiet);
  ck_assert_ptr_nonnull(slow);
  ck_assert_int_eq(rawh2_ping(slow, 1000 * slowdown()), 0);
  /* A HEADERS frame of 200 bytes on stream 1: its 9-byte header and the start of a header
   * field "test" whose value is to be 191 bytes long, then the value a byte at a time. */
  static const uint8_t head[] = {0, 0, 200, 0x1, 0x4, 0, 0, 0, 1,
                                 0x00, 4, 't', 'e', 's', 't', 0x7f, 0x40};
  ck_assert_int_eq(rawh2_send_raw(slow, head, sizeof head), 0);
  cgrpc_time t0 = cgrpc_now();
  uint32_t code = 0;
  int got = 0;
  for (int i = 0; i < 40 && !got; i++) {
    static const uint8_t one = 'a';
    if (rawh2_send_raw(slow, &one, 1) != 0)
      break; /* closed */
    got = rawh2_wait_goaway(slow, 50 * slowdown(), &code, NULL, 0);
  }
  int64_t took_ms = (cgrpc_now() - t0) / 1000000;
  ck_assert_msg(got == 1 || rawh2_wait_closed(slow, 1000 * slowdown()) == 1,
                "the trickling connection is still open after %lld ms", (long long)took_ms);
  if (got == 1)
    ck_assert_msg(code == NGHTTP2_ENHANCE_YOUR_CALM, "GOAWAY %u after %lld ms", code,
                  (long long)took_ms);
  ck_assert_int_ge(took_ms, 250);
  ck_assert_int_lt(took_ms, 300 + 1000 * slowdown());
  /* The quiet one, between frames all along, is still there. */
  ck_assert_int_eq(rawh2_ping(quiet, 1000 * slowdown()), 0);
  rawh2_free(slow);
  rawh2_free(quiet);
  server_down();
}
END_TEST

START_TEST(max_connection_age_rotates_connections_without_failing_calls)
{
  next_age_ms = 200;
  next_grace_ms = 5000;
  server_up(-1, 0, -1, 0);
  proxy px;
  proxy_start(&px, port);
  cgrpc_channel *ch = channel_keepalive(px.port, 0, 0, 0);
  /* Calls one after another for 2 s, each 20 ms on the server: GOAWAY max_age lands
   * between and during them. */
  int calls = 0, failed = 0;
  char first_failure[256] = "";
  cgrpc_time t0 = cgrpc_now();
  while (ms_since(t0) < 2000) {
    cgrpc_status st = CGRPC_STATUS_INIT;
    if (try_call(ch, 20, 5000 * slowdown(), &st) != CGRPC_STATUS_OK && failed++ == 0)
      snprintf(first_failure, sizeof first_failure, "%s", st.message);
    cgrpc_status_clear(&st);
    calls++;
  }
  ck_assert_msg(failed == 0, "%d of %d calls failed; first: %s", failed, calls, first_failure);
  /* About 10 connections at 200 ms each; at least a few even when slowed down. */
  ck_assert_int_ge(accepted(&px), 3);
  cgrpc_channel_free(ch);
  proxy_stop(&px);
  server_down();
}
END_TEST

START_TEST(max_connection_age_grace_ends_calls_that_outlive_it)
{
  next_age_ms = 200;
  next_grace_ms = 300;
  server_up(-1, 0, -1, 0);
  cgrpc_channel *ch = channel_keepalive(port, 0, 0, 0);
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_time t0 = cgrpc_now();
  /* 5 s of work on a connection that must go after about 200 + 300 ms. */
  ck_assert_int_eq(try_call(ch, 5000, 10000, &st), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_ge(ms_since(t0), 180 + 300);
  ck_assert_int_lt(ms_since(t0), 4000);
  cgrpc_status_clear(&st);
  ck_assert_int_eq(try_call(ch, 0, 5000, &st), CGRPC_STATUS_OK); /* on a new connection */
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
  server_down();
}
END_TEST

START_TEST(max_connection_idle_closes_idle_connections)
{
  next_idle_ms = 200;
  server_up(-1, 0, -1, 0);
  proxy px;
  proxy_start(&px, port);
  cgrpc_channel *ch = channel_keepalive(px.port, 0, 0, 0);
  cgrpc_status st = CGRPC_STATUS_INIT;
  /* Busy for longer than the limit: one connection. */
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(try_call(ch, 60, 5000, &st), CGRPC_STATUS_OK);
  ck_assert_int_eq(accepted(&px), 1);
  sleep_ms(600 + 300 * slowdown()); /* idle: GOAWAY max_idle, closed */
  ck_assert_int_eq(try_call(ch, 0, 5000, &st), CGRPC_STATUS_OK);
  ck_assert_int_eq(accepted(&px), 2);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
  proxy_stop(&px);
  server_down();
}
END_TEST

static void *shutdown_thread(void *arg)
{
  cgrpc_server_shutdown(arg, 10000);
  return NULL;
}

typedef struct tally {
  pthread_mutex_t mu;
  int done, ok;
  char first_failure[200];
} tally;

static void tally_done(cgrpc_status *st, ProtobufCMessage *resp, void *ud)
{
  tally *t = ud;
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  pthread_mutex_lock(&t->mu);
  t->done++;
  if (st->code == CGRPC_STATUS_OK)
    t->ok++;
  else if (t->first_failure[0] == '\0')
    snprintf(t->first_failure, sizeof t->first_failure, "%s: %s", cgrpc_code_name(st->code),
             st->message);
  pthread_mutex_unlock(&t->mu);
}

START_TEST(graceful_shutdown_finishes_100_calls_in_flight_and_refuses_new_ones)
{
  next_threads = 16;
  server_up(-1, 0, -1, 0);
  cgrpc_channel *ch = channel_keepalive(port, 0, 0, 0);
  tally t = {.mu = PTHREAD_MUTEX_INITIALIZER};
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "g";
  req.sleep_ms = 100;
  cgrpc_call_options *o = timeout_opts(20000 * slowdown());
  for (int i = 0; i < 100; i++)
    ck_assert_int_eq(cgrpc_unary_call_start(ch, try_method(), &req.base, o, tally_done, &t, NULL),
                     0);
  cgrpc_call_options_free(o);
  cgrpc_time give_up = cgrpc_now() + CGRPC_MS_TO_NS(10000) * slowdown();
  while (__atomic_load_n(&calls_started, __ATOMIC_RELAXED) < 16 && cgrpc_now() < give_up)
    sleep_ms(2);
  /* 16 run, 84 wait for a handler thread: all 100 are in flight. */
  pthread_t th;
  ck_assert(pthread_create(&th, NULL, shutdown_thread, srv) == 0);
  /* Shutdown has begun once the listener refuses connections. */
  give_up = cgrpc_now() + CGRPC_MS_TO_NS(5000) * slowdown();
  for (int fd; (fd = connect_to(port)) >= 0; sleep_ms(2)) {
    close(fd);
    ck_assert_msg(cgrpc_now() < give_up, "the listener still accepts after shutdown began");
  }
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_channel *late = channel_keepalive(port, 0, 0, 0);
  ck_assert_int_eq(try_call(late, 0, 2000, &st), CGRPC_STATUS_UNAVAILABLE);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(late);
  pthread_join(th, NULL);
  give_up = cgrpc_now() + CGRPC_MS_TO_NS(10000) * slowdown();
  for (;;) {
    pthread_mutex_lock(&t.mu);
    int done = t.done;
    pthread_mutex_unlock(&t.mu);
    if (done == 100 || cgrpc_now() > give_up)
      break;
    sleep_ms(5);
  }
  ck_assert_msg(t.ok == 100, "%d of %d calls OK; first failure: %s", t.ok, t.done,
                t.first_failure);
  cgrpc_channel_free(ch);
  cgrpc_server_free(srv);
  srv = NULL;
}
END_TEST

/* A port nothing listens on (for now). */
static cgrpc_channel *channel_backoff(int p, int64_t initial_ms, int64_t max_ms, double jitter)
{
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  ck_assert_int_eq(cgrpc_channel_options_set_connect_backoff(co, initial_ms, 2.0, jitter, max_ms,
                                                             5000),
                   0);
  ck_assert_int_eq(cgrpc_channel_options_set_connect_backoff(co, 0, 2.0, 0, 1, 1),
                   CGRPC_ERR_INVALID_ARGUMENT);
  cgrpc_channel *ch = channel_to(p, co);
  cgrpc_channel_options_free(co);
  return ch;
}

START_TEST(a_failed_connect_backs_off_before_the_next)
{
  int p = free_local_port();
  cgrpc_channel *ch = channel_backoff(p, 400, 2000, 0);
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(try_call(ch, 0, 5000, &st), CGRPC_STATUS_UNAVAILABLE); /* refused */
  cgrpc_status_clear(&st);
  /* TRANSIENT_FAILURE for 400 ms: calls fail at once, even once the server is up. */
  ck_assert_int_eq(try_call(ch, 0, 5000, &st), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_msg(strstr(st.message, "next attempt in") != NULL, "%s", st.message);
  cgrpc_status_clear(&st);
  next_port = p;
  server_up(-1, 0, -1, 0);
  if (ms_since(t0) < 300) {
    ck_assert_int_eq(try_call(ch, 0, 5000, &st), CGRPC_STATUS_UNAVAILABLE);
    ck_assert_msg(strstr(st.message, "next attempt in") != NULL, "%s", st.message);
    cgrpc_status_clear(&st);
  }
  while (ms_since(t0) < 450)
    sleep_ms(10);
  ck_assert_int_eq(try_call(ch, 0, 5000, &st), CGRPC_STATUS_OK); /* the backoff passed */
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
  server_down();
}
END_TEST

static void *restart_server(void *arg)
{
  (void)arg;
  sleep_ms(300);
  int p = port;
  cgrpc_server_shutdown(srv, 0); /* calls in flight end UNAVAILABLE */
  cgrpc_server_free(srv);
  sleep_ms(100);
  next_port = p;
  server_up(-1, 0, -1, 0);
  return NULL;
}

START_TEST(a_restarted_server_costs_no_call_with_a_retry_policy)
{
  server_up(-1, 0, -1, 0);
  cgrpc_channel *ch = channel_backoff(port, 50, 200, 0.2);
  cgrpc_retry_policy rp = {.max_attempts = 5,
                           .initial_backoff_ms = 100,
                           .max_backoff_ms = 400,
                           .backoff_multiplier = 2,
                           .jitter = 0.2,
                           .retryable_codes = 1u << CGRPC_STATUS_UNAVAILABLE};
  cgrpc_call_options *o = timeout_opts(10000 * slowdown());
  cgrpc_call_options_set_retry_policy(o, &rp);
  pthread_t th;
  ck_assert(pthread_create(&th, NULL, restart_server, NULL) == 0);
  int calls = 0, failed = 0;
  char first_failure[256] = "";
  cgrpc_time t0 = cgrpc_now();
  while (ms_since(t0) < 1500) {
    Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
    req.id = "r";
    req.sleep_ms = 10;
    cgrpc_status st = CGRPC_STATUS_INIT;
    ProtobufCMessage *resp = NULL;
    if (cgrpc_unary_call(ch, try_method(), &req.base, &resp, o, &st) != CGRPC_STATUS_OK &&
        failed++ == 0)
      snprintf(first_failure, sizeof first_failure, "%s", st.message);
    if (resp != NULL)
      protobuf_c_message_free_unpacked(resp, NULL);
    cgrpc_status_clear(&st);
    calls++;
  }
  pthread_join(th, NULL);
  ck_assert_msg(failed == 0, "%d of %d calls failed; first: %s", failed, calls, first_failure);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
  server_down();
}
END_TEST

int main(void)
{
  Suite *s = suite_create("keepalive");
  TCase *tc = tcase_create("keepalive");
  tcase_set_timeout(tc, 30 * slowdown());
  tcase_add_test(tc, client_keepalive_finds_a_dead_path_and_the_next_call_gets_a_new_connection);
  tcase_add_test(tc, without_keepalive_a_dead_path_costs_the_whole_deadline);
  tcase_add_test(tc, pings_too_often_get_goaway_too_many_pings);
  tcase_add_test(tc, pings_the_policy_allows_are_answered);
  tcase_add_test(tc, a_client_told_too_many_pings_pings_half_as_often);
  tcase_add_test(tc, a_client_pings_a_quiet_call_twice_so_a_default_server_never_says_too_many_pings);
  tcase_add_test(tc, the_server_drops_a_client_that_does_not_answer_its_pings);
  tcase_add_test(tc, a_frame_left_unfinished_ends_the_connection_after_the_frame_timeout);
  tcase_add_test(tc, max_connection_age_rotates_connections_without_failing_calls);
  tcase_add_test(tc, max_connection_age_grace_ends_calls_that_outlive_it);
  tcase_add_test(tc, max_connection_idle_closes_idle_connections);
  tcase_add_test(tc, graceful_shutdown_finishes_100_calls_in_flight_and_refuses_new_ones);
  tcase_add_test(tc, a_failed_connect_backs_off_before_the_next);
  tcase_add_test(tc, a_restarted_server_costs_no_call_with_a_retry_policy);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
