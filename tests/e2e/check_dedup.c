/* Server-side de-duplication by idempotency key (cgrpc/dedup.h), end to end: a server with the
 * helper in this process, on 127.0.0.1, and our client sending keys as request metadata.
 * The service is described by hand (e2e.proto's messages, methods of our own) so that each
 * test chooses the policies the server sees; the client's copies carry no policy, so it sends
 * exactly the keys a test gives it.  Time bounds are scaled by slowdown(). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "e2e.pb-c.h"
#include "harness.h"

/* ---- the service ----------------------------------------------------------------------- */

static const cgrpc_method_policy idempotent = {.idempotent = 1};
static const cgrpc_method_policy custom_header = {.idempotent = 1,
                                                  .idempotency_key_header = "x-request-id"};

enum { M_PAY, M_CHARGE, M_NAMED, M_PLAIN, M_CUSTOM, M_WATCH, M_TEST_COUNT };
enum { M_THING = M_TEST_COUNT, M_COUNT };

static cgrpc_code test_invoke(cgrpc_fn h, cgrpc_server_call *call, const ProtobufCMessage *req,
                              ProtobufCMessage *resp, void *ud);

#define UNARY(p, n, pol)                                                                           \
  {.path = p, .name = n, .kind = CGRPC_METHOD_UNARY, .request = &e2e__echo_request__descriptor,    \
   .response = &e2e__echo_reply__descriptor, .policy = pol, .invoke_handler = test_invoke}

static const cgrpc_method_desc test_methods[M_TEST_COUNT] = {
    UNARY("/dedup.Test/Pay", "Pay", &idempotent),
    UNARY("/dedup.Test/Charge", "Charge", &idempotent),
    UNARY("/dedup.Test/Named", "Named", NULL),   /* in scope by cgrpc_dedup_options_add_method */
    UNARY("/dedup.Test/Plain", "Plain", NULL),   /* never in scope */
    UNARY("/dedup.Test/Custom", "Custom", &custom_header),
    {.path = "/dedup.Test/Watch",
     .name = "Watch",
     .kind = CGRPC_METHOD_SERVER_STREAMING,
     .request = &e2e__echo_request__descriptor,
     .response = &e2e__echo_reply__descriptor,
     .policy = &idempotent,
     .invoke_handler = test_invoke},
};
static const cgrpc_service_desc test_service = {
    .name = "dedup.Test", .n_methods = M_TEST_COUNT, .methods = test_methods};

static const cgrpc_method_desc other_methods[1] = {
    UNARY("/dedup.Other/Thing", "Thing", NULL), /* in scope by cgrpc_dedup_options_add_service */
};
static const cgrpc_service_desc other_service = {
    .name = "dedup.Other", .n_methods = 1, .methods = other_methods};

/* What the client calls: the same methods without a policy. */
static cgrpc_method_desc client_methods[M_COUNT];

static const cgrpc_method_desc *method(int i)
{
  if (client_methods[0].path == NULL) {
    for (int k = 0; k < M_TEST_COUNT; k++)
      client_methods[k] = test_methods[k];
    client_methods[M_THING] = other_methods[0];
    for (int k = 0; k < M_COUNT; k++)
      client_methods[k].policy = NULL;
  }
  return &client_methods[i];
}

/* ---- the handler ----------------------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int runs;     /* handlers started */
static int finished; /* handlers done (deferred ones: finished) */
static pthread_t deferred[16];
static int ndeferred;

static int get_runs(void)
{
  pthread_mutex_lock(&mu);
  int n = runs;
  pthread_mutex_unlock(&mu);
  return n;
}

static void note_finished(void)
{
  pthread_mutex_lock(&mu);
  finished++;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&mu);
}

/* Waits until *counter reaches n (or a generous time passes). */
static int wait_count(int *counter, int n)
{
  cgrpc_time give_up = cgrpc_now() + CGRPC_MS_TO_NS(10000) * slowdown();
  pthread_mutex_lock(&mu);
  while (*counter < n && cgrpc_now() < give_up) {
    pthread_mutex_unlock(&mu);
    sleep_ms(2);
    pthread_mutex_lock(&mu);
  }
  int ok = *counter >= n;
  pthread_mutex_unlock(&mu);
  return ok;
}

typedef struct deferred_answer {
  cgrpc_server_call *call;
  int sleep_ms;
} deferred_answer;

static void *deferred_main(void *arg)
{
  deferred_answer *a = arg;
  sleep_ms(a->sleep_ms);
  cgrpc_server_call_finish(a->call);
  note_finished();
  return NULL;
}

/* Answers "run-<n>:<payload>", n counting every run of any handler, so that
 * equal payloads mean one run; reply.authority carries the idempotency key
 * the handler saw.  The request's sleep_ms, status_code, echo_metadata and
 * defer are honoured (sleeping ignores cancellation: a handler that goes on
 * after its client left). */
