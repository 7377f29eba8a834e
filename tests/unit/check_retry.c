/* The arithmetic of retries (gRFC A6): backoff and jitter, pushback, throttling, policy
 * sanitizing, idempotency keys. */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "base/rand.h"
#include "client/idempotency.h"
#include "client/retry_policy.h"
#include "client/throttle.h"
#include "unit_main.h"

Suite *retry_suite(void);

#define MS INT64_C(1000000)

static cgrpc_retry_policy policy(int64_t initial, int64_t max, double mult, double jitter)
{
  cgrpc_retry_policy p = {.max_attempts = 5,
                          .initial_backoff_ms = initial,
                          .max_backoff_ms = max,
                          .backoff_multiplier = mult,
                          .jitter = jitter,
                          .retryable_codes = 1u << 14};
  return p;
}

START_TEST(backoff_grows_by_the_multiplier_up_to_the_max)
{
  cgrpc_retry_policy p = policy(100, 1000, 2.0, 1.0);
  /* u = 0 draws the top of the range: d itself. */
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&p, 1, 0.0), 100 * MS);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&p, 2, 0.0), 200 * MS);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&p, 3, 0.0), 400 * MS);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&p, 4, 0.0), 800 * MS);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&p, 5, 0.0), 1000 * MS);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&p, 1000, 0.0), 1000 * MS); /* no overflow */
  /* Absurd settings are cut to 30 days rather than overflow. */
  cgrpc_retry_policy huge = policy(INT64_C(315576000000000), INT64_C(315576000000000), 1e300, 0);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&huge, 40, 0.0), INT64_C(30) * 24 * 3600 * 1000 * MS);
}
END_TEST

START_TEST(full_jitter_spans_zero_to_d_and_partial_jitter_keeps_the_floor)
{
  cgrpc_retry_policy full = policy(100, 1000, 2.0, 1.0);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&full, 2, 0.5), 100 * MS);
  ck_assert_int_le(cgrpc_retry_policy_backoff_ns(&full, 2, 0.999999), MS / 1000 + 1);
  cgrpc_retry_policy part = policy(100, 1000, 2.0, 0.25);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&part, 1, 1.0), 75 * MS);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&part, 1, 0.0), 100 * MS);
  cgrpc_retry_policy none = policy(100, 1000, 2.0, 0.0);
  ck_assert_int_eq(cgrpc_retry_policy_backoff_ns(&none, 3, 0.7), 400 * MS);
}
END_TEST

START_TEST(uniform_draws_are_in_range_and_spread)
{
  uint64_t s = cgrpc_rand_seed();
  ck_assert(s != 0);
  int buckets[10] = {0};
  for (int i = 0; i < 10000; i++) {
    double u = cgrpc_rand_uniform(&s);
    ck_assert(u >= 0.0 && u < 1.0);
    buckets[(int)(u * 10)]++;
  }
  /* 1000 expected per bucket; 5 standard deviations is about 150. */
  for (int i = 0; i < 10; i++) {
    ck_assert_int_gt(buckets[i], 800);
    ck_assert_int_lt(buckets[i], 1200);
  }
}
END_TEST

START_TEST(pushback_is_a_non_negative_integer_or_stop)
{
  ck_assert_int_eq(cgrpc_retry_policy_parse_pushback("0", 1), 0);
  ck_assert_int_eq(cgrpc_retry_policy_parse_pushback("250", 3), 250);
  ck_assert_int_eq(cgrpc_retry_policy_parse_pushback("2500000000", 10), INT64_C(2500000000));
  ck_assert_int_eq(cgrpc_retry_policy_parse_pushback("-1", 2), CGRPC_PUSHBACK_STOP);
  ck_assert_int_eq(cgrpc_retry_policy_parse_pushback("", 0), CGRPC_PUSHBACK_STOP);
  ck_assert_int_eq(cgrpc_retry_policy_parse_pushback("12ms", 4), CGRPC_PUSHBACK_STOP);
  ck_assert_int_eq(cgrpc_retry_policy_parse_pushback(" 1", 2), CGRPC_PUSHBACK_STOP);
  ck_assert_int_eq(cgrpc_retry_policy_parse_pushback("99999999999", 11), CGRPC_PUSHBACK_STOP);
  ck_assert_int_eq(cgrpc_retry_policy_parse_pushback("15x", 2), 15); /* reads exactly len bytes */
}
END_TEST

