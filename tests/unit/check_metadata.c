/* Specification of metadata: key and value rules, reserved names, -bin values, and headers from the wire. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <cgrpc/metadata.h>

#include "wire/metadata_internal.h"
#include "unit_main.h"

Suite *metadata_suite(void);

static cgrpc_metadata *md_new(void)
{
  cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_metadata_new(&md, NULL), 0);
  ck_assert_ptr_nonnull(md);
  return md;
}

/* ---- keys ---------------------------------------------------------------------------- */

START_TEST(lowercase_letters_digits_dash_underscore_and_dot_make_valid_keys)
{
  static const char *const good[] = {"x-custom", "a", "0", "a.b_c-9", "x-trace-id",
                                     "authorization", "idempotency-key", "x-data-bin",
                                     "grpc", "grpcx-foo", "x-grpc-foo", "-", ".", "_",
                                     "tea", "hosts", "content-types", "teacher"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    ck_assert_msg(cgrpc_metadata_check_key(good[i]) == 0, "\"%s\" refused", good[i]);
}
END_TEST

START_TEST(keys_with_other_characters_are_bad)
{
  static const char *const bad[] = {
      "X-Custom", "x-Custom", "A", "a b", " a", "a ", "a\tb", "a:b", "a/b", "a=b",
      "caf\xC3\xA9", "\x7f", "a\x01", "key!", "k\xff", "a,b", "\"a\"",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(cgrpc_metadata_check_key(bad[i]) == CGRPC_ERR_BAD_KEY, "\"%s\" -> %d", bad[i],
                  cgrpc_metadata_check_key(bad[i]));
}
END_TEST

START_TEST(empty_or_null_key_is_bad)
{
  ck_assert_int_eq(cgrpc_metadata_check_key(""), CGRPC_ERR_BAD_KEY);
  ck_assert_int_eq(cgrpc_metadata_check_key(NULL), CGRPC_ERR_BAD_KEY);
}
END_TEST

START_TEST(grpc_pseudo_and_http_connection_headers_are_reserved_keys)
{
  static const char *const reserved[] = {
      ":path",          ":authority",   ":method",          ":scheme",
      ":status",        ":x",           ":",                "grpc-",
      "grpc-timeout",   "grpc-status",  "grpc-message",     "grpc-encoding",
      "grpc-accept-encoding", "grpc-status-details-bin", "grpc-anything", "content-type",
      "te",             "user-agent",   "connection",       "keep-alive",
      "host",           "upgrade",      "transfer-encoding", "proxy-connection",
  };
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    ck_assert_msg(cgrpc_metadata_check_key(reserved[i]) == CGRPC_ERR_RESERVED_KEY,
                  "\"%s\" -> %d", reserved[i], cgrpc_metadata_check_key(reserved[i]));
}
END_TEST

START_TEST(reserved_test_looks_at_exactly_len_bytes)
{
  ck_assert_int_ne(cgrpc_metadata_is_reserved("te-extra", 2), 0);
  ck_assert_int_eq(cgrpc_metadata_is_reserved("te", 1), 0);
  ck_assert_int_ne(cgrpc_metadata_is_reserved("hostname", 4), 0);
  ck_assert_int_eq(cgrpc_metadata_is_reserved("grpc-x", 4), 0);
  ck_assert_int_eq(cgrpc_metadata_is_reserved("", 0), 0);
  ck_assert_int_eq(cgrpc_metadata_is_reserved("x-user", 6), 0);
}
END_TEST

START_TEST(bin_suffix_needs_a_name_before_it)
{
  ck_assert_int_ne(cgrpc_metadata_key_is_bin("x-bin", 5), 0);
  ck_assert_int_ne(cgrpc_metadata_key_is_bin("a-bin", 5), 0);
  ck_assert_int_eq(cgrpc_metadata_key_is_bin("-bin", 4), 0);
  ck_assert_int_eq(cgrpc_metadata_key_is_bin("x-bin-", 6), 0);
  ck_assert_int_eq(cgrpc_metadata_key_is_bin("xbin", 4), 0);
  ck_assert_int_eq(cgrpc_metadata_key_is_bin("x-binary", 8), 0);
  ck_assert_int_ne(cgrpc_metadata_key_is_bin("x-bin-bin", 9), 0);
  ck_assert_int_ne(cgrpc_metadata_key_is_bin("x-binXX", 5), 0); /* only len bytes */
}
END_TEST

/* ---- adding ----------------------------------------------------------------------------- */

START_TEST(add_refuses_bad_and_reserved_keys_and_adds_nothing)
{
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "Bad", "v"), CGRPC_ERR_BAD_KEY);
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "", "v"), CGRPC_ERR_BAD_KEY);
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "grpc-timeout", "1S"), CGRPC_ERR_RESERVED_KEY);
  ck_assert_int_eq(cgrpc_metadata_add_str(md, ":path", "/x"), CGRPC_ERR_RESERVED_KEY);
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "user-agent", "me"), CGRPC_ERR_RESERVED_KEY);
  ck_assert_int_eq(cgrpc_metadata_add(md, NULL, "v", 1), CGRPC_ERR_BAD_KEY);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 0);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(ascii_values_must_be_printable)
{
  cgrpc_metadata *md = md_new();
  char printable[0x7f - 0x20];
  for (int c = 0x20; c <= 0x7e; c++)
    printable[c - 0x20] = (char)c;
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-all", printable, sizeof printable), 0);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-empty", "", 0), 0);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-empty-null", NULL, 0), 0);

  static const char *const bad[] = {"\x1f", "\x7f", "\x80", "tab\there", "nl\n", "\r",
                                    "caf\xC3\xA9", "\xff"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(cgrpc_metadata_add_str(md, "x-v", bad[i]) == CGRPC_ERR_BAD_VALUE,
                  "value %zu accepted", i);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-nul", "a\0b", 3), CGRPC_ERR_BAD_VALUE);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 3);
  const cgrpc_metadata_entry *e = cgrpc_metadata_find(md, "x-all");
  ck_assert_uint_eq(e->value_len, sizeof printable);
  ck_assert(memcmp(e->value, printable, sizeof printable) == 0);
  ck_assert_str_eq(cgrpc_metadata_get(md, "x-empty-null"), "");
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(bin_values_carry_arbitrary_bytes_including_nul)
{
  cgrpc_metadata *md = md_new();
  uint8_t all[256];
  for (int i = 0; i < 256; i++)
    all[i] = (uint8_t)i;
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-all-bin", all, sizeof all), 0);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-nul-bin", "\0\0\0", 3), 0);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-empty-bin", NULL, 0), 0);
  const cgrpc_metadata_entry *e = cgrpc_metadata_find(md, "x-all-bin");
  ck_assert_ptr_nonnull(e);
  ck_assert_uint_eq(e->value_len, 256);
  ck_assert(memcmp(e->value, all, 256) == 0);
  ck_assert_int_eq(e->value[256], 0); /* followed by a NUL */
  e = cgrpc_metadata_find(md, "x-nul-bin");
  ck_assert_uint_eq(e->value_len, 3);
  ck_assert(memcmp(e->value, "\0\0\0", 4) == 0);
  e = cgrpc_metadata_find(md, "x-empty-bin");
  ck_assert_uint_eq(e->value_len, 0);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(add_copies_key_and_value)
{
  cgrpc_metadata *md = md_new();
  char key[] = "x-key", value[] = "value";
  ck_assert_int_eq(cgrpc_metadata_add_str(md, key, value), 0);
  key[0] = 'y';
  value[0] = 'V';
  ck_assert_str_eq(cgrpc_metadata_at(md, 0)->key, "x-key");
  ck_assert_str_eq(cgrpc_metadata_get(md, "x-key"), "value");
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(add_with_null_arguments_is_invalid)
{
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(cgrpc_metadata_add(NULL, "x-a", "v", 1), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-a", NULL, 1), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-a", NULL), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_metadata_add_str(NULL, "x-a", "v"), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(cgrpc_metadata_new(NULL, NULL), CGRPC_ERR_INVALID_ARGUMENT);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 0);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(out_of_memory_is_reported_and_leaves_the_list_usable)
{
  unit_alloc ua;
  unit_alloc_init(&ua, 0);
  cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_metadata_new(&md, &ua.a), CGRPC_ERR_NOMEM);
  ck_assert_ptr_null(md);

  /* Fail each allocation of a sequence of adds in turn. */
  for (long budget = 1; budget < 12; budget++) {
    unit_alloc_init(&ua, budget);
    ck_assert_int_eq(cgrpc_metadata_new(&md, &ua.a), 0);
    int rv = 0, added = 0;
    for (int i = 0; i < 10 && rv == 0; i++) {
      rv = cgrpc_metadata_add_str(md, "x-k", "v");
      if (rv == 0)
        added++;
    }
    ck_assert_int_eq(rv, CGRPC_ERR_NOMEM);
    ck_assert_uint_eq(cgrpc_metadata_count(md), (size_t)added);
    for (int i = 0; i < added; i++)
      ck_assert_str_eq(cgrpc_metadata_get(md, "x-k"), "v");
    cgrpc_metadata_free(md);
    md = NULL;
    ck_assert_int_eq(ua.allocs, ua.frees);
  }
}
END_TEST