static cgrpc_code test_invoke(cgrpc_fn h, cgrpc_server_call *call, const ProtobufCMessage *request,
                              ProtobufCMessage *response, void *ud)
{
  (void)h;
  (void)ud;
  const E2e__EchoRequest *req = (const E2e__EchoRequest *)request;
  pthread_mutex_lock(&mu);
  int n = ++runs;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&mu);

  int streaming = cgrpc_server_call_method(call)->kind != CGRPC_METHOD_UNARY;
  E2e__EchoReply local = E2E__ECHO_REPLY__INIT;
  E2e__EchoReply *resp = streaming ? &local : (E2e__EchoReply *)response;
  char *p = cgrpc_server_call_printf(call, "run-%d:%.*s", n, (int)req->payload.len,
                                     (const char *)req->payload.data);
  resp->payload.data = (uint8_t *)p;
  resp->payload.len = strlen(p);
  const char *key = cgrpc_server_call_idempotency_key(call);
  resp->authority = cgrpc_server_call_strdup(call, key != NULL ? key : "(none)");
  if (req->echo_metadata) {
    char v[16];
    snprintf(v, sizeof v, "%d", n);
    cgrpc_server_call_add_initial_metadata(call, "x-run", v, strlen(v));
    cgrpc_server_call_add_trailing_metadata(call, "x-run-t", v, strlen(v));
  }
  if (req->defer) {
    deferred_answer *a = cgrpc_server_call_alloc(call, sizeof *a);
    a->call = call;
    a->sleep_ms = req->sleep_ms;
    cgrpc_server_call_defer(call);
    pthread_mutex_lock(&mu);
    if (ndeferred < 16)
      pthread_create(&deferred[ndeferred++], NULL, deferred_main, a);
    else
      cgrpc_server_call_finish(call); /* more than a test needs */
    pthread_mutex_unlock(&mu);
    return CGRPC_STATUS_OK;
  }
  if (req->sleep_ms > 0)
    sleep_ms(req->sleep_ms);
  if (streaming) /* one message */
    cgrpc_server_call_send(call, &resp->base);
  note_finished();
  if (req->status_code != 0)
    return cgrpc_server_call_set_status(call, (cgrpc_code)req->status_code, "%s",
                                        req->status_message);
  return CGRPC_STATUS_OK;
}

/* ---- the server under test ------------------------------------------------------------- */

static cgrpc_server *srv;
static cgrpc_dedup *dedup;
static cgrpc_channel *ch;

static void reset_counts(void)
{
  pthread_mutex_lock(&mu);
  runs = 0;
  finished = 0;
  pthread_mutex_unlock(&mu);
}

/* Starts the server with a dedup helper made from dopts (NULL: defaults;
 * freed here), and a channel to it.  handler_threads < 0: the default. */
static void start_with(cgrpc_dedup_options *dopts, int handler_threads)
{
  reset_counts();
  ck_assert_int_eq(cgrpc_dedup_new(&dedup, dopts), 0);
  cgrpc_dedup_options_free(dopts);
  cgrpc_server_options *so;
  ck_assert_int_eq(cgrpc_server_options_new(&so), 0);
  if (handler_threads >= 0)
    cgrpc_server_options_set_handler_threads(so, handler_threads);
  ck_assert_int_eq(cgrpc_dedup_attach(dedup, so), 0);
  ck_assert_int_eq(cgrpc_server_new(&srv, so), 0);
  cgrpc_server_options_free(so);
  int port = 0;
  ck_assert_int_eq(cgrpc_server_add_listener(srv, "127.0.0.1:0", &port), 0);
  static const cgrpc_fn handlers[M_TEST_COUNT] = {
      (cgrpc_fn)test_invoke, (cgrpc_fn)test_invoke, (cgrpc_fn)test_invoke,
      (cgrpc_fn)test_invoke, (cgrpc_fn)test_invoke, (cgrpc_fn)test_invoke};
  ck_assert_int_eq(cgrpc_server_register_service(srv, &test_service, handlers, NULL), 0);
  ck_assert_int_eq(cgrpc_server_register_service(srv, &other_service, handlers, NULL), 0);
  ck_assert_int_eq(cgrpc_server_start(srv), 0);
  ch = channel_to(port, NULL);
}

/* The usual scope: idempotent methods, plus Named and the service dedup.Other. */
static cgrpc_dedup_options *scoped_opts(void)
{
  cgrpc_dedup_options *o;
  ck_assert_int_eq(cgrpc_dedup_options_new(&o), 0);
  ck_assert_int_eq(cgrpc_dedup_options_add_method(o, "/dedup.Test/Named"), 0);
  ck_assert_int_eq(cgrpc_dedup_options_add_service(o, "dedup.Other"), 0);
  return o;
}

static void start(void)
{
  start_with(scoped_opts(), -1);
}

static void stop(void)
{
  cgrpc_channel_free(ch);
  ch = NULL;
  cgrpc_server_free(srv);
  srv = NULL;
  for (int i = 0; i < ndeferred; i++)
    pthread_join(deferred[i], NULL);
  ndeferred = 0;
  cgrpc_dedup_free(dedup);
  dedup = NULL;
}

/* ---- the client ------------------------------------------------------------------------ */

typedef struct result {
  cgrpc_code code;
  char message[128];
  char payload[256];
  char key_seen[320]; /* the key the handler saw */
  char x_run[16];     /* initial metadata */
  char x_run_t[16];   /* trailing metadata */
  int replayed;       /* the trailer CGRPC_DEDUP_REPLAYED_HEADER: true */
  int64_t ms;
} result;

typedef struct request {
  const char *payload;
  int sleep_ms;
  int status_code;
  const char *status_message;
  int echo_metadata;
  int defer;
} request;

static void fill_request(E2e__EchoRequest *r, const request *q)
{
  e2e__echo_request__init(r);
  r->payload.data = (uint8_t *)(q->payload != NULL ? q->payload : "p");
  r->payload.len = strlen((const char *)r->payload.data);
  r->sleep_ms = q->sleep_ms;
  r->status_code = q->status_code;
  r->status_message = (char *)(q->status_message != NULL ? q->status_message : "");
  r->echo_metadata = q->echo_metadata;
  r->defer = q->defer;
}

static cgrpc_call_options *call_opts(const char *header, const char *key, int64_t timeout_ms)
{
  cgrpc_call_options *o = timeout_opts(timeout_ms > 0 ? timeout_ms : 20000 * slowdown());
  if (key != NULL)
    ck_assert_int_eq(cgrpc_call_options_add_metadata(o, header != NULL ? header : "idempotency-key",
                                                     key, strlen(key)),
                     0);
  return o;
}

static void md_copy(char *dst, size_t n, const cgrpc_metadata *md, const char *key)
{
  const char *v = cgrpc_metadata_get(md, key);
  snprintf(dst, n, "%s", v != NULL ? v : "");
}