START_TEST(throttle_stops_retries_at_half_and_recovers_with_successes)
{
  cgrpc_throttle t;
  cgrpc_throttle_init(&t, 10, 0.5);
  /* 10 tokens: failures leave 9, 8, 7, 6 (retries allowed), then 5 (not). */
  for (int i = 0; i < 4; i++)
    ck_assert(cgrpc_throttle_failure(&t));
  ck_assert(!cgrpc_throttle_failure(&t));
  ck_assert(!cgrpc_throttle_failure(&t)); /* 4 */
  /* Four successes at 0.5 each bring it back to 6; the next failure leaves 5. */
  for (int i = 0; i < 4; i++)
    cgrpc_throttle_success(&t);
  ck_assert(!cgrpc_throttle_failure(&t));
  for (int i = 0; i < 1000; i++)
    cgrpc_throttle_success(&t);
  ck_assert_int_eq(t.tokens_milli, 10000); /* capped at max_tokens */
  for (int i = 0; i < 100; i++)
    cgrpc_throttle_failure(&t);
  ck_assert_int_eq(t.tokens_milli, 0); /* and floored at 0 */

  cgrpc_throttle off;
  cgrpc_throttle_init(&off, 0, 0.1);
  for (int i = 0; i < 100; i++)
    ck_assert(cgrpc_throttle_failure(&off));
}
END_TEST

START_TEST(sanitize_caps_attempts_and_disables_policies_that_cannot_retry)
{
  cgrpc_retry_policy p = policy(100, 1000, 2.0, 1.0);
  p.max_attempts = 9;
  cgrpc_retry_policy_sanitize(&p);
  ck_assert_int_eq(p.max_attempts, 5);

  p = policy(100, 1000, 2.0, 1.0);
  p.retryable_codes = 1u; /* OK only */
  cgrpc_retry_policy_sanitize(&p);
  ck_assert_int_eq(p.max_attempts, 0);

  p = policy(0, 1000, 2.0, 1.0);
  cgrpc_retry_policy_sanitize(&p);
  ck_assert_int_eq(p.max_attempts, 0);

  p = policy(100, 1000, 0.0, 1.0);
  cgrpc_retry_policy_sanitize(&p);
  ck_assert_int_eq(p.max_attempts, 0);

  p = policy(100, 1000, 0.5, 1.0); /* A6 allows shrinking backoffs: above 0 */
  cgrpc_retry_policy_sanitize(&p);
  ck_assert_int_eq(p.max_attempts, 5);

  p = policy(100, 50, 2.0, 7.0);
  cgrpc_retry_policy_sanitize(&p);
  ck_assert_int_eq(p.max_attempts, 5);
  ck_assert_int_eq(p.max_backoff_ms, 100);
  ck_assert(p.jitter == 1.0);

  cgrpc_retry_policy zero;
  memset(&zero, 0, sizeof zero);
  cgrpc_retry_policy_sanitize(&zero);
  ck_assert_int_eq(zero.max_attempts, 0);
}
END_TEST

START_TEST(idempotency_keys_are_32_hex_digits_and_differ)
{
  char a[CGRPC_IDEMPOTENCY_KEY_LEN + 1], b[CGRPC_IDEMPOTENCY_KEY_LEN + 1];
  ck_assert_int_eq(cgrpc_idempotency_key_new(a), 0);
  ck_assert_int_eq(cgrpc_idempotency_key_new(b), 0);
  ck_assert_uint_eq(strlen(a), 32);
  ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
  ck_assert_str_ne(a, b);
}
END_TEST

Suite *retry_suite(void)
{
  Suite *s = suite_create("retry");
  TCase *tc = tcase_create("backoff");
  tcase_add_test(tc, backoff_grows_by_the_multiplier_up_to_the_max);
  tcase_add_test(tc, full_jitter_spans_zero_to_d_and_partial_jitter_keeps_the_floor);
  tcase_add_test(tc, uniform_draws_are_in_range_and_spread);
  suite_add_tcase(s, tc);

  tc = tcase_create("pushback and throttling");
  tcase_add_test(tc, pushback_is_a_non_negative_integer_or_stop);
  tcase_add_test(tc, throttle_stops_retries_at_half_and_recovers_with_successes);
  suite_add_tcase(s, tc);

  tc = tcase_create("policy and keys");
  tcase_add_test(tc, sanitize_caps_attempts_and_disables_policies_that_cannot_retry);
  tcase_add_test(tc, idempotency_keys_are_32_hex_digits_and_differ);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(retry_suite)