START_TEST(list_uses_its_allocator_for_everything)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_metadata_new(&md, &ua.a), 0);
  for (int i = 0; i < 50; i++)
    ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-k", "value"), 0);
  ck_assert_int_gt(ua.allocs, 50);
  cgrpc_metadata_free(md);
  ck_assert_int_eq(ua.allocs, ua.frees);
}
END_TEST

/* ---- reading ---------------------------------------------------------------------------- */

START_TEST(entries_keep_insertion_order_and_keys_may_repeat)
{
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-a", "1"), 0);
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-b", "2"), 0);
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-a", "3"), 0);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 3);
  ck_assert_str_eq(cgrpc_metadata_at(md, 0)->key, "x-a");
  ck_assert_str_eq((const char *)cgrpc_metadata_at(md, 0)->value, "1");
  ck_assert_str_eq(cgrpc_metadata_at(md, 1)->key, "x-b");
  ck_assert_str_eq(cgrpc_metadata_at(md, 2)->key, "x-a");
  ck_assert_str_eq((const char *)cgrpc_metadata_at(md, 2)->value, "3");
  ck_assert_uint_eq(cgrpc_metadata_at(md, 2)->value_len, 1);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(find_and_get_return_the_first_entry_with_the_key)
{
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-a", "first"), 0);
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-a", "second"), 0);
  ck_assert_ptr_eq(cgrpc_metadata_find(md, "x-a"), cgrpc_metadata_at(md, 0));
  ck_assert_str_eq(cgrpc_metadata_get(md, "x-a"), "first");
  ck_assert_ptr_null(cgrpc_metadata_find(md, "x-b"));
  ck_assert_ptr_null(cgrpc_metadata_get(md, "x-b"));
  ck_assert_ptr_null(cgrpc_metadata_find(md, "x-"));  /* no prefix matching */
  ck_assert_ptr_null(cgrpc_metadata_find(md, "x-aa"));
  ck_assert_ptr_null(cgrpc_metadata_find(md, "X-A")); /* keys are lowercase, compared exactly */
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(at_past_the_end_is_null)
{
  cgrpc_metadata *md = md_new();
  ck_assert_ptr_null(cgrpc_metadata_at(md, 0));
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-a", "1"), 0);
  ck_assert_ptr_nonnull(cgrpc_metadata_at(md, 0));
  ck_assert_ptr_null(cgrpc_metadata_at(md, 1));
  ck_assert_ptr_null(cgrpc_metadata_at(md, SIZE_MAX));
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(readers_and_free_accept_null)
{
  ck_assert_uint_eq(cgrpc_metadata_count(NULL), 0);
  ck_assert_ptr_null(cgrpc_metadata_at(NULL, 0));
  ck_assert_ptr_null(cgrpc_metadata_find(NULL, "x-a"));
  ck_assert_ptr_null(cgrpc_metadata_get(NULL, "x-a"));
  cgrpc_metadata *md = md_new();
  ck_assert_ptr_null(cgrpc_metadata_find(md, NULL));
  ck_assert_ptr_null(cgrpc_metadata_get(md, NULL));
  cgrpc_metadata_free(md);
  cgrpc_metadata_free(NULL);
}
END_TEST

START_TEST(many_entries_grow_the_list)
{
  cgrpc_metadata *md = md_new();
  char key[32], value[32];
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof key, "x-k%d", i);
    snprintf(value, sizeof value, "v%d", i);
    ck_assert_int_eq(cgrpc_metadata_add_str(md, key, value), 0);
  }
  ck_assert_uint_eq(cgrpc_metadata_count(md), 1000);
  for (int i = 0; i < 1000; i += 37) {
    snprintf(key, sizeof key, "x-k%d", i);
    snprintf(value, sizeof value, "v%d", i);
    ck_assert_str_eq(cgrpc_metadata_get(md, key), value);
    ck_assert_str_eq(cgrpc_metadata_at(md, (size_t)i)->key, key);
  }
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(ensure_creates_a_list_only_when_there_is_none)
{
  cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_metadata_ensure(&md, NULL), 0);
  ck_assert_ptr_nonnull(md);
  cgrpc_metadata *first = md;
  ck_assert_int_eq(cgrpc_metadata_ensure(&md, NULL), 0);
  ck_assert_ptr_eq(md, first);
  cgrpc_metadata_free(md);
}
END_TEST

/* ---- headers from the wire ------------------------------------------------------------ */

static int wire(cgrpc_metadata *md, const char *name, const char *value)
{
  return cgrpc_metadata_append_wire(md, name, strlen(name), value, strlen(value));
}

START_TEST(wire_headers_reserved_by_grpc_or_http_are_skipped)
{
  cgrpc_metadata *md = md_new();
  static const char *const skipped[] = {":status",      ":path",      "content-type",
                                        "te",           "grpc-status", "grpc-message",
                                        "grpc-timeout", "grpc-status-details-bin",
                                        "connection",   "host"};
  for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
    ck_assert_int_eq(wire(md, skipped[i], "x"), 0);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 0);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(wire_user_agent_is_kept)
{
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(wire(md, "user-agent", "grpc-go/1.60.0"), 0);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 1);
  ck_assert_str_eq(cgrpc_metadata_get(md, "user-agent"), "grpc-go/1.60.0");
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(wire_custom_headers_are_kept_in_order)
{
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(wire(md, "x-a", "1"), 0);
  ck_assert_int_eq(wire(md, "content-type", "application/grpc"), 0);
  ck_assert_int_eq(wire(md, "x-b", ""), 0);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 2);
  ck_assert_str_eq(cgrpc_metadata_at(md, 0)->key, "x-a");
  ck_assert_str_eq(cgrpc_metadata_at(md, 1)->key, "x-b");
  ck_assert_uint_eq(cgrpc_metadata_at(md, 1)->value_len, 0);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(wire_bin_values_are_base64_decoded_padded_or_not)
{
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(wire(md, "x-a-bin", "AAEC"), 0);
  ck_assert_int_eq(wire(md, "x-b-bin", "AAE"), 0);
  ck_assert_int_eq(wire(md, "x-c-bin", "AAE="), 0);
  ck_assert_int_eq(wire(md, "x-d-bin", "AA"), 0);
  ck_assert_int_eq(wire(md, "x-e-bin", "AA=="), 0);
  ck_assert_int_eq(wire(md, "x-f-bin", ""), 0);
  const cgrpc_metadata_entry *e = cgrpc_metadata_find(md, "x-a-bin");
  ck_assert_uint_eq(e->value_len, 3);
  ck_assert(memcmp(e->value, "\0\1\2", 3) == 0);
  e = cgrpc_metadata_find(md, "x-b-bin");
  ck_assert_uint_eq(e->value_len, 2);
  ck_assert(memcmp(e->value, "\0\1", 2) == 0);
  e = cgrpc_metadata_find(md, "x-c-bin");
  ck_assert_uint_eq(e->value_len, 2);
  ck_assert(memcmp(e->value, "\0\1", 2) == 0);
  e = cgrpc_metadata_find(md, "x-d-bin");
  ck_assert_uint_eq(e->value_len, 1);
  ck_assert_int_eq(e->value[0], 0);
  e = cgrpc_metadata_find(md, "x-e-bin");
  ck_assert_uint_eq(e->value_len, 1);
  e = cgrpc_metadata_find(md, "x-f-bin");
  ck_assert_uint_eq(e->value_len, 0);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(wire_long_bin_values_are_decoded_too)
{
  /* Past the decoder's on-stack buffer. */
  size_t n = 3000;
  char *b64 = malloc(n * 4 / 3 + 1);
  ck_assert_ptr_nonnull(b64);
  for (size_t i = 0; i < n * 4 / 3; i++)
    b64[i] = "/+9z"[i % 4]; /* 0xFF 0xEF 0x73 repeated */
  b64[n * 4 / 3] = '\0';
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(wire(md, "x-long-bin", b64), 0);
  const cgrpc_metadata_entry *e = cgrpc_metadata_find(md, "x-long-bin");
  ck_assert_uint_eq(e->value_len, n);
  for (size_t i = 0; i < n; i += 3)
    ck_assert(memcmp(e->value + i, "\xFF\xEF\x73", 3) == 0);
  cgrpc_metadata_free(md);
  free(b64);
}
END_TEST

START_TEST(wire_bad_base64_is_a_protocol_error_and_adds_nothing)
{
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(wire(md, "x-a-bin", "A"), CGRPC_ERR_PROTO);
  ck_assert_int_eq(wire(md, "x-a-bin", "AA!A"), CGRPC_ERR_PROTO);
  ck_assert_int_eq(wire(md, "x-a-bin", "AA A"), CGRPC_ERR_PROTO);
  ck_assert_int_eq(wire(md, "x-a-bin", "A=AA"), CGRPC_ERR_PROTO);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 0);

  size_t n = 1000;
  char *bad = malloc(n + 1);
  ck_assert_ptr_nonnull(bad);
  memset(bad, 'A', n);
  bad[500] = '*';
  bad[n] = '\0';
  ck_assert_int_eq(wire(md, "x-big-bin", bad), CGRPC_ERR_PROTO);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 0);
  free(bad);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(wire_names_and_values_are_read_by_length)
{
  cgrpc_metadata *md = md_new();
  ck_assert_int_eq(cgrpc_metadata_append_wire(md, "x-abcdef", 3, "valueXYZ", 5), 0);
  ck_assert_str_eq(cgrpc_metadata_at(md, 0)->key, "x-a");
  ck_assert_str_eq((const char *)cgrpc_metadata_at(md, 0)->value, "value");
  /* "te" as the first two bytes of a longer buffer is the te header. */
  ck_assert_int_eq(cgrpc_metadata_append_wire(md, "tea", 2, "trailers", 8), 0);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 1);
  cgrpc_metadata_free(md);
}
END_TEST

