/* Channels over several addresses: targets, pick_first and round_robin, per-address pools,
 * connectivity states, wait_for_ready, and a server restarted under a stream of calls.  The
 * servers run in this process (faulty.proto's Try, which sleeps as told) and count the calls
 * and connections they serve. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "faulty.cgrpc.h"
#include "harness.h"

/* ---- servers ------------------------------------------------------------------------------ */

#define MAX_PEERS 32

typedef struct backend {
  cgrpc_server *srv;
  int port;
  pthread_mutex_t mu;
  int calls;
  int npeers; /* distinct client connections seen */
  char peers[MAX_PEERS][64];
} backend;

static cgrpc_code try_handler(cgrpc_server_call *call, const Faulty__TryRequest *req,
                              Faulty__TryReply *reply, void *ud)
{
  backend *b = ud;
  const char *peer = cgrpc_server_call_peer(call);
  pthread_mutex_lock(&b->mu);
  b->calls++;
  int known = 0;
  for (int i = 0; i < b->npeers && !known; i++)
    known = strcmp(b->peers[i], peer) == 0;
  if (!known && b->npeers < MAX_PEERS)
    snprintf(b->peers[b->npeers++], sizeof b->peers[0], "%s", peer);
  pthread_mutex_unlock(&b->mu);
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(req->sleep_ms);
  while (cgrpc_now() < until && !cgrpc_server_call_is_cancelled(call))
    sleep_ms(5);
  reply->attempt = 1;
  return CGRPC_STATUS_OK;
}

static uint32_t next_max_connections; /* for the next backend_up; 0: no limit */

/* Starts b on port (0: any free one); max_streams 0: the default. */
static void backend_up(backend *b, int port, uint32_t max_streams)
{
  memset(b, 0, sizeof *b);
  pthread_mutex_init(&b->mu, NULL);
  cgrpc_server_options *o;
  ck_assert_int_eq(cgrpc_server_options_new(&o), 0);
  if (max_streams > 0)
    cgrpc_server_options_set_max_concurrent_streams(o, max_streams);
  ck_assert_int_eq(cgrpc_server_options_set_max_connections(o, next_max_connections), 0);
  next_max_connections = 0;
  ck_assert_int_eq(cgrpc_server_new(&b->srv, o), 0);
  cgrpc_server_options_free(o);
  Faulty__Faulty_Server impl = FAULTY__FAULTY__SERVER_INIT;
  impl.try_ = try_handler;
  ck_assert_int_eq(faulty__faulty_server__register(b->srv, &impl, b), 0);
  char address[32];
  snprintf(address, sizeof address, "127.0.0.1:%d", port);
  ck_assert_int_eq(cgrpc_server_add_listener(b->srv, address, &b->port), 0);
  ck_assert_int_eq(cgrpc_server_start(b->srv), 0);
}

static void backend_down(backend *b)
{
  if (b->srv == NULL)
    return;
  cgrpc_server_shutdown(b->srv, 0);
  cgrpc_server_free(b->srv);
  b->srv = NULL;
  pthread_mutex_destroy(&b->mu);
}

static int backend_calls(backend *b)
{
  pthread_mutex_lock(&b->mu);
  int n = b->calls;
  pthread_mutex_unlock(&b->mu);
  return n;
}

/* ---- clients ------------------------------------------------------------------------------ */

static const cgrpc_method_desc *try_method(void)
{
  return &faulty__faulty__cgrpc_service.methods[FAULTY__FAULTY__METHOD_TRY];
}

static cgrpc_code try_call_opts(cgrpc_channel *ch, int sleep, cgrpc_call_options *o,
                                cgrpc_status *st)
{
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "lb";
  req.sleep_ms = sleep;
  ProtobufCMessage *resp = NULL;
  cgrpc_code code = cgrpc_unary_call(ch, try_method(), &req.base, &resp, o, st);
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  return code;
}

static cgrpc_code try_call(cgrpc_channel *ch, int sleep, int64_t timeout_ms)
{
  cgrpc_call_options *o = timeout_opts(timeout_ms);
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = try_call_opts(ch, sleep, o, &st);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  return code;
}

