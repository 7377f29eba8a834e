/* Specification of the traceparent header (W3C Trace Context, level 1): what a receiver takes
 * and what it must ignore. */
#include <string.h>

#include <check.h>

#include "unit_main.h"
#include "ext/traceparent.h"

Suite *traceparent_suite(void);

static int parses(const char *v, cgrpc_traceparent *tp)
{
  return cgrpc_traceparent_parse(v, strlen(v), tp);
}

START_TEST(a_valid_header_is_read_and_written_back_the_same)
{
  const char *v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  cgrpc_traceparent tp;
  ck_assert(parses(v, &tp));
  ck_assert_int_eq(tp.trace_id[0], 0x4b);
  ck_assert_int_eq(tp.trace_id[15], 0x36);
  ck_assert_int_eq(tp.parent_id[7], 0xb7);
  ck_assert_int_eq(tp.flags, 1);
  char buf[CGRPC_TRACEPARENT_LEN + 1];
  cgrpc_traceparent_format(&tp, buf);
  buf[CGRPC_TRACEPARENT_LEN] = '\0';
  ck_assert_str_eq(buf, v);
  /* Flags other than sampled are kept as they came. */
  ck_assert(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &tp));
  ck_assert_int_eq(tp.flags, 0);
  ck_assert(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", &tp));
  ck_assert_int_eq(tp.flags, 0xff);
}
END_TEST

START_TEST(invalid_headers_are_refused)
{
  static const char *const bad[] = {
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version ff */
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* all-zero trace-id */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* all-zero parent-id */
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* upper case */
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", /* not hex */
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  /* short trace-id */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",  /* short parent-id */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",  /* short flags */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", /* 00 with more */
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* separator */
      "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "",
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", /* later version, no '-' */
  };
  cgrpc_traceparent tp;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(!parses(bad[i], &tp), "took %s", bad[i]);
}
END_TEST

START_TEST(a_later_version_is_read_for_what_version_00_defines)
{
  cgrpc_traceparent tp;
  ck_assert(parses("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &tp));
  ck_assert(parses("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes", &tp));
  ck_assert_int_eq(tp.flags, 1);
}
END_TEST

Suite *traceparent_suite(void)
{
  Suite *s = suite_create("traceparent");
  TCase *tc = tcase_create("header");
  tcase_add_test(tc, a_valid_header_is_read_and_written_back_the_same);
  tcase_add_test(tc, invalid_headers_are_refused);
  tcase_add_test(tc, a_later_version_is_read_for_what_version_00_defines);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(traceparent_suite)