static void fill_result(result *res, cgrpc_status *st, E2e__EchoReply *reply)
{
  res->code = st->code;
  snprintf(res->message, sizeof res->message, "%s", st->message != NULL ? st->message : "");
  if (reply != NULL) {
    snprintf(res->payload, sizeof res->payload, "%.*s", (int)reply->payload.len,
             (const char *)reply->payload.data);
    snprintf(res->key_seen, sizeof res->key_seen, "%s", reply->authority);
  }
  md_copy(res->x_run, sizeof res->x_run, st->initial_metadata, "x-run");
  md_copy(res->x_run_t, sizeof res->x_run_t, st->trailing_metadata, "x-run-t");
  const char *r = cgrpc_metadata_get(st->trailing_metadata, CGRPC_DEDUP_REPLAYED_HEADER);
  res->replayed = r != NULL && strcmp(r, "true") == 0;
}

/* A blocking call of method m with the key in header (NULL: the default). */
static result call_h(int m, const char *header, const char *key, request q, int64_t timeout_ms)
{
  result res;
  memset(&res, 0, sizeof res);
  E2e__EchoRequest req;
  fill_request(&req, &q);
  cgrpc_call_options *o = call_opts(header, key, timeout_ms);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ProtobufCMessage *reply = NULL;
  cgrpc_time t0 = cgrpc_now();
  cgrpc_unary_call(ch, method(m), &req.base, &reply, o, &st);
  res.ms = ms_since(t0);
  fill_result(&res, &st, (E2e__EchoReply *)reply);
  if (reply != NULL)
    protobuf_c_message_free_unpacked(reply, cgrpc_channel_protobuf_allocator(ch));
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  return res;
}

static result call(int m, const char *key, request q)
{
  return call_h(m, NULL, key, q, 0);
}

/* An asynchronous call, waited for with async_wait. */
typedef struct async_call {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int done;
  result res;
} async_call;

static void async_done(cgrpc_status *st, ProtobufCMessage *reply, void *ud)
{
  async_call *a = ud;
  pthread_mutex_lock(&a->mu);
  fill_result(&a->res, st, (E2e__EchoReply *)reply);
  if (reply != NULL)
    protobuf_c_message_free_unpacked(reply, cgrpc_channel_protobuf_allocator(ch));
  a->done = 1;
  pthread_cond_signal(&a->cond);
  pthread_mutex_unlock(&a->mu);
}

static void async_start(async_call *a, int m, const char *key, request q, int64_t timeout_ms)
{
  memset(a, 0, sizeof *a);
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cond, NULL);
  E2e__EchoRequest req;
  fill_request(&req, &q);
  cgrpc_call_options *o = call_opts(NULL, key, timeout_ms);
  ck_assert_int_eq(cgrpc_unary_call_start(ch, method(m), &req.base, o, async_done, a, NULL), 0);
  cgrpc_call_options_free(o);
}

static result async_wait(async_call *a)
{
  pthread_mutex_lock(&a->mu);
  while (!a->done)
    pthread_cond_wait(&a->cond, &a->mu);
  pthread_mutex_unlock(&a->mu);
  pthread_cond_destroy(&a->cond);
  pthread_mutex_destroy(&a->mu);
  return a->res;
}

/* Starts a call of Pay and waits until its handler runs. */
static void start_running(async_call *a, const char *key, request q)
{
  int before = get_runs();
  async_start(a, M_PAY, key, q, 0);
  ck_assert(wait_count(&runs, before + 1));
}

static uint64_t dstat(cgrpc_dedup_stat which)
{
  return cgrpc_dedup_get_stat(dedup, which);
}

static int ms(int base)
{
  return base * slowdown();
}

static const request plain = {0};

/* r is a replay of first: the same answer, metadata included, marked as a replay. */
static void assert_replay_of(const result *r, const result *first)
{
  ck_assert_int_eq(r->code, first->code);
  ck_assert_str_eq(r->message, first->message);
  ck_assert_str_eq(r->payload, first->payload);
  ck_assert_str_eq(r->key_seen, first->key_seen);
  ck_assert_str_eq(r->x_run, first->x_run);
  ck_assert_str_eq(r->x_run_t, first->x_run_t);
  ck_assert_int_eq(r->replayed, 1);
}

/* ---- replays ------------------------------------------------------------------------------- */

START_TEST(same_key_twice_runs_the_handler_once_and_replays_its_answer)
{
  start();
  request q = {.payload = "charge 10", .echo_metadata = 1};
  result a = call(M_PAY, "9f86d081884c7d659a2feaa0c55ad015", q);
  result b = call(M_PAY, "9f86d081884c7d659a2feaa0c55ad015", q);
  ck_assert_int_eq(get_runs(), 1);
  ck_assert_int_eq(a.code, CGRPC_STATUS_OK);
  ck_assert_str_eq(a.payload, "run-1:charge 10");
  ck_assert_str_eq(a.key_seen, "9f86d081884c7d659a2feaa0c55ad015");
  ck_assert_str_eq(a.x_run, "1");
  ck_assert_str_eq(a.x_run_t, "1");
  ck_assert_int_eq(a.replayed, 0);
  assert_replay_of(&b, &a);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_EXECUTED), 1);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_REPLAYED), 1);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_STORED), 1);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_ENTRIES), 1);
  ck_assert_uint_gt(dstat(CGRPC_DEDUP_STAT_BYTES), 0);
  stop();
}
END_TEST

START_TEST(different_keys_run_the_handler_each)
{
  start();
  result a = call(M_PAY, "key-a", plain);
  result b = call(M_PAY, "key-b", plain);
  ck_assert_int_eq(get_runs(), 2);
  ck_assert_str_eq(a.payload, "run-1:p");
  ck_assert_str_eq(b.payload, "run-2:p");
  ck_assert_int_eq(b.replayed, 0);
  stop();
}
END_TEST