/* A channel to "ipv4:127.0.0.1:p1,..." with policy, a fast connect backoff and pool. */
static cgrpc_channel *channel_list(const int *ports, int n, const char *policy, int pool,
                                   int pool_max, cgrpc_channel_state_fn watcher, void *ud)
{
  char target[512] = "ipv4:";
  for (int i = 0; i < n; i++)
    snprintf(target + strlen(target), sizeof target - strlen(target), "%s127.0.0.1:%d",
             i > 0 ? "," : "", ports[i]);
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  ck_assert_int_eq(cgrpc_channel_options_set_lb_policy(co, policy), 0);
  ck_assert_int_eq(cgrpc_channel_options_set_connect_backoff(co, 100, 1.6, 0.2, 400, 2000), 0);
  ck_assert_int_eq(cgrpc_channel_options_set_pool(co, pool, pool_max), 0);
  cgrpc_channel_options_set_state_watcher(co, watcher, ud);
  cgrpc_channel *ch = NULL;
  ck_assert_int_eq(cgrpc_channel_new(&ch, target, co), 0);
  cgrpc_channel_options_free(co);
  return ch;
}

/* ---- targets ------------------------------------------------------------------------------ */

START_TEST(targets_are_parsed_and_bad_ones_refused)
{
  static const char *const bad[] = {
      "ipv4:", "ipv4:127.0.0.1", "ipv4:[::1]:5", "ipv6:127.0.0.1:5", "ipv4:127.0.0.1:5,",
      "ipv4:127.0.0.1:5,,127.0.0.1:6", "ipv4:localhost:5", "dns://8.8.8.8/host:5", "unix:",
      "host-without-port",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cgrpc_channel *ch = NULL;
    ck_assert_msg(cgrpc_channel_new(&ch, bad[i], NULL) == CGRPC_ERR_BAD_TARGET, "%s", bad[i]);
  }
  static const char *const good[] = {
      "ipv4:127.0.0.1:5", "ipv4:127.0.0.1:5,127.0.0.2:6", "ipv6:[::1]:5,[::1]:6",
      "dns:///localhost:5", "dns:localhost:5", "localhost:5", "[::1]:5", "unix:/tmp/x.sock",
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    cgrpc_channel *ch = NULL;
    ck_assert_msg(cgrpc_channel_new(&ch, good[i], NULL) == 0, "%s", good[i]);
    ck_assert_int_eq(cgrpc_channel_get_state(ch, 0), CGRPC_CHANNEL_IDLE); /* lazy */
    cgrpc_channel_free(ch);
  }
}
END_TEST

START_TEST(dns_target_tries_every_address_of_the_name)
{
  /* localhost is 127.0.0.1 and, where the host has IPv6, ::1 too: the server listens on
   * 127.0.0.1 only, so whichever comes first, the call gets through. */
  backend b;
  backend_up(&b, 0, 0);
  char target[64];
  snprintf(target, sizeof target, "dns:///localhost:%d", b.port);
  cgrpc_channel *ch = NULL;
  ck_assert_int_eq(cgrpc_channel_new(&ch, target, NULL), 0);
  ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_OK);
  int n = cgrpc_channel_address_count(ch);
  ck_assert_int_ge(n, 1);
  int ready = 0;
  for (int i = 0; i < n; i++) {
    char name[64];
    if (cgrpc_channel_address_state(ch, i, name, sizeof name) == CGRPC_CHANNEL_READY) {
      ready++;
      ck_assert_msg(strstr(name, "127.0.0.1") != NULL, "%s", name);
    }
  }
  ck_assert_int_eq(ready, 1);
  cgrpc_channel_free(ch);
  backend_down(&b);
}
END_TEST

/* ---- pick_first ----------------------------------------------------------------------------- */

