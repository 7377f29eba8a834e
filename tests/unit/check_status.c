/* Specification of status codes, cgrpc_status, and how HTTP/2 outcomes map to gRPC codes. */
#include <stdio.h>
#include <string.h>

#include <check.h>
#include <nghttp2/nghttp2.h>

#include <cgrpc/metadata.h>
#include <cgrpc/status.h>

#include "wire/status_map.h"
#include "unit_main.h"

Suite *status_suite(void);

static const char *const names[CGRPC_STATUS_CODE_COUNT] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

/* ---- codes and names ------------------------------------------------------------------ */

START_TEST(codes_have_their_wire_values)
{
  ck_assert_int_eq(CGRPC_STATUS_OK, 0);
  ck_assert_int_eq(CGRPC_STATUS_CANCELLED, 1);
  ck_assert_int_eq(CGRPC_STATUS_UNKNOWN, 2);
  ck_assert_int_eq(CGRPC_STATUS_INVALID_ARGUMENT, 3);
  ck_assert_int_eq(CGRPC_STATUS_DEADLINE_EXCEEDED, 4);
  ck_assert_int_eq(CGRPC_STATUS_NOT_FOUND, 5);
  ck_assert_int_eq(CGRPC_STATUS_ALREADY_EXISTS, 6);
  ck_assert_int_eq(CGRPC_STATUS_PERMISSION_DENIED, 7);
  ck_assert_int_eq(CGRPC_STATUS_RESOURCE_EXHAUSTED, 8);
  ck_assert_int_eq(CGRPC_STATUS_FAILED_PRECONDITION, 9);
  ck_assert_int_eq(CGRPC_STATUS_ABORTED, 10);
  ck_assert_int_eq(CGRPC_STATUS_OUT_OF_RANGE, 11);
  ck_assert_int_eq(CGRPC_STATUS_UNIMPLEMENTED, 12);
  ck_assert_int_eq(CGRPC_STATUS_INTERNAL, 13);
  ck_assert_int_eq(CGRPC_STATUS_UNAVAILABLE, 14);
  ck_assert_int_eq(CGRPC_STATUS_DATA_LOSS, 15);
  ck_assert_int_eq(CGRPC_STATUS_UNAUTHENTICATED, 16);
  ck_assert_int_eq(CGRPC_STATUS_CODE_COUNT, 17);
}
END_TEST

START_TEST(every_code_has_its_canonical_name)
{
  for (int c = 0; c < CGRPC_STATUS_CODE_COUNT; c++)
    ck_assert_str_eq(cgrpc_code_name(c), names[c]);
}
END_TEST

START_TEST(codes_out_of_range_are_named_unknown_code)
{
  ck_assert_str_eq(cgrpc_code_name(-1), "UNKNOWN_CODE");
  ck_assert_str_eq(cgrpc_code_name(17), "UNKNOWN_CODE");
  ck_assert_str_eq(cgrpc_code_name(1000), "UNKNOWN_CODE");
  ck_assert_str_eq(cgrpc_code_name(INT32_MIN), "UNKNOWN_CODE");
  ck_assert_str_eq(cgrpc_code_name(INT32_MAX), "UNKNOWN_CODE");
}
END_TEST

START_TEST(names_parse_back_to_their_codes)
{
  for (int c = 0; c < CGRPC_STATUS_CODE_COUNT; c++)
    ck_assert_int_eq(cgrpc_code_from_name(names[c]), c);
}
END_TEST