START_TEST(calls_without_a_key_run_every_time)
{
  start();
  for (int i = 1; i <= 3; i++) {
    result r = call(M_PAY, NULL, plain);
    ck_assert_int_eq(r.code, CGRPC_STATUS_OK);
    ck_assert_str_eq(r.key_seen, "(none)"); /* cgrpc_server_call_idempotency_key gave NULL */
    ck_assert_int_eq(r.replayed, 0);
  }
  ck_assert_int_eq(get_runs(), 3);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_UNKEYED), 3);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_EXECUTED), 0);
  /* An empty key is no key. */
  result r = call(M_PAY, "", plain);
  ck_assert_str_eq(r.key_seen, "(none)");
  call(M_PAY, "", plain);
  ck_assert_int_eq(get_runs(), 5);
  stop();
}
END_TEST

START_TEST(the_same_key_on_two_methods_is_two_entries)
{
  start();
  result a = call(M_PAY, "shared", plain);
  result b = call(M_CHARGE, "shared", plain);
  ck_assert_int_eq(get_runs(), 2);
  ck_assert_int_eq(b.replayed, 0);
  ck_assert_str_ne(a.payload, b.payload);
  result c = call(M_CHARGE, "shared", plain);
  ck_assert_str_eq(c.payload, b.payload);
  ck_assert_int_eq(get_runs(), 2);
  stop();
}
END_TEST

START_TEST(a_deferred_answer_is_stored_and_replayed)
{
  start();
  request q = {.defer = 1, .sleep_ms = 50};
  result a = call(M_PAY, "deferred", q);
  result b = call(M_PAY, "deferred", q);
  ck_assert_int_eq(a.code, CGRPC_STATUS_OK);
  assert_replay_of(&b, &a);
  ck_assert_int_eq(get_runs(), 1);
  stop();
}
END_TEST

/* The case retries are for: the first attempt's client gave up (here its
 * deadline passed), but the handler went on and succeeded; the retry must
 * get that success, not a second run. */
START_TEST(a_result_completed_after_the_client_left_is_replayed_to_the_retry)
{
  start();
  request q = {.sleep_ms = ms(400)};
  result a = call_h(M_PAY, NULL, "left-early", q, ms(100));
  ck_assert_int_eq(a.code, CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert(wait_count(&finished, 1));
  result b = call(M_PAY, "left-early", q);
  ck_assert_int_eq(b.code, CGRPC_STATUS_OK);
  ck_assert_str_eq(b.payload, "run-1:p");
  ck_assert_int_eq(b.replayed, 1);
  ck_assert_int_eq(get_runs(), 1);
  stop();
}
END_TEST

/* ---- duplicates in progress --------------------------------------------------------------- */

START_TEST(a_duplicate_in_progress_waits_for_the_first_and_gets_its_answer)
{
  start();
  request q = {.sleep_ms = ms(300), .echo_metadata = 1};
  async_call first;
  start_running(&first, "slow", q);
  cgrpc_time t0 = cgrpc_now();
  result dup = call(M_PAY, "slow", q);
  result a = async_wait(&first);
  ck_assert_int_eq(a.code, CGRPC_STATUS_OK);
  ck_assert_int_eq(a.replayed, 0);
  assert_replay_of(&dup, &a);
  ck_assert_int_eq(get_runs(), 1);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_WAITED), 1);
  /* It was answered when the first finished, not a poll interval later. */
  ck_assert_int_lt(ms_since(t0), ms(300) + ms(1000));
  stop();
}
END_TEST

START_TEST(many_duplicates_in_progress_all_get_the_one_answer)
{
  cgrpc_dedup_options *o = scoped_opts();
  cgrpc_dedup_options_set_max_waiting(o, 8);
  start_with(o, 8);
  request q = {.sleep_ms = ms(300)};
  async_call calls[6];
  start_running(&calls[0], "herd", q);
  for (int i = 1; i < 6; i++)
    async_start(&calls[i], M_PAY, "herd", q, 0);
  result r0 = async_wait(&calls[0]);
  ck_assert_int_eq(r0.code, CGRPC_STATUS_OK);
  for (int i = 1; i < 6; i++) {
    result r = async_wait(&calls[i]);
    assert_replay_of(&r, &r0);
  }
  ck_assert_int_eq(get_runs(), 1);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_REPLAYED), 5);
  stop();
}
END_TEST

