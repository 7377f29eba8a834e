/* Retries end to end (gRFC A6): a fault-injecting server in this process (faulty.proto)
 * fails the first attempts of each call as told and records every attempt; the client's
 * policy comes from the method description (as generated code bakes it) or from call
 * options.  Time bounds are lower bounds the runtime guarantees (a timer never fires
 * early) and generous upper bounds scaled by slowdown(). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "faulty.cgrpc.h"
#include "faulty.pb-c.h"
#include "harness.h"

#define MAX_CALLS 256
#define MAX_ATTEMPTS 8

/* ---- the server ---------------------------------------------------------------------- */

typedef struct attempt_rec {
  cgrpc_time at;
  int64_t remaining_ms; /* of the attempt's deadline on arrival; -1: none */
  cgrpc_time cancelled_at; /* when the handler saw its call cancelled; 0: never */
  char key[64]; /* the idempotency-key header, or "" */
  int previous; /* grpc-previous-rpc-attempts */
} attempt_rec;

typedef struct call_rec {
  char id[64];
  int n;
  attempt_rec a[MAX_ATTEMPTS];
} call_rec;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static call_rec recs[MAX_CALLS];
static int nrecs;
static cgrpc_server *srv;
static int port;

/* Records this attempt of req->id; returns its number (1, 2, ...). */
static int record(cgrpc_server_call *call, const Faulty__TryRequest *req)
{
  const char *key = cgrpc_metadata_get(cgrpc_server_call_metadata(call), "idempotency-key");
  pthread_mutex_lock(&mu);
  call_rec *r = NULL;
  for (int i = 0; i < nrecs && r == NULL; i++)
    if (strcmp(recs[i].id, req->id) == 0)
      r = &recs[i];
  if (r == NULL && nrecs < MAX_CALLS) {
    r = &recs[nrecs++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", req->id);
  }
  int n = 0;
  if (r != NULL) {
    n = ++r->n;
    if (n <= MAX_ATTEMPTS) {
      attempt_rec *a = &r->a[n - 1];
      a->at = cgrpc_now();
      snprintf(a->key, sizeof a->key, "%s", key != NULL ? key : "");
      a->previous = cgrpc_server_call_previous_attempts(call);
      a->remaining_ms = cgrpc_server_call_remaining_ms(call);
    }
  }
  pthread_mutex_unlock(&mu);
  /* Sleep, but not past a cancellation. */
  cgrpc_time until = cgrpc_now() + CGRPC_MS_TO_NS(req->sleep_ms);
  while (cgrpc_now() < until) {
    if (cgrpc_server_call_is_cancelled(call)) {
      pthread_mutex_lock(&mu);
      if (r != NULL && n <= MAX_ATTEMPTS)
        r->a[n - 1].cancelled_at = cgrpc_now();
      pthread_mutex_unlock(&mu);
      break;
    }
    sleep_ms(2);
  }
  return n;
}

/* A copy of what the server saw of call id (n == 0: nothing). */
static call_rec seen(const char *id)
{
  call_rec out;
  memset(&out, 0, sizeof out);
  pthread_mutex_lock(&mu);
  for (int i = 0; i < nrecs; i++)
    if (strcmp(recs[i].id, id) == 0)
      out = recs[i];
  pthread_mutex_unlock(&mu);
  return out;
}

static cgrpc_code fail_maybe(cgrpc_server_call *call, const Faulty__TryRequest *req, int attempt)
{
  if (attempt > req->fail)
    return CGRPC_STATUS_OK;
  if (req->has_pushback)
    cgrpc_server_call_set_retry_pushback_ms(call, req->pushback_ms);
  return cgrpc_server_call_set_status(call, (cgrpc_code)req->code, "attempt %d fails", attempt);
}

static cgrpc_code try_handler(cgrpc_server_call *call, const Faulty__TryRequest *req,
                              Faulty__TryReply *reply, void *ud)
{
  (void)ud;
  int attempt = record(call, req);
  reply->attempt = attempt;
  return fail_maybe(call, req, attempt);
}

static cgrpc_code try_stream_handler(Faulty__Faulty_TryStreamServerCall *typed,
                                     const Faulty__TryRequest *req, void *ud)
{
  (void)ud;
  cgrpc_server_call *call = faulty__faulty_server__try_stream_call(typed);
  int attempt = record(call, req);
  Faulty__TryReply reply = FAULTY__TRY_REPLY__INIT;
  reply.attempt = attempt;
  if (attempt > req->fail || req->headers_first)
    faulty__faulty_server__try_stream_send(typed, &reply);
  return fail_maybe(call, req, attempt);
}

static cgrpc_code try_upload_handler(Faulty__Faulty_TryUploadServerCall *typed,
                                     Faulty__TryReply *reply, void *ud)
{
  cgrpc_server_call *call = faulty__faulty_server__try_upload_call(typed);
  (void)ud;
  const Faulty__TryRequest *req;
  Faulty__TryRequest first = FAULTY__TRY_REQUEST__INIT;
  char id[64] = "";
  int messages = 0;
  int64_t bytes = 0;
  int rv;
  while ((rv = faulty__faulty_server__try_upload_recv(typed, &req)) == 1) {
    if (messages++ == 0) {
      snprintf(id, sizeof id, "%s", req->id);
      first.fail = req->fail;
      first.code = req->code;
    }
    bytes += (int64_t)req->payload.len;
  }
  if (rv < 0)
    return CGRPC_STATUS_CANCELLED;
  first.id = id;
  int attempt = record(call, &first);
  reply->attempt = attempt;
  reply->messages = messages;
  reply->bytes = bytes;
  return fail_maybe(call, &first, attempt);
}

/* The channel Relay calls Try on: this process's own server. */
static cgrpc_channel *relay_channel;

static cgrpc_code relay_handler(cgrpc_server_call *call, const Faulty__TryRequest *req,
                                Faulty__TryReply *reply, void *ud)
{
  (void)ud;
  cgrpc_call_options *o = timeout_opts(10000);
  cgrpc_call_options_set_parent(o, call);
  Faulty__TryReply *child = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = faulty__faulty_client__try(relay_channel, req, &child, o, &st);
  if (child != NULL) {
    reply->attempt = child->attempt;
    faulty__try_reply__free_unpacked(child, NULL);
  }
  cgrpc_server_call_set_status(call, code, "relayed: %s", st.message != NULL ? st.message : "");
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  return code;
}

static void server_setup(void)
{
  cgrpc_server_options *o;
  ck_assert_int_eq(cgrpc_server_options_new(&o), 0);
  ck_assert_int_eq(cgrpc_server_new(&srv, o), 0);
  cgrpc_server_options_free(o);
  Faulty__Faulty_Server impl = FAULTY__FAULTY__SERVER_INIT;
  impl.try_ = try_handler;
  impl.try_stream = try_stream_handler;
  impl.relay = relay_handler;
  impl.baked = try_handler;
  impl.try_upload = try_upload_handler;
  ck_assert_int_eq(faulty__faulty_server__register(srv, &impl, NULL), 0);
  ck_assert_int_eq(cgrpc_server_add_listener(srv, "127.0.0.1:0", &port), 0);
  ck_assert_int_eq(cgrpc_server_start(srv), 0);
  relay_channel = channel_to(port, NULL);
  nrecs = 0;
}

static void server_teardown(void)
{
  cgrpc_channel_free(relay_channel);
  cgrpc_server_shutdown(srv, 0);
  cgrpc_server_free(srv);
  srv = NULL;
}

/* ---- the client ---------------------------------------------------------------------- */

#define UNAVAILABLE_BIT (1u << CGRPC_STATUS_UNAVAILABLE)

static cgrpc_retry_policy retry_policy(int attempts, int64_t initial_ms, int64_t max_ms,
                                       double jitter)
{
  cgrpc_retry_policy p = {.max_attempts = attempts,
                          .initial_backoff_ms = initial_ms,
                          .max_backoff_ms = max_ms,
                          .backoff_multiplier = 2.0,
                          .jitter = jitter,
                          .retryable_codes = UNAVAILABLE_BIT};
  return p;
}

/* The Try method with a policy of the test's, as generated code would bake it. */
static cgrpc_method_policy method_policy;
static cgrpc_method_desc try_method, try_stream_method;

static void use_policy(cgrpc_retry_policy retry, int idempotent)
{
  memset(&method_policy, 0, sizeof method_policy);
  method_policy.retry = retry;
  method_policy.idempotent = idempotent;
  try_method = faulty__faulty__cgrpc_service.methods[FAULTY__FAULTY__METHOD_TRY];
  try_method.policy = &method_policy;
  try_stream_method = faulty__faulty__cgrpc_service.methods[FAULTY__FAULTY__METHOD_TRY_STREAM];
  try_stream_method.policy = &method_policy;
}

static Faulty__TryRequest request(const char *id, int fail, cgrpc_code code)
{
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = (char *)id;
  req.fail = fail;
  req.code = code;
  return req;
}

/* A blocking Try; returns the code and the attempt number the reply carries (0 if none). */
static cgrpc_code try_call(cgrpc_channel *ch, const Faulty__TryRequest *req,
                           const cgrpc_call_options *opts, int *attempt)
{
  ProtobufCMessage *resp = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = cgrpc_unary_call(ch, &try_method, &req->base, &resp, opts, &st);
  *attempt = resp != NULL ? ((Faulty__TryReply *)resp)->attempt : 0;
  if (resp != NULL)
    protobuf_c_message_free_unpacked(resp, NULL);
  cgrpc_status_clear(&st);
  return code;
}

static int64_t gap_ms(const call_rec *r, int i)
{
  return (r->a[i].at - r->a[i - 1].at) / 1000000;
}

/* ---- tests -------------------------------------------------------------------------- */

START_TEST(unavailable_twice_then_ok_succeeds_on_the_third_attempt)
{
  use_policy(retry_policy(5, 10, 100, 1.0), 1);
  cgrpc_channel *ch = channel_to(port, NULL);
  Faulty__TryRequest req = request("three", 2, CGRPC_STATUS_UNAVAILABLE);
  int attempt;
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK);
  ck_assert_int_eq(attempt, 3);
  call_rec r = seen("three");
  ck_assert_int_eq(r.n, 3);
  /* One key per logical call, the same on every attempt; attempts numbered. */
  ck_assert_uint_eq(strlen(r.a[0].key), 32);
  for (int i = 0; i < 3; i++) {
    ck_assert_str_eq(r.a[i].key, r.a[0].key);
    ck_assert_int_eq(r.a[i].previous, i);
  }
  /* The next call has a key of its own. */
  req = request("three-again", 0, CGRPC_STATUS_OK);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK);
  ck_assert_str_ne(seen("three-again").a[0].key, r.a[0].key);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(only_the_policys_codes_are_retried)
{
  use_policy(retry_policy(5, 10, 100, 1.0), 0);
  cgrpc_channel *ch = channel_to(port, NULL);
  int attempt;
  Faulty__TryRequest req = request("invalid", 1, CGRPC_STATUS_INVALID_ARGUMENT);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_INVALID_ARGUMENT);
  ck_assert_int_eq(seen("invalid").n, 1);
  req = request("internal", 1, CGRPC_STATUS_INTERNAL);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_INTERNAL);
  ck_assert_int_eq(seen("internal").n, 1);
  /* Not idempotent: no key. */
  ck_assert_str_eq(seen("internal").a[0].key, "");
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(max_attempts_bounds_the_attempts)
{
  use_policy(retry_policy(3, 5, 20, 1.0), 1);
  cgrpc_channel *ch = channel_to(port, NULL);
  int attempt;
  Faulty__TryRequest req = request("forever", 100, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(seen("forever").n, 3);
  /* A5's cap: more than 5 is 5. */
  use_policy(retry_policy(9, 1, 2, 1.0), 1);
  req = request("capped", 100, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(seen("capped").n, 5);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(call_options_turn_retries_off_or_set_the_key)
{
  use_policy(retry_policy(5, 5, 20, 1.0), 1);
  cgrpc_channel *ch = channel_to(port, NULL);
  cgrpc_call_options *o;
  ck_assert_int_eq(cgrpc_call_options_new(&o), 0);
  ck_assert_int_eq(cgrpc_call_options_set_retry_policy(o, NULL), 0);
  ck_assert_int_eq(cgrpc_call_options_set_idempotency_key(o, "order-42"), 0);
  ck_assert_int_eq(cgrpc_call_options_set_idempotency_key(o, "bad\nkey"), CGRPC_ERR_BAD_VALUE);
  int attempt;
  Faulty__TryRequest req = request("off", 1, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(try_call(ch, &req, o, &attempt), CGRPC_STATUS_UNAVAILABLE);
  call_rec r = seen("off");
  ck_assert_int_eq(r.n, 1);
  ck_assert_str_eq(r.a[0].key, "order-42");

  /* A policy of the call's own on a method without one; the caller's key on every attempt. */
  use_policy((cgrpc_retry_policy){0}, 0);
  cgrpc_retry_policy p = retry_policy(4, 5, 20, 1.0);
  ck_assert_int_eq(cgrpc_call_options_set_retry_policy(o, &p), 0);
  req = request("on", 3, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(try_call(ch, &req, o, &attempt), CGRPC_STATUS_OK);
  ck_assert_int_eq(attempt, 4);
  r = seen("on");
  for (int i = 0; i < 4; i++)
    ck_assert_str_eq(r.a[i].key, "order-42");
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(a_committed_stream_is_not_retried_an_uncommitted_one_is)
{
  use_policy(retry_policy(5, 5, 20, 1.0), 1);
  cgrpc_channel *ch = channel_to(port, NULL);
  ProtobufCMessage *m;
  cgrpc_call *call;

  /* The first attempt sends a reply, then fails: the client has it, so no retry. */
  Faulty__TryRequest req = request("committed", 1, CGRPC_STATUS_UNAVAILABLE);
  req.headers_first = 1;
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &try_stream_method, &req.base, NULL, &call), 0);
  ck_assert_int_eq(cgrpc_call_recv(call, &m), 1);
  ck_assert_int_eq(((Faulty__TryReply *)m)->attempt, 1);
  protobuf_c_message_free_unpacked(m, NULL);
  ck_assert_int_eq(cgrpc_call_recv(call, &m), 0);
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_UNAVAILABLE);
  cgrpc_call_free(call);
  ck_assert_int_eq(seen("committed").n, 1);

  /* Trailers-Only failures commit nothing: the reader sees only the third attempt's reply. */
  req = request("uncommitted", 2, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(cgrpc_call_start_stream(ch, &try_stream_method, &req.base, NULL, &call), 0);
  ck_assert_int_eq(cgrpc_call_recv(call, &m), 1);
  ck_assert_int_eq(((Faulty__TryReply *)m)->attempt, 3);
  protobuf_c_message_free_unpacked(m, NULL);
  ck_assert_int_eq(cgrpc_call_recv(call, &m), 0);
  ck_assert_int_eq(cgrpc_call_finish(call, NULL), CGRPC_STATUS_OK);
  cgrpc_call_free(call);
  ck_assert_int_eq(seen("uncommitted").n, 3);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(backoff_delays_stay_inside_their_bounds)
{
  /* jitter 0.5: the delay before retry n is in [d/2, d], d = 80 ms * 2^(n-1). */
  use_policy(retry_policy(4, 80, 1000, 0.5), 1);
  cgrpc_channel *ch = channel_to(port, NULL);
  int attempt;
  Faulty__TryRequest req = request("bounded", 3, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK);
  call_rec r = seen("bounded");
  ck_assert_int_eq(r.n, 4);
  int64_t slack = 500 * slowdown();
  for (int i = 1; i < 4; i++) {
    int64_t d = 80 << (i - 1);
    ck_assert_int_ge(gap_ms(&r, i), d / 2);
    ck_assert_int_le(gap_ms(&r, i), d + slack);
  }

  /* Full jitter draws from [0, d]: of 10 retries after d = 200 ms, some wait well under
   * 150 ms (all ten drawing 140 ms or more has probability 0.3^10, about 6e-6). */
  use_policy(retry_policy(2, 200, 200, 1.0), 1);
  int64_t shortest = INT64_MAX;
  for (int i = 0; i < 10; i++) {
    char id[32];
    snprintf(id, sizeof id, "jitter-%d", i);
    req = request(id, 1, CGRPC_STATUS_UNAVAILABLE);
    ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK);
    r = seen(id);
    ck_assert_int_le(gap_ms(&r, 1), 200 + slack);
    if (gap_ms(&r, 1) < shortest)
      shortest = gap_ms(&r, 1);
  }
  ck_assert_int_lt(shortest, 150);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(server_pushback_sets_the_delay_or_stops_retries)
{
  use_policy(retry_policy(3, 1, 2, 1.0), 1);
  cgrpc_channel *ch = channel_to(port, NULL);
  int attempt;
  Faulty__TryRequest req = request("pushback", 1, CGRPC_STATUS_UNAVAILABLE);
  req.has_pushback = 1;
  req.pushback_ms = 300;
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK);
  call_rec r = seen("pushback");
  ck_assert_int_eq(r.n, 2);
  ck_assert_int_ge(gap_ms(&r, 1), 300);

  req = request("stop", 1, CGRPC_STATUS_UNAVAILABLE);
  req.has_pushback = 1;
  req.pushback_ms = -1;
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(seen("stop").n, 1);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(throttling_stops_retries_until_calls_succeed_again)
{
  use_policy(retry_policy(5, 1, 2, 1.0), 1);
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  ck_assert_int_eq(cgrpc_channel_options_set_retry_throttling(co, 4, 1.0), 0);
  ck_assert_int_eq(cgrpc_channel_options_set_retry_throttling(co, 1001, 1.0),
                   CGRPC_ERR_INVALID_ARGUMENT);
  cgrpc_channel *ch = channel_to(port, co);
  cgrpc_channel_options_free(co);
  int attempt;
  /* 4 tokens: the first failure leaves 3 (> 2, retry), the second 2 (no retry). */
  Faulty__TryRequest req = request("t1", 100, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(seen("t1").n, 2);
  req = request("t2", 100, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(seen("t2").n, 1);
  /* 1 token left.  Successes give tokens back (1 each): 1 -> 3. */
  for (int i = 0; i < 2; i++) {
    char id[16];
    snprintf(id, sizeof id, "ok-%d", i);
    req = request(id, 0, CGRPC_STATUS_OK);
    ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK);
  }
  req = request("t3", 1, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(seen("t3").n, 1); /* 3 -> 2: still throttled */
  req = request("ok-2", 0, CGRPC_STATUS_OK);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK);
  req = request("ok-4", 0, CGRPC_STATUS_OK);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK);
  req = request("t4", 1, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK); /* 4 -> 3: retried */
  ck_assert_int_eq(seen("t4").n, 2);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(the_deadline_covers_every_attempt)
{
  use_policy(retry_policy(5, 200, 200, 0.0), 1);
  cgrpc_channel *ch = channel_to(port, NULL);
  cgrpc_call_options *o = timeout_opts(500);
  int attempt;
  Faulty__TryRequest req = request("deadline", 100, CGRPC_STATUS_UNAVAILABLE);
  cgrpc_time t0 = cgrpc_now();
  cgrpc_code code = try_call(ch, &req, o, &attempt);
  int64_t took = ms_since(t0);
  ck_assert(code == CGRPC_STATUS_UNAVAILABLE || code == CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert_int_le(took, 500 + 300 * slowdown());
  call_rec r = seen("deadline");
  /* Attempts at about 0, 200 and 400 ms; none may start after the deadline. */
  ck_assert_int_ge(r.n, 2);
  ck_assert_int_le(r.n, 3);
  for (int i = 0; i < r.n; i++)
    ck_assert_int_lt((r.a[i].at - t0) / 1000000, 500);
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

static void async_done(cgrpc_status *status, ProtobufCMessage *response, void *ud)
{
  if (response != NULL)
    protobuf_c_message_free_unpacked(response, NULL);
  waiter_done(ud, status->code);
}

START_TEST(a_call_waiting_to_retry_can_be_cancelled)
{
  use_policy(retry_policy(5, 5000, 5000, 0.0), 1);
  cgrpc_channel *ch = channel_to(port, NULL);
  Faulty__TryRequest req = request("cancel", 100, CGRPC_STATUS_UNAVAILABLE);
  waiter w;
  waiter_init(&w, 1);
  cgrpc_call *call;
  ck_assert_int_eq(cgrpc_unary_call_start(ch, &try_method, &req.base, NULL, async_done, &w, &call),
                   0);
  while (seen("cancel").n < 1)
    sleep_ms(5);
  sleep_ms(50); /* into the 5 s backoff */
  cgrpc_time t0 = cgrpc_now();
  cgrpc_call_cancel(call);
  waiter_wait(&w);
  ck_assert_int_eq(w.codes[0], CGRPC_STATUS_CANCELLED);
  ck_assert_int_lt(ms_since(t0), 1000 * slowdown());
  ck_assert_int_eq(seen("cancel").n, 1);
  cgrpc_call_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(closing_the_channel_ends_calls_waiting_to_retry)
{
  use_policy(retry_policy(5, 5000, 5000, 0.0), 1);
  cgrpc_channel *ch = channel_to(port, NULL);
  Faulty__TryRequest req = request("closing", 100, CGRPC_STATUS_UNAVAILABLE);
  waiter w;
  waiter_init(&w, 1);
  ck_assert_int_eq(cgrpc_unary_call_start(ch, &try_method, &req.base, NULL, async_done, &w, NULL),
                   0);
  while (seen("closing").n < 1)
    sleep_ms(5);
  sleep_ms(50);
  cgrpc_time t0 = cgrpc_now();
  cgrpc_channel_free(ch);
  waiter_wait(&w);
  ck_assert_int_eq(w.codes[0], CGRPC_STATUS_CANCELLED);
  ck_assert_int_lt(ms_since(t0), 1000 * slowdown());
}
END_TEST

START_TEST(a_call_made_for_another_gets_the_smaller_deadline)
{
  cgrpc_channel *ch = channel_to(port, NULL);
  cgrpc_call_options *o = timeout_opts(400);
  Faulty__TryRequest req = request("relayed", 0, CGRPC_STATUS_OK);
  Faulty__TryReply *reply = NULL;
  ck_assert_int_eq(faulty__faulty_client__relay(ch, &req, &reply, o, NULL), CGRPC_STATUS_OK);
  faulty__try_reply__free_unpacked(reply, NULL);
  /* Relay's own call to Try asked for 10 s; the incoming call had at most 400 ms left. */
  call_rec r = seen("relayed");
  ck_assert_int_eq(r.n, 1);
  ck_assert_int_ge(r.a[0].remaining_ms, 0);
  ck_assert_int_le(r.a[0].remaining_ms, 400);

  /* The incoming call's deadline passes while Try still runs: Try ends with it. */
  req = request("relayed-slow", 0, CGRPC_STATUS_OK);
  req.sleep_ms = 5000;
  cgrpc_time t0 = cgrpc_now();
  ck_assert_int_eq(faulty__faulty_client__relay(ch, &req, &reply, o, NULL),
                   CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert_int_lt(ms_since(t0), 400 + 1000 * slowdown());
  cgrpc_call_options_free(o);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(cancelling_a_call_cancels_the_calls_made_for_it)
{
  cgrpc_channel *ch = channel_to(port, NULL);
  Faulty__TryRequest req = request("relayed-cancel", 0, CGRPC_STATUS_OK);
  req.sleep_ms = 5000;
  waiter w;
  waiter_init(&w, 1);
  cgrpc_call *call;
  const cgrpc_method_desc *relay = &faulty__faulty__cgrpc_service.methods[FAULTY__FAULTY__METHOD_RELAY];
  ck_assert_int_eq(cgrpc_unary_call_start(ch, relay, &req.base, NULL, async_done, &w, &call), 0);
  while (seen("relayed-cancel").n < 1)
    sleep_ms(5);
  cgrpc_time t0 = cgrpc_now();
  cgrpc_call_cancel(call);
  waiter_wait(&w);
  ck_assert_int_eq(w.codes[0], CGRPC_STATUS_CANCELLED);
  /* Try, two hops away, sees its call cancelled promptly rather than after 5 s. */
  cgrpc_time seen_at = 0;
  while (seen_at == 0 && ms_since(t0) < 2000 * slowdown()) {
    seen_at = seen("relayed-cancel").a[0].cancelled_at;
    sleep_ms(5);
  }
  ck_assert(seen_at != 0);
  ck_assert_int_lt((seen_at - t0) / 1000000, 1000 * slowdown());
  cgrpc_call_free(call);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(the_policy_baked_into_the_stub_retries)
{
  cgrpc_channel *ch = channel_to(port, NULL);
  Faulty__TryRequest req = request("baked", 3, CGRPC_STATUS_RESOURCE_EXHAUSTED);
  Faulty__TryReply *reply = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(faulty__faulty_client__baked(ch, &req, &reply, NULL, &st), CGRPC_STATUS_OK);
  ck_assert_int_eq(reply->attempt, 4);
  faulty__try_reply__free_unpacked(reply, NULL);
  call_rec r = seen("baked");
  ck_assert_int_eq(r.n, 4);
  ck_assert_uint_eq(strlen(r.a[0].key), 32);
  ck_assert_str_eq(r.a[3].key, r.a[0].key);
  req = request("baked-5", 4, CGRPC_STATUS_UNAVAILABLE); /* one more than max_attempts */
  ck_assert_int_eq(faulty__faulty_client__baked(ch, &req, &reply, NULL, &st),
                   CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(seen("baked-5").n, 4);
  cgrpc_status_clear(&st);
  cgrpc_channel_free(ch);
}
END_TEST

/* Uploads count requests of size payload bytes each on TryUpload (baked policy: 4 attempts
 * on UNAVAILABLE), the server failing the first `fail` attempts. */
static cgrpc_code upload(cgrpc_channel *ch, const char *id, int count, size_t size, int fail,
                         Faulty__TryReply **reply)
{
  static uint8_t payload[128 * 1024];
  Faulty__Faulty_TryUploadCall *call;
  ck_assert_int_eq(faulty__faulty_client__try_upload(ch, NULL, &call), 0);
  for (int i = 0; i < count; i++) {
    Faulty__TryRequest req = request(id, fail, CGRPC_STATUS_UNAVAILABLE);
    req.payload.data = payload;
    req.payload.len = size;
    if (faulty__faulty_client__try_upload_send(call, &req) != 0)
      break;
  }
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = faulty__faulty_client__try_upload_close_and_recv(call, reply, &st);
  cgrpc_status_clear(&st);
  faulty__faulty_client__try_upload_free(call);
  return code;
}

START_TEST(a_client_stream_is_sent_again_from_the_retry_buffer)
{
  cgrpc_channel *ch = channel_to(port, NULL);
  Faulty__TryReply *reply = NULL;
  /* Two attempts fail after reading everything; the third gets all 5 messages again. */
  ck_assert_int_eq(upload(ch, "upload", 5, 1000, 2, &reply), CGRPC_STATUS_OK);
  ck_assert_int_eq(reply->attempt, 3);
  ck_assert_int_eq(reply->messages, 5);
  ck_assert_int_eq(reply->bytes, 5000);
  faulty__try_reply__free_unpacked(reply, NULL);
  call_rec r = seen("upload");
  ck_assert_int_eq(r.n, 3);
  ck_assert_str_eq(r.a[2].key, r.a[0].key);

  /* 3 x 100 KiB is more than the 256 KiB retry buffer: the call commits, no retry. */
  reply = NULL;
  ck_assert_int_eq(upload(ch, "upload-big", 3, 100 * 1024, 1, &reply), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_ptr_null(reply);
  ck_assert_int_eq(seen("upload-big").n, 1);
  /* 2 x 100 KiB fits. */
  ck_assert_int_eq(upload(ch, "upload-fits", 2, 100 * 1024, 1, &reply), CGRPC_STATUS_OK);
  ck_assert_int_eq(reply->attempt, 2);
  ck_assert_int_eq(reply->bytes, 200 * 1024);
  faulty__try_reply__free_unpacked(reply, NULL);
  cgrpc_channel_free(ch);
}
END_TEST

static cgrpc_channel *channel_with_config(const char *json)
{
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  char err[256];
  int rv = cgrpc_channel_options_set_service_config(co, json, err, sizeof err);
  ck_assert_msg(rv == 0, "service config refused: %s", err);
  cgrpc_channel *ch = channel_to(port, co);
  cgrpc_channel_options_free(co);
  return ch;
}

START_TEST(a_service_config_overrides_the_baked_policy)
{
  /* Retries for Try, which has none in the .proto; none for Baked, which has. */
  cgrpc_channel *ch = channel_with_config(
      "{\"methodConfig\": ["
      " {\"name\": [{\"service\": \"faulty.Faulty\", \"method\": \"Try\"}],"
      "  \"retryPolicy\": {\"maxAttempts\": 3, \"initialBackoff\": \"0.01s\","
      "   \"maxBackoff\": \"0.05s\", \"backoffMultiplier\": 2,"
      "   \"retryableStatusCodes\": [\"UNAVAILABLE\"]}},"
      " {\"name\": [{\"service\": \"faulty.Faulty\"}],"
      "  \"timeout\": \"0.3s\", \"retryPolicy\": {\"maxAttempts\": 1}}]}");
  use_policy((cgrpc_retry_policy){0}, 0);
  Faulty__TryRequest req = request("config-try", 2, CGRPC_STATUS_UNAVAILABLE);
  int attempt;
  ck_assert_int_eq(try_call(ch, &req, NULL, &attempt), CGRPC_STATUS_OK);
  ck_assert_int_eq(attempt, 3);

  Faulty__TryReply *reply = NULL;
  req = request("config-baked", 1, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(faulty__faulty_client__baked(ch, &req, &reply, NULL, NULL),
                   CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(seen("config-baked").n, 1);
  /* The service-wide entry's timeout applies to Baked (the exact entry for Try has none). */
  ck_assert_int_le(seen("config-baked").a[0].remaining_ms, 300);
  ck_assert_int_ge(seen("config-baked").a[0].remaining_ms, 0);
  ck_assert_int_eq(seen("config-try").a[0].remaining_ms, -1);
  cgrpc_channel_free(ch);

  /* retryThrottling from the config: 2 tokens, so the first failure leaves 1 = 2/2. */
  ch = channel_with_config("{\"retryThrottling\": {\"maxTokens\": 2, \"tokenRatio\": 0.5}}");
  req = request("config-throttled", 1, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(faulty__faulty_client__baked(ch, &req, &reply, NULL, NULL),
                   CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(seen("config-throttled").n, 1);
  cgrpc_channel_free(ch);
}
END_TEST

START_TEST(a_malformed_service_config_is_refused_with_a_reason)
{
  cgrpc_channel_options *co;
  ck_assert_int_eq(cgrpc_channel_options_new(&co), 0);
  char err[256];
  ck_assert_int_eq(cgrpc_channel_options_set_service_config(co, "{\"methodConfig\": [", err,
                                                            sizeof err),
                   CGRPC_ERR_PROTO);
  ck_assert_msg(strstr(err, "not JSON") != NULL, "%s", err);
  ck_assert_int_eq(cgrpc_channel_options_set_service_config(
                       co,
                       "{\"methodConfig\": [{\"name\": [{}], \"retryPolicy\": {\"maxAttempts\": 3,"
                       " \"initialBackoff\": \"1s\", \"maxBackoff\": \"2s\", \"backoffMultiplier\": 2,"
                       " \"retryableStatusCodes\": [\"UNAVAILABLE\", \"NOPE\"]}}]}",
                       err, sizeof err),
                   CGRPC_ERR_PROTO);
  ck_assert_msg(strstr(err, "\"NOPE\"") != NULL, "%s", err);
  cgrpc_channel_options_free(co);
}
END_TEST

static Suite *retry_suite(void)
{
  Suite *s = suite_create("retry");
  TCase *tc = tcase_create("retry");
  tcase_add_checked_fixture(tc, server_setup, server_teardown);
  tcase_set_timeout(tc, 30 * slowdown());
  tcase_add_test(tc, unavailable_twice_then_ok_succeeds_on_the_third_attempt);
  tcase_add_test(tc, only_the_policys_codes_are_retried);
  tcase_add_test(tc, max_attempts_bounds_the_attempts);
  tcase_add_test(tc, call_options_turn_retries_off_or_set_the_key);
  tcase_add_test(tc, a_committed_stream_is_not_retried_an_uncommitted_one_is);
  tcase_add_test(tc, backoff_delays_stay_inside_their_bounds);
  tcase_add_test(tc, server_pushback_sets_the_delay_or_stops_retries);
  tcase_add_test(tc, throttling_stops_retries_until_calls_succeed_again);
  tcase_add_test(tc, the_deadline_covers_every_attempt);
  tcase_add_test(tc, a_call_waiting_to_retry_can_be_cancelled);
  tcase_add_test(tc, closing_the_channel_ends_calls_waiting_to_retry);
  tcase_add_test(tc, the_policy_baked_into_the_stub_retries);
  tcase_add_test(tc, a_client_stream_is_sent_again_from_the_retry_buffer);
  tcase_add_test(tc, a_service_config_overrides_the_baked_policy);
  tcase_add_test(tc, a_malformed_service_config_is_refused_with_a_reason);
  suite_add_tcase(s, tc);

  tc = tcase_create("deadline propagation");
  tcase_add_checked_fixture(tc, server_setup, server_teardown);
  tcase_set_timeout(tc, 30 * slowdown());
  tcase_add_test(tc, a_call_made_for_another_gets_the_smaller_deadline);
  tcase_add_test(tc, cancelling_a_call_cancels_the_calls_made_for_it);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(retry_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