Suite *metadata_suite(void)
{
  Suite *s = suite_create("metadata");
  TCase *tc = tcase_create("keys");
  tcase_add_test(tc, lowercase_letters_digits_dash_underscore_and_dot_make_valid_keys);
  tcase_add_test(tc, keys_with_other_characters_are_bad);
  tcase_add_test(tc, empty_or_null_key_is_bad);
  tcase_add_test(tc, grpc_pseudo_and_http_connection_headers_are_reserved_keys);
  tcase_add_test(tc, reserved_test_looks_at_exactly_len_bytes);
  tcase_add_test(tc, bin_suffix_needs_a_name_before_it);
  suite_add_tcase(s, tc);

  tc = tcase_create("adding");
  tcase_add_test(tc, add_refuses_bad_and_reserved_keys_and_adds_nothing);
  tcase_add_test(tc, ascii_values_must_be_printable);
  tcase_add_test(tc, bin_values_carry_arbitrary_bytes_including_nul);
  tcase_add_test(tc, add_copies_key_and_value);
  tcase_add_test(tc, add_with_null_arguments_is_invalid);
  tcase_add_test(tc, out_of_memory_is_reported_and_leaves_the_list_usable);
  tcase_add_test(tc, list_uses_its_allocator_for_everything);
  suite_add_tcase(s, tc);

  tc = tcase_create("reading");
  tcase_add_test(tc, entries_keep_insertion_order_and_keys_may_repeat);
  tcase_add_test(tc, find_and_get_return_the_first_entry_with_the_key);
  tcase_add_test(tc, at_past_the_end_is_null);
  tcase_add_test(tc, readers_and_free_accept_null);
  tcase_add_test(tc, many_entries_grow_the_list);
  tcase_add_test(tc, ensure_creates_a_list_only_when_there_is_none);
  suite_add_tcase(s, tc);

  tc = tcase_create("wire");
  tcase_add_test(tc, wire_headers_reserved_by_grpc_or_http_are_skipped);
  tcase_add_test(tc, wire_user_agent_is_kept);
  tcase_add_test(tc, wire_custom_headers_are_kept_in_order);
  tcase_add_test(tc, wire_bin_values_are_base64_decoded_padded_or_not);
  tcase_add_test(tc, wire_long_bin_values_are_decoded_too);
  tcase_add_test(tc, wire_bad_base64_is_a_protocol_error_and_adds_nothing);
  tcase_add_test(tc, wire_names_and_values_are_read_by_length);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(metadata_suite)
