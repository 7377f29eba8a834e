/* Specification of the grpc-timeout header: 1-8 digits and a unit (H M S m u n). */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "wire/timeout.h"
#include "unit_main.h"

Suite *timeout_suite(void);

#define NS_PER_US INT64_C(1000)
#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MIN (60 * NS_PER_S)
#define NS_PER_H (3600 * NS_PER_S)

/* The encoding of ns, checked to be NUL-terminated and of the returned length. */
static const char *enc(int64_t ns)
{
  static char out[CGRPC_TIMEOUT_MAX_LEN + 8];
  memset(out, 'Z', sizeof out);
  size_t n = cgrpc_timeout_encode(out, ns);
  ck_assert_uint_ge(n, 2);
  ck_assert_uint_le(n, CGRPC_TIMEOUT_MAX_LEN - 1);
  ck_assert_uint_eq(strlen(out), n);
  for (size_t i = CGRPC_TIMEOUT_MAX_LEN; i < sizeof out; i++)
    ck_assert_int_eq(out[i], 'Z'); /* nothing written past the documented size */
  return out;
}

/* Parses a NUL-terminated string; returns 0/-1 and the value in *ns. */
static int parse(const char *s, int64_t *ns)
{
  return cgrpc_timeout_parse(s, strlen(s), ns);
}

static int64_t unit_ns(char unit)
{
  switch (unit) {
  case 'n':
    return 1;
  case 'u':
    return NS_PER_US;
  case 'm':
    return NS_PER_MS;
  case 'S':
    return NS_PER_S;
  case 'M':
    return NS_PER_MIN;
  case 'H':
    return NS_PER_H;
  default:
    ck_abort_msg("bad unit %c", unit);
    return 0;
  }
}

/* ---- encode ------------------------------------------------------------------------- */

START_TEST(encode_uses_nanoseconds_while_they_fit_in_8_digits)
{
  ck_assert_str_eq(enc(1), "1n");
  ck_assert_str_eq(enc(999), "999n");
  ck_assert_str_eq(enc(12345678), "12345678n");
  ck_assert_str_eq(enc(99999999), "99999999n");
}
END_TEST

START_TEST(encode_switches_unit_at_each_boundary_rounding_up)
{
  /* n -> u */
  ck_assert_str_eq(enc(100000000), "100000u");
  ck_assert_str_eq(enc(100000001), "100001u");
  ck_assert_str_eq(enc(1000000000), "1000000u"); /* one second, in the finest unit that fits */
  /* u -> m */
  ck_assert_str_eq(enc(99999999 * NS_PER_US), "99999999u");
  ck_assert_str_eq(enc(99999999 * NS_PER_US + 1), "100000m");
  ck_assert_str_eq(enc(100000000 * NS_PER_US), "100000m");
  /* m -> S */
  ck_assert_str_eq(enc(99999999 * NS_PER_MS), "99999999m");
  ck_assert_str_eq(enc(99999999 * NS_PER_MS + 1), "100000S");
  /* S -> M */
  ck_assert_str_eq(enc(99999999 * NS_PER_S), "99999999S");
  ck_assert_str_eq(enc(99999999 * NS_PER_S + 1), "1666667M");
  ck_assert_str_eq(enc(100000020 * NS_PER_S), "1666667M");
  /* M -> H */
  ck_assert_str_eq(enc(99999999 * NS_PER_MIN), "99999999M");
  ck_assert_str_eq(enc(99999999 * NS_PER_MIN + 1), "1666667H");
}
END_TEST

START_TEST(encode_rounds_up_never_down)
{
  ck_assert_str_eq(enc(123456789), "123457u");
  ck_assert_str_eq(enc(123456001), "123457u");
  ck_assert_str_eq(enc(123456000), "123456u");
  ck_assert_str_eq(enc(99999999 * NS_PER_MS + 999999), "100000S");
}
END_TEST

START_TEST(encode_of_zero_or_negative_is_one_nanosecond)
{
  ck_assert_str_eq(enc(0), "1n");
  ck_assert_str_eq(enc(-1), "1n");
  ck_assert_str_eq(enc(-NS_PER_H), "1n");
  ck_assert_str_eq(enc(INT64_MIN), "1n");
}
END_TEST

START_TEST(encode_of_the_largest_int64_is_its_ceiling_in_hours)
{
  /* INT64_MAX ns is 2562047.79 h: the 8-digit cap of 99999999H cannot be
   * reached from an int64, and the value still rounds up. */
  ck_assert_str_eq(enc(INT64_MAX), "2562048H");
  ck_assert_str_eq(enc(2562047 * NS_PER_H), "2562047H");
}
END_TEST

/* ---- parse -------------------------------------------------------------------------- */

