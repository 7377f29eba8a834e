/* The policy a call runs with: for each setting, every combination of the three sources (the
 * .proto's options, the channel's service config, the call's options) set or not, and the one
 * that must win -- the later in ".proto < service config < call options" that says something. */
#include <string.h>

#include <check.h>

#include "client/policy.h"
#include "wire/compress.h"
#include "unit_main.h"

Suite *policy_suite(void);

#define NOW INT64_C(1000000000000) /* 1000 s on the monotonic clock */
#define MS INT64_C(1000000)

/* The three sources of one combination; each present or absent as the mask says. */
typedef struct sources {
  cgrpc_method_policy proto;
  cgrpc_method_config sc;
  cgrpc_call_options *call;
} sources;

static void sources_init(sources *s)
{
  memset(&s->proto, 0, sizeof s->proto);
  memset(&s->sc, 0, sizeof s->sc);
  s->sc.wait_for_ready = -1; /* not set, as the parser leaves it */
  ck_assert_int_eq(cgrpc_call_options_new(&s->call), 0);
}

static void resolve(const sources *s, unsigned present, cgrpc_call_policy *out)
{
  cgrpc_policy_resolve(out, present & 1 ? &s->proto : NULL, present & 2 ? &s->sc : NULL,
                       present & 4 ? s->call : NULL, CGRPC_ENCODING_IDENTITY, NOW);
}

static cgrpc_retry_policy retry_with_attempts(int n)
{
  cgrpc_retry_policy p = {.max_attempts = n,
                          .initial_backoff_ms = 10,
                          .max_backoff_ms = 100,
                          .backoff_multiplier = 2.0,
                          .retryable_codes = 1u << CGRPC_STATUS_UNAVAILABLE};
  return p;
}

/* For each of the 8 combinations of set sources, the winner is the highest one set. */
START_TEST(timeout_comes_from_the_latest_source_that_sets_one)
{
  for (unsigned set = 0; set < 8; set++) {
    sources s;
    sources_init(&s);
    if (set & 1)
      s.proto.timeout_ms = 1000;
    if (set & 2) {
      s.sc.has_timeout = 1;
      s.sc.timeout_ms = 2000;
    }
    if (set & 4)
      cgrpc_call_options_set_timeout_ms(s.call, 3000);
    for (unsigned present = 0; present < 8; present++) {
      cgrpc_call_policy p;
      resolve(&s, present, &p);
      unsigned eff = set & present;
      cgrpc_time want = eff & 4   ? NOW + 3000 * MS
                        : eff & 2 ? NOW + 2000 * MS
                        : eff & 1 ? NOW + 1000 * MS
                                  : CGRPC_TIME_INFINITE;
      ck_assert_msg(p.deadline == want, "set %u present %u: deadline %lld, want %lld", set,
                    present, (long long)p.deadline, (long long)want);
    }
    cgrpc_call_options_free(s.call);
  }
}
END_TEST

START_TEST(a_zero_timeout_above_switches_a_lower_one_off)
{
  sources s;
  sources_init(&s);
  s.proto.timeout_ms = 1000;
  s.sc.has_timeout = 1;
  s.sc.timeout_ms = 0; /* the operator: no deadline for this method */
  cgrpc_call_policy p;
  resolve(&s, 3, &p);
  ck_assert(p.deadline == CGRPC_TIME_INFINITE);
  cgrpc_call_options_set_timeout_ms(s.call, 0); /* the caller: none either */
  s.sc.timeout_ms = 500;
  resolve(&s, 7, &p);
  ck_assert(p.deadline == CGRPC_TIME_INFINITE);
  cgrpc_call_options_free(s.call);
}
END_TEST

START_TEST(an_absolute_deadline_wins_over_every_timeout_until_a_timeout_is_set_after_it)
{
  sources s;
  sources_init(&s);
  s.proto.timeout_ms = 1000;
  s.sc.has_timeout = 1;
  s.sc.timeout_ms = 2000;
  cgrpc_call_options_set_timeout_ms(s.call, 3000);
  cgrpc_call_options_set_deadline(s.call, NOW + 42 * MS);
  cgrpc_call_policy p;
  resolve(&s, 7, &p);
  ck_assert(p.deadline == NOW + 42 * MS);
  cgrpc_call_options_set_deadline(s.call, CGRPC_TIME_INFINITE);
  resolve(&s, 7, &p);
  ck_assert(p.deadline == CGRPC_TIME_INFINITE);
  cgrpc_call_options_set_timeout_ms(s.call, 5); /* the later of the two setters counts */
  resolve(&s, 7, &p);
  ck_assert(p.deadline == NOW + 5 * MS);
  cgrpc_call_options_free(s.call);
}
END_TEST

START_TEST(a_timeout_that_would_overflow_is_no_deadline)
{
  sources s;
  sources_init(&s);
  s.proto.timeout_ms = INT64_MAX / 2;
  cgrpc_call_policy p;
  resolve(&s, 1, &p);
  ck_assert(p.deadline == CGRPC_TIME_INFINITE);
  cgrpc_call_options_free(s.call);
}
END_TEST