START_TEST(names_parse_case_insensitively)
{
  ck_assert_int_eq(cgrpc_code_from_name("ok"), CGRPC_STATUS_OK);
  ck_assert_int_eq(cgrpc_code_from_name("Unavailable"), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(cgrpc_code_from_name("deadline_EXCEEDED"), CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert_int_eq(cgrpc_code_from_name("unauthenticated"), CGRPC_STATUS_UNAUTHENTICATED);
}
END_TEST

START_TEST(unknown_names_parse_to_minus_one)
{
  static const char *const bad[] = {"",           "NOPE",      "UNKNOWN_CODE", "OK ",
                                    " OK",        "CANCELED",  "DeadlineExceeded",
                                    "NOT FOUND",  "14",        "UNAVAILABLEX"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(cgrpc_code_from_name(bad[i]) == -1, "\"%s\" parsed", bad[i]);
  ck_assert_int_eq(cgrpc_code_from_name(NULL), -1);
}
END_TEST

/* ---- HTTP/2 mappings (PROTOCOL-HTTP2.md) ----------------------------------------------- */

START_TEST(http_status_without_grpc_status_maps_as_the_spec_table_says)
{
  ck_assert_int_eq(cgrpc_code_from_http_status(400), CGRPC_STATUS_INTERNAL);
  ck_assert_int_eq(cgrpc_code_from_http_status(401), CGRPC_STATUS_UNAUTHENTICATED);
  ck_assert_int_eq(cgrpc_code_from_http_status(403), CGRPC_STATUS_PERMISSION_DENIED);
  ck_assert_int_eq(cgrpc_code_from_http_status(404), CGRPC_STATUS_UNIMPLEMENTED);
  ck_assert_int_eq(cgrpc_code_from_http_status(429), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(cgrpc_code_from_http_status(502), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(cgrpc_code_from_http_status(503), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(cgrpc_code_from_http_status(504), CGRPC_STATUS_UNAVAILABLE);
}
END_TEST

START_TEST(every_other_http_status_maps_to_unknown)
{
  for (int h = 0; h < 1000; h++) {
    if (h == 400 || h == 401 || h == 403 || h == 404 || h == 429 || h == 502 || h == 503 ||
        h == 504)
      continue;
    ck_assert_msg(cgrpc_code_from_http_status(h) == CGRPC_STATUS_UNKNOWN, "HTTP %d", h);
  }
  ck_assert_int_eq(cgrpc_code_from_http_status(200), CGRPC_STATUS_UNKNOWN);
  ck_assert_int_eq(cgrpc_code_from_http_status(500), CGRPC_STATUS_UNKNOWN);
  ck_assert_int_eq(cgrpc_code_from_http_status(-1), CGRPC_STATUS_UNKNOWN);
}
END_TEST

START_TEST(rst_stream_codes_map_as_the_spec_table_says)
{
  ck_assert_int_eq(cgrpc_code_from_rst_stream(NGHTTP2_REFUSED_STREAM), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(cgrpc_code_from_rst_stream(NGHTTP2_CANCEL), CGRPC_STATUS_CANCELLED);
  ck_assert_int_eq(cgrpc_code_from_rst_stream(NGHTTP2_ENHANCE_YOUR_CALM),
                   CGRPC_STATUS_RESOURCE_EXHAUSTED);
  ck_assert_int_eq(cgrpc_code_from_rst_stream(NGHTTP2_INADEQUATE_SECURITY),
                   CGRPC_STATUS_PERMISSION_DENIED);
  /* The numbers themselves, as RFC 9113 section 7 assigns them. */
  ck_assert_int_eq(cgrpc_code_from_rst_stream(0x7), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_int_eq(cgrpc_code_from_rst_stream(0x8), CGRPC_STATUS_CANCELLED);
  ck_assert_int_eq(cgrpc_code_from_rst_stream(0xb), CGRPC_STATUS_RESOURCE_EXHAUSTED);
  ck_assert_int_eq(cgrpc_code_from_rst_stream(0xc), CGRPC_STATUS_PERMISSION_DENIED);
}
END_TEST

START_TEST(every_other_rst_stream_code_maps_to_internal)
{
  static const uint32_t others[] = {
      NGHTTP2_NO_ERROR,         NGHTTP2_PROTOCOL_ERROR, NGHTTP2_INTERNAL_ERROR,
      NGHTTP2_FLOW_CONTROL_ERROR, NGHTTP2_SETTINGS_TIMEOUT, NGHTTP2_STREAM_CLOSED,
      NGHTTP2_FRAME_SIZE_ERROR, NGHTTP2_COMPRESSION_ERROR, NGHTTP2_CONNECT_ERROR,
      NGHTTP2_HTTP_1_1_REQUIRED, 0xe,                    0xffffffffu,
  };
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
    ck_assert_msg(cgrpc_code_from_rst_stream(others[i]) == CGRPC_STATUS_INTERNAL,
                  "RST_STREAM 0x%x", others[i]);
}
END_TEST

/* ---- grpc-status parsing -------------------------------------------------------------- */

static int code_parse(const char *s)
{
  return cgrpc_code_parse(s, strlen(s));
}

START_TEST(grpc_status_digits_parse_to_their_code)
{
  char buf[4];
  for (int c = 0; c < CGRPC_STATUS_CODE_COUNT; c++) {
    snprintf(buf, sizeof buf, "%d", c);
    ck_assert_int_eq(code_parse(buf), c);
  }
  ck_assert_int_eq(code_parse("00"), 0);
  ck_assert_int_eq(code_parse("014"), 14);
}
END_TEST

START_TEST(grpc_status_numbers_outside_the_17_codes_parse_to_unknown)
{
  ck_assert_int_eq(code_parse("17"), CGRPC_STATUS_UNKNOWN);
  ck_assert_int_eq(code_parse("99"), CGRPC_STATUS_UNKNOWN);
  ck_assert_int_eq(code_parse("200"), CGRPC_STATUS_UNKNOWN);
  ck_assert_int_eq(code_parse("999999999"), CGRPC_STATUS_UNKNOWN);
}
END_TEST

START_TEST(grpc_status_that_is_not_a_number_parses_to_minus_one)
{
  static const char *const junk[] = {"", "-1", "+1", " 1", "1 ", "1a", "a", "0x1", "1.0",
                                     "OK", "1234567890" /* more than 9 digits */};
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
    ck_assert_msg(code_parse(junk[i]) == -1, "\"%s\" parsed", junk[i]);
  ck_assert_int_eq(cgrpc_code_parse("1\0", 2), -1);
}
END_TEST

START_TEST(grpc_status_parse_reads_exactly_len_bytes)
{
  ck_assert_int_eq(cgrpc_code_parse("14xyz", 2), 14);
  ck_assert_int_eq(cgrpc_code_parse("145", 1), 1);
}
END_TEST

/* ---- cgrpc_status ------------------------------------------------------------------------- */

static void assert_pristine(const cgrpc_status *st)
{
  ck_assert_int_eq(st->code, CGRPC_STATUS_OK);
  ck_assert_ptr_null(st->message);
  ck_assert_ptr_null(st->initial_metadata);
  ck_assert_ptr_null(st->trailing_metadata);
}

START_TEST(init_and_the_static_initialiser_give_an_empty_ok_status)
{
  cgrpc_status a = CGRPC_STATUS_INIT;
  assert_pristine(&a);
  cgrpc_status b;
  memset(&b, 0x5a, sizeof b);
  cgrpc_status_init(&b);
  assert_pristine(&b);
}
END_TEST

START_TEST(set_copies_the_message_and_sets_the_code)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  char msg[] = "backend gone";
  ck_assert_int_eq(cgrpc_status_set(&st, NULL, CGRPC_STATUS_UNAVAILABLE, msg), 0);
  msg[0] = 'X';
  ck_assert_int_eq(st.code, CGRPC_STATUS_UNAVAILABLE);
  ck_assert_str_eq(st.message, "backend gone");
  cgrpc_status_clear(&st);
  assert_pristine(&st);
}
END_TEST

START_TEST(set_with_null_message_gives_empty_message)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_status_set(&st, NULL, CGRPC_STATUS_INTERNAL, NULL), 0);
  ck_assert_ptr_nonnull(st.message);
  ck_assert_str_eq(st.message, "");
  cgrpc_status_clear(&st);
}
END_TEST

START_TEST(set_twice_replaces_the_message_and_frees_the_old_one_with_its_allocator)
{
  unit_alloc a1, a2;
  unit_alloc_init(&a1, -1);
  unit_alloc_init(&a2, -1);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_status_set(&st, &a1.a, CGRPC_STATUS_ABORTED, "first"), 0);
  ck_assert_int_eq(a1.allocs, 1);
  ck_assert_int_eq(cgrpc_status_set(&st, &a2.a, CGRPC_STATUS_NOT_FOUND, "second"), 0);
  ck_assert_int_eq(a1.frees, 1);
  ck_assert_int_eq(a2.allocs, 1);
  ck_assert_int_eq(st.code, CGRPC_STATUS_NOT_FOUND);
  ck_assert_str_eq(st.message, "second");
  cgrpc_status_clear(&st);
  ck_assert_int_eq(a2.frees, 1);
  ck_assert_int_eq(a1.allocs, a1.frees);
}
END_TEST

START_TEST(set_keeps_metadata_already_there)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_metadata_new(&st.trailing_metadata, NULL), 0);
  ck_assert_int_eq(cgrpc_metadata_add_str(st.trailing_metadata, "x-why", "because"), 0);
  ck_assert_int_eq(cgrpc_status_set(&st, NULL, CGRPC_STATUS_DATA_LOSS, "lost"), 0);
  ck_assert_str_eq(cgrpc_metadata_get(st.trailing_metadata, "x-why"), "because");
  cgrpc_status_clear(&st); /* frees the metadata too: valgrind says so */
  assert_pristine(&st);
}
END_TEST

START_TEST(set_out_of_memory_reports_nomem_but_sets_the_code)
{
  unit_alloc ua;
  unit_alloc_init(&ua, 0);
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_status_set(&st, &ua.a, CGRPC_STATUS_CANCELLED, "x"), CGRPC_ERR_NOMEM);
  ck_assert_int_eq(st.code, CGRPC_STATUS_CANCELLED);
  ck_assert_ptr_null(st.message);
  cgrpc_status_clear(&st);
}
END_TEST

START_TEST(setf_formats_the_message)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_status_setf(&st, NULL, CGRPC_STATUS_OUT_OF_RANGE, "%d > %s", 7, "max"),
                   0);
  ck_assert_int_eq(st.code, CGRPC_STATUS_OUT_OF_RANGE);
  ck_assert_str_eq(st.message, "7 > max");
  cgrpc_status_clear(&st);
}
END_TEST