START_TEST(pick_first_uses_the_first_address_that_connects)
{
  backend b1, b2;
  backend_up(&b1, 0, 0);
  backend_up(&b2, 0, 0);
  int ports[3] = {free_local_port(), b1.port, b2.port}; /* nothing listens on the first */
  cgrpc_channel *ch = channel_list(ports, 3, "pick_first", 1, 1, NULL, NULL);
  for (int i = 0; i < 20; i++)
    ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_OK);
  ck_assert_int_eq(backend_calls(&b1), 20);
  ck_assert_int_eq(backend_calls(&b2), 0);
  ck_assert_int_eq(cgrpc_channel_address_count(ch), 3);
  char name[64];
  /* The first failed: TRANSIENT_FAILURE, or IDLE once its backoff (100 ms) passed. */
  cgrpc_connectivity_state s0 = cgrpc_channel_address_state(ch, 0, name, sizeof name);
  ck_assert(s0 == CGRPC_CHANNEL_TRANSIENT_FAILURE || s0 == CGRPC_CHANNEL_IDLE);
  char want[64];
  snprintf(want, sizeof want, "ipv4:127.0.0.1:%d", ports[0]);
  ck_assert_str_eq(name, want);
  ck_assert_int_eq(cgrpc_channel_address_state(ch, 1, NULL, 0), CGRPC_CHANNEL_READY);
  ck_assert_int_eq(cgrpc_channel_address_state(ch, 2, NULL, 0), CGRPC_CHANNEL_IDLE);
  ck_assert_int_eq(cgrpc_channel_address_state(ch, 3, name, sizeof name), CGRPC_CHANNEL_SHUTDOWN);
  ck_assert_int_eq(cgrpc_channel_get_state(ch, 0), CGRPC_CHANNEL_READY);
  /* The one in use goes away: the next calls go to the next address that works. */
  backend_down(&b1);
  int ok = 0;
  for (int i = 0; i < 20; i++)
    ok += try_call(ch, 0, 5000) == CGRPC_STATUS_OK;
  ck_assert_int_ge(ok, 19); /* at most the one that finds the connection gone */
  ck_assert_int_eq(backend_calls(&b2), ok);
  cgrpc_channel_free(ch);
  backend_down(&b2);
}
END_TEST

/* ---- round_robin ---------------------------------------------------------------------------- */

START_TEST(round_robin_spreads_calls_and_rides_over_a_stopped_server)
{
  backend b[3];
  int ports[3];
  for (int i = 0; i < 3; i++) {
    backend_up(&b[i], 0, 0);
    ports[i] = b[i].port;
  }
  cgrpc_channel *ch = channel_list(ports, 3, "round_robin", 1, 1, NULL, NULL);
  /* Let every address connect first: calls go to the READY ones only. */
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_OK);
  for (int i = 0; i < 3; i++)
    while (cgrpc_channel_address_state(ch, i, NULL, 0) != CGRPC_CHANNEL_READY &&
           ms_since(t0) < 5000 * slowdown())
      sleep_ms(5);
  int before[3];
  for (int i = 0; i < 3; i++)
    before[i] = backend_calls(&b[i]);
  for (int i = 0; i < 300; i++)
    ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_OK);
  for (int i = 0; i < 3; i++) {
    int n = backend_calls(&b[i]) - before[i];
    ck_assert_msg(n >= 90 && n <= 110, "server %d got %d of 300 calls", i, n);
  }
  /* One stops: the calls go on over the other two. */
  backend_down(&b[1]);
  int c0 = backend_calls(&b[0]), c2 = backend_calls(&b[2]);
  int failed = 0;
  for (int i = 0; i < 100; i++)
    failed += try_call(ch, 0, 5000) != CGRPC_STATUS_OK;
  ck_assert_int_le(failed, 1); /* at most a call that raced the shutdown */
  int n0 = backend_calls(&b[0]) - c0, n2 = backend_calls(&b[2]) - c2;
  ck_assert_int_eq(n0 + n2, 100 - failed);
  ck_assert_msg(n0 >= 40 && n2 >= 40, "after the stop: %d and %d", n0, n2);
  ck_assert_int_ne(cgrpc_channel_address_state(ch, 1, NULL, 0), CGRPC_CHANNEL_READY);
  ck_assert_int_eq(cgrpc_channel_get_state(ch, 0), CGRPC_CHANNEL_READY);
  /* It comes back on the same port: round_robin reconnects it on its own. */
  backend_up(&b[1], ports[1], 0);
  t0 = cgrpc_now();
  while (cgrpc_channel_address_state(ch, 1, NULL, 0) != CGRPC_CHANNEL_READY &&
         ms_since(t0) < 5000 * slowdown())
    sleep_ms(10);
  ck_assert_int_eq(cgrpc_channel_address_state(ch, 1, NULL, 0), CGRPC_CHANNEL_READY);
  for (int i = 0; i < 30; i++)
    ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_OK);
  ck_assert_int_ge(backend_calls(&b[1]), 8);
  cgrpc_channel_free(ch);
  for (int i = 0; i < 3; i++)
    backend_down(&b[i]);
}
END_TEST