START_TEST(beyond_max_waiting_a_duplicate_is_turned_away_at_once)
{
  /* One may wait; the next is told UNAVAILABLE (with pushback) instead of taking a handler
   * thread, and an unrelated call still runs at once. */
  cgrpc_dedup_options *o = scoped_opts();
  cgrpc_dedup_options_set_max_waiting(o, 1);
  start_with(o, 4);
  request q = {.sleep_ms = ms(600)};
  async_call first, waiting;
  start_running(&first, "slow-herd", q);
  async_start(&waiting, M_PAY, "slow-herd", q, 0);
  cgrpc_time give_up = cgrpc_now() + CGRPC_MS_TO_NS(10000) * slowdown();
  while (cgrpc_dedup_get_stat(dedup, CGRPC_DEDUP_STAT_WAITED) < 1 && cgrpc_now() < give_up)
    sleep_ms(2);
  ck_assert_uint_eq(cgrpc_dedup_get_stat(dedup, CGRPC_DEDUP_STAT_WAITED), 1);
  result turned = call_h(M_PAY, NULL, "slow-herd", q, ms(5000));
  ck_assert_int_eq(turned.code, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_lt(turned.ms, ms(300));
  result other = call_h(M_PAY, NULL, "another-key", plain, ms(5000));
  ck_assert_int_eq(other.code, CGRPC_STATUS_OK);
  result a = async_wait(&first);
  result w = async_wait(&waiting);
  assert_replay_of(&w, &a);
  ck_assert_int_eq(get_runs(), 2); /* slow-herd once, another-key once */
  stop();
}
END_TEST

START_TEST(a_waiting_duplicate_ends_at_its_own_deadline)
{
  start();
  request q = {.sleep_ms = ms(1500)};
  async_call first;
  start_running(&first, "very-slow", q);
  result dup = call_h(M_PAY, NULL, "very-slow", q, ms(200));
  ck_assert_int_eq(dup.code, CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert_int_lt(dup.ms, ms(1500));
  result a = async_wait(&first);
  ck_assert_int_eq(a.code, CGRPC_STATUS_OK);
  /* The first's answer is still there for the next retry. */
  result again = call(M_PAY, "very-slow", q);
  assert_replay_of(&again, &a);
  ck_assert_int_eq(get_runs(), 1);
  stop();
}
END_TEST

/* If the first ends with a status that is not stored, the waiting duplicate
 * is the retry: it runs the handler itself. */
START_TEST(a_waiting_duplicate_runs_the_handler_when_the_first_result_is_not_stored)
{
  start();
  request fail = {.sleep_ms = ms(300), .status_code = CGRPC_STATUS_UNAVAILABLE};
  async_call first;
  start_running(&first, "flaky", fail);
  result dup = call(M_PAY, "flaky", plain);
  result a = async_wait(&first);
  ck_assert_int_eq(a.code, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(dup.code, CGRPC_STATUS_OK);
  ck_assert_str_eq(dup.payload, "run-2:p");
  ck_assert_int_eq(dup.replayed, 0);
  ck_assert_int_eq(get_runs(), 2);
  stop();
}
END_TEST

/* With handlers on the I/O thread there is no thread to wait on. */
START_TEST(without_handler_threads_a_duplicate_in_progress_is_unavailable)
{
  start_with(scoped_opts(), 0);
  request q = {.defer = 1, .sleep_ms = ms(400)};
  async_call first;
  start_running(&first, "io-thread", q);
  result dup = call(M_PAY, "io-thread", q);
  ck_assert_int_eq(dup.code, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_ptr_nonnull(strstr(dup.message, "in progress"));
  result a = async_wait(&first);
  ck_assert_int_eq(a.code, CGRPC_STATUS_OK);
  result again = call(M_PAY, "io-thread", q);
  assert_replay_of(&again, &a);
  ck_assert_int_eq(get_runs(), 1);
  stop();
}
END_TEST

/* ---- which results are kept ------------------------------------------------------------ */

START_TEST(error_statuses_are_stored_or_not_by_the_documented_rule)
{
  start();
  for (int code = 1; code < CGRPC_STATUS_CODE_COUNT; code++) {
    int stored = (CGRPC_DEDUP_STORED_CODES & CGRPC_DEDUP_CODE_BIT(code)) != 0;
    char key[32];
    snprintf(key, sizeof key, "code-%d", code);
    request q = {.status_code = code, .status_message = "because", .echo_metadata = 1};
    int before = get_runs();
    result a = call(M_PAY, key, q);
    result b = call(M_PAY, key, q);
    ck_assert_int_eq(a.code, code);
    ck_assert_int_eq(b.code, code);
    ck_assert_str_eq(b.message, "because");
    ck_assert_msg(get_runs() - before == (stored ? 1 : 2), "%s: %d runs", cgrpc_code_name(code),
                  get_runs() - before);
    if (stored)
      assert_replay_of(&b, &a);
    else
      ck_assert_int_eq(b.replayed, 0);
  }
  /* The rule itself, as the header states it. */
  static const int kept[] = {CGRPC_STATUS_INVALID_ARGUMENT,    CGRPC_STATUS_NOT_FOUND,
                             CGRPC_STATUS_ALREADY_EXISTS,      CGRPC_STATUS_PERMISSION_DENIED,
                             CGRPC_STATUS_FAILED_PRECONDITION, CGRPC_STATUS_OUT_OF_RANGE,
                             CGRPC_STATUS_UNIMPLEMENTED,       CGRPC_STATUS_UNAUTHENTICATED};
  static const int retried[] = {CGRPC_STATUS_CANCELLED,          CGRPC_STATUS_UNKNOWN,
                                CGRPC_STATUS_DEADLINE_EXCEEDED,  CGRPC_STATUS_RESOURCE_EXHAUSTED,
                                CGRPC_STATUS_ABORTED,            CGRPC_STATUS_INTERNAL,
                                CGRPC_STATUS_UNAVAILABLE,        CGRPC_STATUS_DATA_LOSS};
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
    ck_assert(CGRPC_DEDUP_STORED_CODES & CGRPC_DEDUP_CODE_BIT(kept[i]));
  for (size_t i = 0; i < sizeof retried / sizeof retried[0]; i++)
    ck_assert(!(CGRPC_DEDUP_STORED_CODES & CGRPC_DEDUP_CODE_BIT(retried[i])));
  stop();
}
END_TEST

START_TEST(the_stored_codes_can_be_chosen)
{
  cgrpc_dedup_options *o = scoped_opts();
  cgrpc_dedup_options_set_stored_codes(o, CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_UNAVAILABLE));
  start_with(o, -1);
  request bad = {.status_code = CGRPC_STATUS_INVALID_ARGUMENT};
  request down = {.status_code = CGRPC_STATUS_UNAVAILABLE};
  call(M_PAY, "k1", bad);
  call(M_PAY, "k1", bad);
  ck_assert_int_eq(get_runs(), 2);
  call(M_PAY, "k2", down);
  call(M_PAY, "k2", down);
  ck_assert_int_eq(get_runs(), 3);
  call(M_PAY, "k3", plain); /* OK is always kept */
  call(M_PAY, "k3", plain);
  ck_assert_int_eq(get_runs(), 4);
  stop();
}
END_TEST

/* ---- bounds ---------------------------------------------------------------------------- */

START_TEST(a_stored_result_expires_after_the_ttl)
{
  cgrpc_dedup_options *o = scoped_opts();
  cgrpc_dedup_options_set_ttl_ms(o, ms(400));
  start_with(o, -1);
  result a = call(M_PAY, "short-lived", plain);
  result b = call(M_PAY, "short-lived", plain);
  ck_assert_str_eq(b.payload, a.payload);
  ck_assert_int_eq(get_runs(), 1);
  sleep_ms(ms(400) + 100);
  result c = call(M_PAY, "short-lived", plain);
  ck_assert_int_eq(c.replayed, 0);
  ck_assert_str_eq(c.payload, "run-2:p");
  ck_assert_int_eq(get_runs(), 2);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_EXPIRED), 1);
  stop();
}
END_TEST

START_TEST(the_least_recently_used_result_is_evicted_at_capacity)
{
  cgrpc_dedup_options *o = scoped_opts();
  cgrpc_dedup_options_set_max_entries(o, 2);
  start_with(o, -1);
  call(M_PAY, "k1", plain); /* run 1 */
  call(M_PAY, "k2", plain); /* run 2 */
  ck_assert_int_eq(call(M_PAY, "k1", plain).replayed, 1); /* k1 is now the more recent */
  call(M_PAY, "k3", plain); /* run 3, evicts k2 */
  ck_assert_int_eq(get_runs(), 3);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_EVICTED), 1);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_ENTRIES), 2);
  result k1 = call(M_PAY, "k1", plain);
  result k3 = call(M_PAY, "k3", plain);
  ck_assert_int_eq(k1.replayed, 1);
  ck_assert_str_eq(k1.payload, "run-1:p");
  ck_assert_int_eq(k3.replayed, 1);
  ck_assert_int_eq(get_runs(), 3);
  result k2 = call(M_PAY, "k2", plain);
  ck_assert_int_eq(k2.replayed, 0);
  ck_assert_int_eq(get_runs(), 4);
  stop();
}
END_TEST