START_TEST(clear_frees_everything_and_resets_to_init)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_status_set(&st, NULL, CGRPC_STATUS_INTERNAL, "boom"), 0);
  ck_assert_int_eq(cgrpc_metadata_new(&st.initial_metadata, NULL), 0);
  ck_assert_int_eq(cgrpc_metadata_add_str(st.initial_metadata, "x-a", "1"), 0);
  ck_assert_int_eq(cgrpc_metadata_new(&st.trailing_metadata, NULL), 0);
  ck_assert_int_eq(cgrpc_metadata_add_str(st.trailing_metadata, "x-b", "2"), 0);
  cgrpc_status_clear(&st);
  assert_pristine(&st);
  cgrpc_status_clear(&st); /* clearing twice is harmless */
  cgrpc_status_clear(NULL);
}
END_TEST

START_TEST(status_can_be_reused_after_clear)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(cgrpc_status_setf(&st, NULL, CGRPC_STATUS_ABORTED, "try %d", i), 0);
    ck_assert_int_eq(st.code, CGRPC_STATUS_ABORTED);
    cgrpc_status_clear(&st);
  }
}
END_TEST

START_TEST(move_transfers_ownership_and_resets_the_source)
{
  cgrpc_status src = CGRPC_STATUS_INIT, dst = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_status_set(&src, NULL, CGRPC_STATUS_PERMISSION_DENIED, "no"), 0);
  ck_assert_int_eq(cgrpc_metadata_new(&src.trailing_metadata, NULL), 0);
  ck_assert_int_eq(cgrpc_status_set(&dst, NULL, CGRPC_STATUS_UNKNOWN, "old"), 0);
  char *msg = src.message;
  cgrpc_metadata *md = src.trailing_metadata;
  cgrpc_status_move(&dst, &src); /* dst's old message is freed: valgrind says so */
  assert_pristine(&src);
  ck_assert_int_eq(dst.code, CGRPC_STATUS_PERMISSION_DENIED);
  ck_assert_ptr_eq(dst.message, msg);
  ck_assert_ptr_eq(dst.trailing_metadata, md);
  cgrpc_status_clear(&src);
  cgrpc_status_clear(&dst);
}
END_TEST