/* ---- pools ---------------------------------------------------------------------------------- */

static void async_done(cgrpc_status *st, ProtobufCMessage *resp, void *ud)
{
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  waiter_done(ud, st->code);
}

/* n calls at once, each sleeping ms on the server; returns how many ended OK. */
static int concurrent_calls(cgrpc_channel *ch, int n, int ms)
{
  waiter w;
  waiter_init(&w, n);
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "pool";
  req.sleep_ms = ms;
  cgrpc_call_options *o = timeout_opts(10000 * slowdown());
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(
        cgrpc_unary_call_start(ch, try_method(), &req.base, o, async_done, &w, NULL), 0);
  cgrpc_call_options_free(o);
  int ncodes = 0, ok = 0;
  pthread_mutex_lock(&w.mu);
  while (w.pending > 0)
    pthread_cond_wait(&w.cond, &w.mu);
  ncodes = w.ncodes;
  for (int i = 0; i < ncodes; i++)
    ok += w.codes[i] == CGRPC_STATUS_OK;
  pthread_mutex_unlock(&w.mu);
  waiter_wait(&w);
  return ok;
}

START_TEST(a_full_connection_makes_the_pool_open_another)
{
  backend b;
  backend_up(&b, 0, 2); /* two streams per connection */
  int port = b.port;
  cgrpc_channel *ch = channel_list(&port, 1, "pick_first", 1, 3, NULL, NULL);
  ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_OK); /* connection 1 */
  ck_assert_int_eq(concurrent_calls(ch, 6, 300), 6);
  ck_assert_int_eq(b.npeers, 3); /* 6 streams / 2 per connection */
  /* At the pool's max, calls queue for a free stream instead. */
  ck_assert_int_eq(concurrent_calls(ch, 10, 100), 10);
  ck_assert_int_eq(b.npeers, 3);
  cgrpc_channel_free(ch);
  backend_down(&b);
}
END_TEST

/* The pool grows, but the new connection never gets through (the server takes no more): the
 * waiting call takes the first stream freed on the connection it has, with round_robin too
 * (a growing pool stays READY). */
START_TEST(a_call_waiting_for_a_pool_to_grow_takes_a_freed_stream)
{
  backend b;
  next_max_connections = 1;
  backend_up(&b, 0, 1); /* one stream per connection, one connection */
  int port = b.port;
  cgrpc_channel *ch = channel_list(&port, 1, "round_robin", 1, 2, NULL, NULL);
  ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_OK);
  waiter w;
  waiter_init(&w, 1);
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "slow";
  req.sleep_ms = 300;
  cgrpc_call_options *o = timeout_opts(10000 * slowdown());
  ck_assert_int_eq(cgrpc_unary_call_start(ch, try_method(), &req.base, o, async_done, &w, NULL), 0);
  cgrpc_call_options_free(o);
  sleep_ms(50);
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(try_call(ch, 0, 10000), CGRPC_STATUS_OK);
  /* Not the 2 s the second connection's connect attempt may take. */
  ck_assert_int_lt(ms_since(t0), 1500 * slowdown());
  waiter_wait(&w);
  cgrpc_channel_free(ch);
  backend_down(&b);
}
END_TEST

START_TEST(a_pool_size_keeps_that_many_connections_and_spreads_calls)
{
  backend b;
  backend_up(&b, 0, 0);
  int port = b.port;
  cgrpc_channel *ch = channel_list(&port, 1, "pick_first", 3, 3, NULL, NULL);
  for (int i = 0; i < 30; i++)
    ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_OK);
  ck_assert_int_eq(b.npeers, 3);
  cgrpc_channel_free(ch);
  backend_down(&b);
}
END_TEST

/* ---- connectivity state --------------------------------------------------------------------- */

typedef struct states {
  pthread_mutex_t mu;
  int n;
  cgrpc_connectivity_state seen[32];
} states;

static void record_state(cgrpc_channel *ch, cgrpc_connectivity_state s, void *ud)
{
  (void)ch;
  states *st = ud;
  pthread_mutex_lock(&st->mu);
  if (st->n < 32)
    st->seen[st->n++] = s;
  pthread_mutex_unlock(&st->mu);
}