START_TEST(retry_policy_comes_from_the_latest_source_that_sets_one)
{
  for (unsigned set = 0; set < 8; set++) {
    sources s;
    sources_init(&s);
    if (set & 1)
      s.proto.retry = retry_with_attempts(2);
    if (set & 2) {
      s.sc.has_retry = 1;
      s.sc.retry = retry_with_attempts(3);
    }
    if (set & 4) {
      cgrpc_retry_policy r = retry_with_attempts(4);
      ck_assert_int_eq(cgrpc_call_options_set_retry_policy(s.call, &r), 0);
    }
    for (unsigned present = 0; present < 8; present++) {
      cgrpc_call_policy p;
      resolve(&s, present, &p);
      unsigned eff = set & present;
      int want = eff & 4 ? 4 : eff & 2 ? 3 : eff & 1 ? 2 : 0;
      ck_assert_msg(p.retry.max_attempts == want, "set %u present %u: %d attempts, want %d", set,
                    present, p.retry.max_attempts, want);
    }
    cgrpc_call_options_free(s.call);
  }
}
END_TEST

START_TEST(no_retries_above_switches_a_lower_policy_off)
{
  sources s;
  sources_init(&s);
  s.proto.retry = retry_with_attempts(5);
  s.sc.has_retry = 1;
  s.sc.retry = retry_with_attempts(1); /* maxAttempts 1: the operator says no retries */
  cgrpc_call_policy p;
  resolve(&s, 3, &p);
  ck_assert_int_lt(p.retry.max_attempts, 2);
  ck_assert_int_eq(cgrpc_call_options_set_retry_policy(s.call, NULL), 0); /* caller: none */
  s.sc.has_retry = 0;
  resolve(&s, 7, &p);
  ck_assert_int_lt(p.retry.max_attempts, 2);
  cgrpc_call_options_free(s.call);
}
END_TEST

START_TEST(wait_for_ready_comes_from_the_latest_source_that_sets_it)
{
  /* The .proto has no such option: two sources, each unset, off or on. */
  for (int sc = -1; sc <= 1; sc++) {
    for (int call = -1; call <= 1; call++) {
      sources s;
      sources_init(&s);
      s.sc.wait_for_ready = sc;
      if (call >= 0)
        cgrpc_call_options_set_wait_for_ready(s.call, call);
      cgrpc_call_policy p;
      resolve(&s, 7, &p);
      int want = call >= 0 ? call : sc >= 0 ? sc : 0;
      ck_assert_msg(p.wait_for_ready == want, "sc %d call %d: %d", sc, call, p.wait_for_ready);
      resolve(&s, 3, &p); /* without call options */
      ck_assert_int_eq(p.wait_for_ready, sc > 0);
      cgrpc_call_options_free(s.call);
    }
  }
}
END_TEST

START_TEST(compression_is_the_calls_or_else_the_channels)
{
  sources s;
  sources_init(&s);
  cgrpc_call_policy p;
  cgrpc_policy_resolve(&p, NULL, NULL, s.call, CGRPC_ENCODING_GZIP, NOW);
  ck_assert_int_eq(p.send_enc, CGRPC_ENCODING_GZIP);
  ck_assert_int_eq(cgrpc_call_options_set_compression(s.call, "identity"), 0);
  cgrpc_policy_resolve(&p, NULL, NULL, s.call, CGRPC_ENCODING_GZIP, NOW);
  ck_assert_int_eq(p.send_enc, CGRPC_ENCODING_IDENTITY);
  ck_assert_int_eq(cgrpc_call_options_set_compression(s.call, "deflate"), 0);
  cgrpc_policy_resolve(&p, NULL, NULL, s.call, CGRPC_ENCODING_IDENTITY, NOW);
  ck_assert_int_eq(p.send_enc, CGRPC_ENCODING_DEFLATE);
  cgrpc_call_options_free(s.call);
}
END_TEST

START_TEST(idempotency_key_for_idempotent_methods_and_for_callers_that_choose_one)
{
  sources s;
  sources_init(&s);
  cgrpc_call_policy p;
  resolve(&s, 7, &p);
  ck_assert_ptr_null(p.key_header); /* neither: no key */
  s.proto.idempotent = 1;
  resolve(&s, 7, &p);
  ck_assert_str_eq(p.key_header, CGRPC_IDEMPOTENCY_KEY_HEADER);
  ck_assert_ptr_null(p.key); /* a fresh one per call */
  s.proto.idempotency_key_header = "x-request-id";
  resolve(&s, 7, &p);
  ck_assert_str_eq(p.key_header, "x-request-id");
  s.proto.idempotent = 0;
  ck_assert_int_eq(cgrpc_call_options_set_idempotency_key(s.call, "order-17"), 0);
  resolve(&s, 7, &p); /* the caller's key, in the method's header, idempotent or not */
  ck_assert_str_eq(p.key_header, "x-request-id");
  ck_assert_str_eq(p.key, "order-17");
  resolve(&s, 0, &p); /* nothing at all: no key */
  ck_assert_ptr_null(p.key_header);
  cgrpc_call_options_free(s.call);
}
END_TEST

Suite *policy_suite(void)
{
  Suite *s = suite_create("policy");
  TCase *tc = tcase_create("precedence");
  tcase_add_test(tc, timeout_comes_from_the_latest_source_that_sets_one);
  tcase_add_test(tc, a_zero_timeout_above_switches_a_lower_one_off);
  tcase_add_test(tc, an_absolute_deadline_wins_over_every_timeout_until_a_timeout_is_set_after_it);
  tcase_add_test(tc, a_timeout_that_would_overflow_is_no_deadline);
  tcase_add_test(tc, retry_policy_comes_from_the_latest_source_that_sets_one);
  tcase_add_test(tc, no_retries_above_switches_a_lower_policy_off);
  tcase_add_test(tc, wait_for_ready_comes_from_the_latest_source_that_sets_it);
  tcase_add_test(tc, compression_is_the_calls_or_else_the_channels);
  tcase_add_test(tc, idempotency_key_for_idempotent_methods_and_for_callers_that_choose_one);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(policy_suite)