START_TEST(the_byte_bound_evicts_old_results_and_refuses_one_too_large)
{
  cgrpc_dedup_options *o = scoped_opts();
  cgrpc_dedup_options_set_max_bytes(o, 4096);
  start_with(o, -1);
  static char big[3000];
  memset(big, 'b', sizeof big - 1);
  request large = {.payload = big};
  call(M_PAY, "small", plain);
  call(M_PAY, "big-1", large);                           /* fits, with "small" */
  ck_assert_uint_le(dstat(CGRPC_DEDUP_STAT_BYTES), 4096);
  call(M_PAY, "big-2", large);                           /* evicts the older ones */
  ck_assert_uint_ge(dstat(CGRPC_DEDUP_STAT_EVICTED), 1);
  ck_assert_uint_le(dstat(CGRPC_DEDUP_STAT_BYTES), 4096);
  ck_assert_int_eq(call(M_PAY, "big-2", large).replayed, 1);
  ck_assert_int_eq(get_runs(), 3);
  /* Larger than the whole bound: runs, but is not kept. */
  static char huge[6000];
  memset(huge, 'h', sizeof huge - 1);
  request too_large = {.payload = huge};
  call(M_PAY, "huge", too_large);
  call(M_PAY, "huge", too_large);
  ck_assert_int_eq(get_runs(), 5);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_NOT_STORED), 2);
  stop();
}
END_TEST

START_TEST(an_overlong_key_is_rejected)
{
  start();
  char key[CGRPC_DEDUP_MAX_KEY_LEN + 2];
  memset(key, 'k', sizeof key - 1);
  key[sizeof key - 1] = '\0';
  result r = call(M_PAY, key, plain);
  ck_assert_int_eq(r.code, CGRPC_STATUS_INVALID_ARGUMENT);
  ck_assert_int_eq(get_runs(), 0);
  key[CGRPC_DEDUP_MAX_KEY_LEN] = '\0'; /* at the limit: fine */
  ck_assert_int_eq(call(M_PAY, key, plain).code, CGRPC_STATUS_OK);
  ck_assert_int_eq(call(M_PAY, key, plain).replayed, 1);
  ck_assert_int_eq(get_runs(), 1);
  stop();
}
END_TEST

/* ---- scope ----------------------------------------------------------------------------- */

START_TEST(methods_named_or_in_named_services_are_deduplicated_and_others_are_not)
{
  start();
  call(M_NAMED, "n", plain);
  ck_assert_int_eq(call(M_NAMED, "n", plain).replayed, 1);
  call(M_THING, "t", plain);
  ck_assert_int_eq(call(M_THING, "t", plain).replayed, 1);
  ck_assert_int_eq(get_runs(), 2);
  /* Not idempotent, not named: the key is seen by the handler, nothing more. */
  result p1 = call(M_PLAIN, "p", plain);
  result p2 = call(M_PLAIN, "p", plain);
  ck_assert_str_eq(p1.key_seen, "p");
  ck_assert_int_eq(p2.replayed, 0);
  ck_assert_int_eq(get_runs(), 4);
  stop();
}
END_TEST

START_TEST(idempotent_methods_can_be_left_out_of_scope)
{
  cgrpc_dedup_options *o = scoped_opts();
  cgrpc_dedup_options_set_idempotent_methods(o, 0);
  start_with(o, -1);
  call(M_PAY, "k", plain);
  call(M_PAY, "k", plain);
  ck_assert_int_eq(get_runs(), 2);
  call(M_NAMED, "k", plain);
  call(M_NAMED, "k", plain);
  ck_assert_int_eq(get_runs(), 3);
  stop();
}
END_TEST

START_TEST(the_key_comes_from_the_header_the_policy_names)
{
  start();
  result a = call_h(M_CUSTOM, "x-request-id", "req-1", plain, 0);
  result b = call_h(M_CUSTOM, "x-request-id", "req-1", plain, 0);
  ck_assert_str_eq(a.key_seen, "req-1");
  ck_assert_int_eq(b.replayed, 1);
  ck_assert_int_eq(get_runs(), 1);
  /* The default header means nothing to this method. */
  result c = call(M_CUSTOM, "req-2", plain);
  result d = call(M_CUSTOM, "req-2", plain);
  ck_assert_str_eq(c.key_seen, "(none)");
  ck_assert_int_eq(d.replayed, 0);
  ck_assert_int_eq(get_runs(), 3);
  stop();
}
END_TEST