START_TEST(parse_reads_every_unit)
{
  int64_t ns;
  ck_assert_int_eq(parse("1n", &ns), 0);
  ck_assert_int_eq(ns, 1);
  ck_assert_int_eq(parse("1u", &ns), 0);
  ck_assert_int_eq(ns, NS_PER_US);
  ck_assert_int_eq(parse("1m", &ns), 0);
  ck_assert_int_eq(ns, NS_PER_MS);
  ck_assert_int_eq(parse("1S", &ns), 0);
  ck_assert_int_eq(ns, NS_PER_S);
  ck_assert_int_eq(parse("1M", &ns), 0);
  ck_assert_int_eq(ns, NS_PER_MIN);
  ck_assert_int_eq(parse("1H", &ns), 0);
  ck_assert_int_eq(ns, NS_PER_H);
  ck_assert_int_eq(parse("250m", &ns), 0);
  ck_assert_int_eq(ns, 250 * NS_PER_MS);
  ck_assert_int_eq(parse("0S", &ns), 0);
  ck_assert_int_eq(ns, 0);
  ck_assert_int_eq(parse("007S", &ns), 0);
  ck_assert_int_eq(ns, 7 * NS_PER_S);
}
END_TEST

START_TEST(parse_accepts_eight_digits_in_every_unit)
{
  int64_t ns;
  ck_assert_int_eq(parse("99999999n", &ns), 0);
  ck_assert_int_eq(ns, 99999999);
  ck_assert_int_eq(parse("12345678u", &ns), 0);
  ck_assert_int_eq(ns, 12345678 * NS_PER_US);
  ck_assert_int_eq(parse("99999999m", &ns), 0);
  ck_assert_int_eq(ns, 99999999 * NS_PER_MS);
  ck_assert_int_eq(parse("99999999S", &ns), 0);
  ck_assert_int_eq(ns, 99999999 * NS_PER_S);
  ck_assert_int_eq(parse("99999999M", &ns), 0);
  ck_assert_int_eq(ns, 99999999 * NS_PER_MIN);
  ck_assert_int_eq(parse("00000000H", &ns), 0);
  ck_assert_int_eq(ns, 0);
  ck_assert_int_eq(parse("2562047H", &ns), 0);
  ck_assert_int_eq(ns, 2562047 * NS_PER_H);
}
END_TEST

START_TEST(parse_rejects_nine_digits)
{
  int64_t ns = 77;
  static const char *const nine[] = {"123456789n", "100000000u", "000000001m", "999999999S",
                                     "123456789M", "100000000H"};
  for (size_t i = 0; i < sizeof nine / sizeof nine[0]; i++)
    ck_assert_msg(parse(nine[i], &ns) == -1, "%s accepted", nine[i]);
}
END_TEST

START_TEST(parse_rejects_junk)
{
  static const char *const junk[] = {
      "",    "1",     "S",   "1x",  "-1S", "1.5S", "1 S", "1S ", " 1S", "100",
      "+1S", "1s",    "1h",  "1SS", "1Sm", "0x1S", "S1",  "1\tS", "1e3m", "12345678",
      "m",   "99999999", "1 ",
  };
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
    int64_t ns = 77;
    ck_assert_msg(parse(junk[i], &ns) == -1, "\"%s\" accepted", junk[i]);
    ck_assert_msg(ns == 77, "\"%s\" wrote a value though rejected", junk[i]);
  }
}
END_TEST

START_TEST(parse_rejects_embedded_nul)
{
  int64_t ns;
  ck_assert_int_eq(cgrpc_timeout_parse("1\0S", 3, &ns), -1);
  ck_assert_int_eq(cgrpc_timeout_parse("\0S", 2, &ns), -1);
}
END_TEST

START_TEST(parse_reads_exactly_n_bytes_of_an_unterminated_value)
{
  int64_t ns;
  ck_assert_int_eq(cgrpc_timeout_parse("5mXYZ", 2, &ns), 0);
  ck_assert_int_eq(ns, 5 * NS_PER_MS);
  ck_assert_int_eq(cgrpc_timeout_parse("15S", 1, &ns), -1);
  ck_assert_int_eq(cgrpc_timeout_parse("15S", 2, &ns), -1); /* "15": no unit */
}
END_TEST

START_TEST(parse_of_hours_beyond_int64_saturates_instead_of_wrapping)
{
  /* 99999999H is 3.6e20 ns, more than INT64_MAX (9.2e18): the value must not
   * wrap to a negative (already expired) timeout. */
  int64_t ns;
  ck_assert_int_eq(parse("99999999H", &ns), 0);
  ck_assert_msg(ns == INT64_MAX, "99999999H parsed as %lld ns", (long long)ns);
  ck_assert_int_eq(parse("2562048H", &ns), 0);
  ck_assert_msg(ns == INT64_MAX, "2562048H parsed as %lld ns", (long long)ns);

  /* So the largest timeout survives a round trip. */
  ck_assert_int_eq(parse(enc(INT64_MAX), &ns), 0);
  ck_assert_msg(ns == INT64_MAX, "INT64_MAX ns came back as %lld ns", (long long)ns);
}
END_TEST