START_TEST(states_are_queryable_and_watchable)
{
  backend b;
  backend_up(&b, 0, 0);
  states seen = {.n = 0};
  pthread_mutex_init(&seen.mu, NULL);
  int port = b.port;
  cgrpc_channel *ch = channel_list(&port, 1, "pick_first", 1, 1, record_state, &seen);
  ck_assert_int_eq(cgrpc_channel_get_state(ch, 0), CGRPC_CHANNEL_IDLE);
  ck_assert_int_eq(cgrpc_channel_wait_for_state_change(ch, CGRPC_CHANNEL_IDLE,
                                                       cgrpc_now() + CGRPC_MS_TO_NS(100)),
                   0); /* lazy: nothing happens by itself */
  ck_assert_int_eq(cgrpc_channel_get_state(ch, 1), CGRPC_CHANNEL_IDLE); /* ... but now */
  cgrpc_connectivity_state s = CGRPC_CHANNEL_IDLE;
  cgrpc_time deadline = cgrpc_now() + CGRPC_MS_TO_NS(5000 * slowdown());
  while (s != CGRPC_CHANNEL_READY &&
         cgrpc_channel_wait_for_state_change(ch, s, deadline))
    s = cgrpc_channel_get_state(ch, 0);
  ck_assert_int_eq(s, CGRPC_CHANNEL_READY);
  ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_OK);
  /* The server goes: the connection is lost and the channel IDLE again. */
  backend_down(&b);
  while (s == CGRPC_CHANNEL_READY && cgrpc_channel_wait_for_state_change(ch, s, deadline))
    s = cgrpc_channel_get_state(ch, 0);
  ck_assert_int_eq(s, CGRPC_CHANNEL_IDLE);
  /* A call now finds nothing listening: TRANSIENT_FAILURE. */
  ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(cgrpc_channel_get_state(ch, 0), CGRPC_CHANNEL_TRANSIENT_FAILURE);
  cgrpc_channel_free(ch);
  pthread_mutex_lock(&seen.mu);
  static const cgrpc_connectivity_state want[] = {
      CGRPC_CHANNEL_CONNECTING, CGRPC_CHANNEL_READY, CGRPC_CHANNEL_IDLE,
      CGRPC_CHANNEL_CONNECTING, CGRPC_CHANNEL_TRANSIENT_FAILURE, CGRPC_CHANNEL_SHUTDOWN,
  };
  char got[256] = "";
  for (int i = 0; i < seen.n; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), " %s",
             cgrpc_connectivity_state_name(seen.seen[i]));
  ck_assert_msg(seen.n == 6, "states:%s", got);
  for (int i = 0; i < 6; i++)
    ck_assert_msg(seen.seen[i] == want[i], "states:%s", got);
  pthread_mutex_unlock(&seen.mu);
  pthread_mutex_destroy(&seen.mu);
}
END_TEST

/* ---- wait_for_ready -------------------------------------------------------------------------- */

static int late_port;
static backend late;

static void *start_late(void *arg)
{
  (void)arg;
  sleep_ms(300);
  backend_up(&late, late_port, 0);
  return NULL;
}