START_TEST(move_onto_itself_changes_nothing)
{
  cgrpc_status st = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_status_set(&st, NULL, CGRPC_STATUS_ABORTED, "same"), 0);
  cgrpc_status_move(&st, &st);
  ck_assert_int_eq(st.code, CGRPC_STATUS_ABORTED);
  ck_assert_str_eq(st.message, "same");
  cgrpc_status_clear(&st);
}
END_TEST

START_TEST(moved_message_is_freed_with_the_allocator_that_made_it)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_status src = CGRPC_STATUS_INIT, dst = CGRPC_STATUS_INIT;
  ck_assert_int_eq(cgrpc_status_set(&src, &ua.a, CGRPC_STATUS_ABORTED, "mine"), 0);
  cgrpc_status_move(&dst, &src);
  cgrpc_status_clear(&dst);
  ck_assert_int_eq(ua.allocs, 1);
  ck_assert_int_eq(ua.frees, 1);
}
END_TEST

Suite *status_suite(void)
{
  Suite *s = suite_create("status");
  TCase *tc = tcase_create("codes and names");
  tcase_add_test(tc, codes_have_their_wire_values);
  tcase_add_test(tc, every_code_has_its_canonical_name);
  tcase_add_test(tc, codes_out_of_range_are_named_unknown_code);
  tcase_add_test(tc, names_parse_back_to_their_codes);
  tcase_add_test(tc, names_parse_case_insensitively);
  tcase_add_test(tc, unknown_names_parse_to_minus_one);
  suite_add_tcase(s, tc);

  tc = tcase_create("http2 mappings");
  tcase_add_test(tc, http_status_without_grpc_status_maps_as_the_spec_table_says);
  tcase_add_test(tc, every_other_http_status_maps_to_unknown);
  tcase_add_test(tc, rst_stream_codes_map_as_the_spec_table_says);
  tcase_add_test(tc, every_other_rst_stream_code_maps_to_internal);
  suite_add_tcase(s, tc);

  tc = tcase_create("grpc-status");
  tcase_add_test(tc, grpc_status_digits_parse_to_their_code);
  tcase_add_test(tc, grpc_status_numbers_outside_the_17_codes_parse_to_unknown);
  tcase_add_test(tc, grpc_status_that_is_not_a_number_parses_to_minus_one);
  tcase_add_test(tc, grpc_status_parse_reads_exactly_len_bytes);
  suite_add_tcase(s, tc);

  tc = tcase_create("cgrpc_status");
  tcase_add_test(tc, init_and_the_static_initialiser_give_an_empty_ok_status);
  tcase_add_test(tc, set_copies_the_message_and_sets_the_code);
  tcase_add_test(tc, set_with_null_message_gives_empty_message);
  tcase_add_test(tc, set_twice_replaces_the_message_and_frees_the_old_one_with_its_allocator);
  tcase_add_test(tc, set_keeps_metadata_already_there);
  tcase_add_test(tc, set_out_of_memory_reports_nomem_but_sets_the_code);
  tcase_add_test(tc, setf_formats_the_message);
  tcase_add_test(tc, clear_frees_everything_and_resets_to_init);
  tcase_add_test(tc, status_can_be_reused_after_clear);
  tcase_add_test(tc, move_transfers_ownership_and_resets_the_source);
  tcase_add_test(tc, move_onto_itself_changes_nothing);
  tcase_add_test(tc, moved_message_is_freed_with_the_allocator_that_made_it);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(status_suite)