START_TEST(streaming_methods_pass_through)
{
  start();
  for (int i = 1; i <= 2; i++) {
    E2e__EchoRequest req;
    fill_request(&req, &plain);
    cgrpc_call_options *o = call_opts(NULL, "stream-key", 0);
    cgrpc_call *c = NULL;
    ck_assert_int_eq(cgrpc_call_start_stream(ch, method(M_WATCH), &req.base, o, &c), 0);
    ProtobufCMessage *msg = NULL;
    ck_assert_int_eq(cgrpc_call_recv(c, &msg), 1);
    E2e__EchoReply *reply = (E2e__EchoReply *)msg;
    char expect[16];
    snprintf(expect, sizeof expect, "run-%d:p", i);
    ck_assert_int_eq((int)reply->payload.len, (int)strlen(expect));
    ck_assert(memcmp(reply->payload.data, expect, reply->payload.len) == 0);
    protobuf_c_message_free_unpacked(msg, cgrpc_channel_protobuf_allocator(ch));
    cgrpc_status st = CGRPC_STATUS_INIT;
    ck_assert_int_eq(cgrpc_call_finish(c, &st), CGRPC_STATUS_OK);
    ck_assert_ptr_null(cgrpc_metadata_get(st.trailing_metadata, CGRPC_DEDUP_REPLAYED_HEADER));
    cgrpc_status_clear(&st);
    cgrpc_call_free(c);
    cgrpc_call_options_free(o);
  }
  ck_assert_int_eq(get_runs(), 2);
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_EXECUTED), 0);
  stop();
}
END_TEST

/* ---- a store of the user's ------------------------------------------------------------- */

/* A toy shared store: a few slots, counting what the helper asks of it. */
typedef struct toy_slot {
  char key[400];
  int state; /* 0 free, 1 in progress, 2 done */
  uint8_t value[8192];
  size_t len;
} toy_slot;

typedef struct toy_store {
  pthread_mutex_t mu;
  toy_slot slots[8];
  int claims, completes, abandons, releases;
  int fail; /* claim fails with CGRPC_ERR_SYSTEM */
  int64_t last_ttl;
} toy_store;

static toy_slot *toy_find(toy_store *t, const char *key, size_t len, int make)
{
  for (int i = 0; i < 8; i++)
    if (t->slots[i].state != 0 && strlen(t->slots[i].key) == len &&
        memcmp(t->slots[i].key, key, len) == 0)
      return &t->slots[i];
  for (int i = 0; make && i < 8; i++)
    if (t->slots[i].state == 0) {
      snprintf(t->slots[i].key, sizeof t->slots[i].key, "%.*s", (int)len, key);
      return &t->slots[i];
    }
  return NULL;
}

static int toy_claim(void *ud, const char *key, size_t len, int64_t lease_ms,
                     cgrpc_dedup_value *found)
{
  toy_store *t = ud;
  (void)lease_ms;
  pthread_mutex_lock(&t->mu);
  t->claims++;
  int rv;
  toy_slot *s = strlen(key) == len ? toy_find(t, key, len, 1) : NULL;
  if (t->fail || s == NULL) {
    rv = CGRPC_ERR_SYSTEM;
  } else if (s->state == 2) {
    uint8_t *copy = malloc(s->len);
    memcpy(copy, s->value, s->len);
    found->data = copy;
    found->len = s->len;
    found->handle = copy;
    rv = CGRPC_DEDUP_FOUND;
  } else if (s->state == 1) {
    rv = CGRPC_DEDUP_IN_PROGRESS;
  } else {
    s->state = 1;
    rv = CGRPC_DEDUP_CLAIMED;
  }
  pthread_mutex_unlock(&t->mu);
  return rv;
}

static int toy_complete(void *ud, const char *key, size_t len, const uint8_t *value,
                        size_t value_len, int64_t ttl_ms)
{
  toy_store *t = ud;
  pthread_mutex_lock(&t->mu);
  t->completes++;
  t->last_ttl = ttl_ms;
  toy_slot *s = toy_find(t, key, len, 0);
  if (s == NULL || value_len > sizeof s->value) {
    pthread_mutex_unlock(&t->mu);
    return CGRPC_ERR_TOO_LARGE;
  }
  memcpy(s->value, value, value_len);
  s->len = value_len;
  s->state = 2;
  pthread_mutex_unlock(&t->mu);
  return 0;
}

static void toy_abandon(void *ud, const char *key, size_t len)
{
  toy_store *t = ud;
  pthread_mutex_lock(&t->mu);
  t->abandons++;
  toy_slot *s = toy_find(t, key, len, 0);
  if (s != NULL && s->state == 1)
    s->state = 0;
  pthread_mutex_unlock(&t->mu);
}

static void toy_release(void *ud, cgrpc_dedup_value *found)
{
  toy_store *t = ud;
  pthread_mutex_lock(&t->mu);
  t->releases++;
  pthread_mutex_unlock(&t->mu);
  free(found->handle);
}

static const cgrpc_dedup_store toy_vtable = {sizeof(cgrpc_dedup_store), toy_claim, toy_complete,
                                             toy_abandon, toy_release};

static toy_store toy;

/* The server reaches the toy from its threads: the test reads it after stop(). */
static void start_with_toy(int fail)
{
  memset(&toy, 0, sizeof toy);
  pthread_mutex_init(&toy.mu, NULL);
  toy.fail = fail;
  cgrpc_dedup_options *o = scoped_opts();
  cgrpc_dedup_options_set_ttl_ms(o, 12345);
  ck_assert_int_eq(cgrpc_dedup_options_set_store(o, &toy_vtable, &toy), 0);
  start_with(o, -1);
}