START_TEST(wait_for_ready_calls_wait_out_transient_failure)
{
  late_port = free_local_port();
  cgrpc_channel *ch = channel_list(&late_port, 1, "pick_first", 1, 1, NULL, NULL);
  /* Nothing listens: a fail-fast call ends UNAVAILABLE at once. */
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(try_call(ch, 0, 5000), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_lt(ms_since(t0), 1000);
  /* One waiting for ready waits until its deadline... */
  cgrpc_call_options *o = timeout_opts(300);
  cgrpc_call_options_set_wait_for_ready(o, 1);
  cgrpc_status st = CGRPC_STATUS_INIT;
  t0 = cgrpc_now();
  ck_assert_int_eq(try_call_opts(ch, 0, o, &st), CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert_int_ge(ms_since(t0), 290);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  /* ... or until the server comes up (300 ms later; the backoff is 100..400 ms). */
  pthread_t th;
  ck_assert(pthread_create(&th, NULL, start_late, NULL) == 0);
  o = timeout_opts(5000 * slowdown());
  cgrpc_call_options_set_wait_for_ready(o, 1);
  t0 = cgrpc_now();
  ck_assert_int_eq(try_call_opts(ch, 0, o, &st), CGRPC_STATUS_OK);
  ck_assert_int_ge(ms_since(t0), 250);
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  pthread_join(th, NULL);
  cgrpc_channel_free(ch);
  backend_down(&late);
}
END_TEST

/* ---- a server restarted under load, no retry policy -------------------------------------- */

typedef struct caller {
  cgrpc_channel *ch;
  volatile int *stop;
  int calls, failed, failed_not_unavailable, failed_started_after_kill;
  /* failed_started_after_kill: failed calls that started once the server was gone */
} caller;

static backend restarted;
static cgrpc_time kill_at; /* atomic */

static void *caller_run(void *arg)
{
  caller *c = arg;
  cgrpc_call_options *o = timeout_opts(5000 * slowdown());
  cgrpc_call_options_set_wait_for_ready(o, 1);
  while (!__atomic_load_n(c->stop, __ATOMIC_ACQUIRE)) {
    cgrpc_time started = cgrpc_now();
    cgrpc_status st = CGRPC_STATUS_INIT;
    cgrpc_code code = try_call_opts(c->ch, 20, o, &st);
    cgrpc_status_clear(&st);
    c->calls++;
    if (code != CGRPC_STATUS_OK) {
      c->failed++;
      c->failed_not_unavailable += code != CGRPC_STATUS_UNAVAILABLE;
      cgrpc_time k = __atomic_load_n(&kill_at, __ATOMIC_ACQUIRE);
      c->failed_started_after_kill += k != 0 && started > k;
    }
  }
  cgrpc_call_options_free(o);
  return NULL;
}

START_TEST(a_restarted_server_fails_only_the_calls_in_flight)
{
  backend_up(&restarted, 0, 0);
  int port = restarted.port;
  cgrpc_channel *ch = channel_list(&port, 1, "pick_first", 1, 1, NULL, NULL);
  volatile int stop = 0;
  caller c[4];
  pthread_t th[4];
  kill_at = 0;
  for (int i = 0; i < 4; i++) {
    c[i] = (caller){.ch = ch, .stop = &stop};
    ck_assert(pthread_create(&th[i], NULL, caller_run, &c[i]) == 0);
  }
  sleep_ms(300);
  backend_down(&restarted); /* calls in flight end UNAVAILABLE */
  __atomic_store_n(&kill_at, cgrpc_now(), __ATOMIC_RELEASE);
  sleep_ms(100);
  backend_up(&restarted, port, 0);
  sleep_ms(600);
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  int calls = 0, failed = 0, other = 0, late_fail = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    calls += c[i].calls;
    failed += c[i].failed;
    other += c[i].failed_not_unavailable;
    late_fail += c[i].failed_started_after_kill;
  }
  ck_assert_int_ge(calls, 20);
  /* At most the 4 in flight (each caller has one); fewer when the server had not taken
   * some yet (refused streams are sent again). */
  ck_assert_msg(failed <= 4, "%d of %d calls failed", failed, calls);
  ck_assert_int_eq(other, 0);     /* UNAVAILABLE, each of them */
  ck_assert_int_eq(late_fail, 0); /* calls started after the kill waited for the restart */
  ck_assert_int_gt(backend_calls(&restarted), 4);
  cgrpc_channel_free(ch);
  backend_down(&restarted);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("lb");
  TCase *tc = tcase_create("lb");
  tcase_set_timeout(tc, 30 * slowdown());
  tcase_add_test(tc, targets_are_parsed_and_bad_ones_refused);
  tcase_add_test(tc, dns_target_tries_every_address_of_the_name);
  tcase_add_test(tc, pick_first_uses_the_first_address_that_connects);
  tcase_add_test(tc, round_robin_spreads_calls_and_rides_over_a_stopped_server);
  tcase_add_test(tc, a_full_connection_makes_the_pool_open_another);
  tcase_add_test(tc, a_pool_size_keeps_that_many_connections_and_spreads_calls);
  tcase_add_test(tc, a_call_waiting_for_a_pool_to_grow_takes_a_freed_stream);
  tcase_add_test(tc, states_are_queryable_and_watchable);
  tcase_add_test(tc, wait_for_ready_calls_wait_out_transient_failure);
  tcase_add_test(tc, a_restarted_server_fails_only_the_calls_in_flight);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