/* ---- round trip ------------------------------------------------------------------- */

/* Encoding then parsing gives back at least the original and less than one
 * unit of the chosen encoding more. */
static void assert_round_trip(int64_t v)
{
  const char *s = enc(v);
  int64_t back;
  ck_assert_msg(parse(s, &back) == 0, "%lld encodes to unparsable %s", (long long)v, s);
  int64_t want = v < 1 ? 1 : v;
  int64_t unit = unit_ns(s[strlen(s) - 1]);
  ck_assert_msg(back >= want, "%lld -> %s -> %lld: shorter", (long long)v, s, (long long)back);
  ck_assert_msg(back - want < unit, "%lld -> %s -> %lld: more than one unit longer",
                (long long)v, s, (long long)back);
}

START_TEST(round_trip_is_never_shorter_and_within_one_unit)
{
  /* Every boundary, a step either side (up to the largest whole hour an
   * int64 holds; beyond it see parse_of_hours_beyond_int64_saturates...). */
  static const int64_t edges[] = {
      99999999,           99999999 * NS_PER_US, 99999999 * NS_PER_MS,
      99999999 * NS_PER_S, 99999999 * NS_PER_MIN, 2562047 * NS_PER_H - 2,
  };
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
    for (int64_t d = -2; d <= 2; d++)
      assert_round_trip(edges[i] + d);
  for (int64_t v = -3; v < 2000; v++)
    assert_round_trip(v);

  /* Many values over the whole range of magnitudes, from a fixed seed. */
  uint64_t seed = 0x7173a11ce5eed001ULL;
  for (int i = 0; i < 200000; i++) {
    int bits = (int)(unit_rand(&seed) % 64); /* up to 2^63 - 1 */
    int64_t v = (int64_t)(unit_rand(&seed) & ((UINT64_C(1) << bits) - 1));
    if (v > 2562047 * NS_PER_H)
      continue; /* see parse_of_hours_beyond_int64_saturates_instead_of_wrapping */
    assert_round_trip(v);
  }
}
END_TEST

START_TEST(encoded_value_uses_the_finest_unit_that_fits)
{
  /* The next finer unit would need more than 8 digits. */
  static const char units[] = "numSMH";
  uint64_t seed = 42;
  for (int i = 0; i < 20000; i++) {
    int64_t v = (int64_t)(unit_rand(&seed) % (uint64_t)(2562047 * NS_PER_H)) + 1;
    const char *s = enc(v);
    const char *u = strchr(units, s[strlen(s) - 1]);
    ck_assert_ptr_nonnull(u);
    if (u != units) {
      int64_t finer = unit_ns(u[-1]);
      int64_t need = v / finer + (v % finer != 0);
      ck_assert_msg(need > 99999999, "%lld encoded as %s, but fits in %c", (long long)v, s, u[-1]);
    }
  }
}
END_TEST

Suite *timeout_suite(void)
{
  Suite *s = suite_create("timeout");
  TCase *tc = tcase_create("encode");
  tcase_add_test(tc, encode_uses_nanoseconds_while_they_fit_in_8_digits);
  tcase_add_test(tc, encode_switches_unit_at_each_boundary_rounding_up);
  tcase_add_test(tc, encode_rounds_up_never_down);
  tcase_add_test(tc, encode_of_zero_or_negative_is_one_nanosecond);
  tcase_add_test(tc, encode_of_the_largest_int64_is_its_ceiling_in_hours);
  tcase_add_test(tc, encoded_value_uses_the_finest_unit_that_fits);
  suite_add_tcase(s, tc);

  tc = tcase_create("parse");
  tcase_add_test(tc, parse_reads_every_unit);
  tcase_add_test(tc, parse_accepts_eight_digits_in_every_unit);
  tcase_add_test(tc, parse_rejects_nine_digits);
  tcase_add_test(tc, parse_rejects_junk);
  tcase_add_test(tc, parse_rejects_embedded_nul);
  tcase_add_test(tc, parse_reads_exactly_n_bytes_of_an_unterminated_value);
  tcase_add_test(tc, parse_of_hours_beyond_int64_saturates_instead_of_wrapping);
  suite_add_tcase(s, tc);

  tc = tcase_create("round trip");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, round_trip_is_never_shorter_and_within_one_unit);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(timeout_suite)