START_TEST(a_store_of_the_users_is_used_through_the_interface)
{
  start_with_toy(0);
  request q = {.echo_metadata = 1};
  result a = call(M_PAY, "toy-key", q);
  result b = call(M_PAY, "toy-key", q);
  assert_replay_of(&b, &a);
  ck_assert_int_eq(get_runs(), 1);
  /* A result that is not kept releases the claim, each time. */
  request down = {.status_code = CGRPC_STATUS_UNAVAILABLE};
  call(M_PAY, "toy-down", down);
  call(M_PAY, "toy-down", down);
  ck_assert_int_eq(get_runs(), 3);
  /* No in-memory store behind it. */
  ck_assert_uint_eq(dstat(CGRPC_DEDUP_STAT_ENTRIES), 0);
  stop();
  ck_assert_int_eq(toy.claims, 4);
  ck_assert_int_eq(toy.completes, 1);
  ck_assert_int_eq(toy.releases, 1);
  ck_assert_int_eq(toy.abandons, 2);
  ck_assert_int_eq((int)toy.last_ttl, 12345);
  /* Keys are scoped by method path. */
  ck_assert_str_eq(toy.slots[0].key, "/dedup.Test/Pay toy-key");
  pthread_mutex_destroy(&toy.mu);
}
END_TEST

START_TEST(a_failing_store_makes_the_call_unavailable_without_running_it)
{
  start_with_toy(1);
  result r = call(M_PAY, "toy-key", plain);
  ck_assert_int_eq(r.code, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_ptr_nonnull(strstr(r.message, "idempotency store"));
  ck_assert_int_eq(get_runs(), 0);
  /* Calls without a key do not touch the store. */
  ck_assert_int_eq(call(M_PAY, NULL, plain).code, CGRPC_STATUS_OK);
  stop();
  ck_assert_int_eq(toy.claims, 1);
  pthread_mutex_destroy(&toy.mu);
}
END_TEST

START_TEST(options_reject_bad_arguments)
{
  cgrpc_dedup_options *o;
  ck_assert_int_eq(cgrpc_dedup_options_new(&o), 0);
  cgrpc_dedup_store incomplete = toy_vtable;
  incomplete.release = NULL;
  ck_assert_int_eq(cgrpc_dedup_options_set_store(o, &incomplete, NULL), CGRPC_ERR_INVALID_ARGUMENT);
  cgrpc_dedup_store wrong_size = toy_vtable;
  wrong_size.struct_size = 3;
  ck_assert_int_eq(cgrpc_dedup_options_set_store(o, &wrong_size, NULL), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_dedup_options_add_method(o, "NoSlash"), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_dedup_options_add_method(o, "/svc"), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_dedup_options_add_service(o, "a/b"), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_dedup_options_add_service(o, ""), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_dedup_attach(NULL, NULL), CGRPC_ERR_INVALID_ARGUMENT);
  cgrpc_dedup_options_free(o);
  cgrpc_dedup_options_free(NULL);
  cgrpc_dedup_free(NULL);
  /* Defaults without options. */
  cgrpc_dedup *d;
  ck_assert_int_eq(cgrpc_dedup_new(&d, NULL), 0);
  ck_assert_uint_eq(cgrpc_dedup_get_stat(d, CGRPC_DEDUP_STAT_ENTRIES), 0);
  ck_assert_uint_eq(cgrpc_dedup_get_stat(d, (cgrpc_dedup_stat)99), 0);
  cgrpc_dedup_free(d);
}
END_TEST

/* A test case of the suite: its tests, NULL-terminated. */
static void add_case(Suite *s, const char *name, const TTest *const *tests)
{
  TCase *t = tcase_create(name);
  tcase_set_timeout(t, 60 * slowdown());
  for (; *tests != NULL; tests++)
    tcase_add_test(t, *tests);
  suite_add_tcase(s, t);
}

static Suite *dedup_suite(void)
{
  Suite *s = suite_create("dedup");
  const TTest *replay[] = {same_key_twice_runs_the_handler_once_and_replays_its_answer,
                           different_keys_run_the_handler_each,
                           calls_without_a_key_run_every_time,
                           the_same_key_on_two_methods_is_two_entries,
                           a_deferred_answer_is_stored_and_replayed,
                           a_result_completed_after_the_client_left_is_replayed_to_the_retry,
                           NULL};
  const TTest *in_progress[] = {
      a_duplicate_in_progress_waits_for_the_first_and_gets_its_answer,
      many_duplicates_in_progress_all_get_the_one_answer,
      beyond_max_waiting_a_duplicate_is_turned_away_at_once,
      a_waiting_duplicate_ends_at_its_own_deadline,
      a_waiting_duplicate_runs_the_handler_when_the_first_result_is_not_stored,
      without_handler_threads_a_duplicate_in_progress_is_unavailable,
      NULL};
  const TTest *kept[] = {error_statuses_are_stored_or_not_by_the_documented_rule,
                         the_stored_codes_can_be_chosen,
                         a_stored_result_expires_after_the_ttl,
                         the_least_recently_used_result_is_evicted_at_capacity,
                         the_byte_bound_evicts_old_results_and_refuses_one_too_large,
                         an_overlong_key_is_rejected,
                         NULL};
  const TTest *scope[] = {methods_named_or_in_named_services_are_deduplicated_and_others_are_not,
                          idempotent_methods_can_be_left_out_of_scope,
                          the_key_comes_from_the_header_the_policy_names,
                          streaming_methods_pass_through,
                          NULL};
  const TTest *store[] = {a_store_of_the_users_is_used_through_the_interface,
                          a_failing_store_makes_the_call_unavailable_without_running_it,
                          options_reject_bad_arguments,
                          NULL};
  add_case(s, "replay", replay);
  add_case(s, "in_progress", in_progress);
  add_case(s, "what_is_kept", kept);
  add_case(s, "scope", scope);
  add_case(s, "store", store);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(dedup_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
