/* Specification of header handling: nghttp2 header lists, recognising gRPC's headers, content-type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <cgrpc/metadata.h>

#include "wire/headers.h"
#include "unit_main.h"

Suite *headers_suite(void);

static cgrpc_header classify(const char *name)
{
  return cgrpc_header_classify((const uint8_t *)name, strlen(name));
}

static int is_grpc(const char *ct)
{
  return cgrpc_content_type_is_grpc((const uint8_t *)ct, strlen(ct));
}

/* The i-th header of b, checked to be name: value. */
static void assert_nv(const cgrpc_nvbuf *b, size_t i, const char *name, const char *value)
{
  ck_assert_uint_lt(i, b->n);
  const nghttp2_nv *nv = &b->nv[i];
  ck_assert_msg(nv->namelen == strlen(name) && memcmp(nv->name, name, nv->namelen) == 0,
                "header %zu is named %.*s, not %s", i, (int)nv->namelen, (const char *)nv->name,
                name);
  ck_assert_msg(nv->valuelen == strlen(value) && memcmp(nv->value, value, nv->valuelen) == 0,
                "header %s is %.*s, not %s", name, (int)nv->valuelen, (const char *)nv->value,
                value);
}

/* ---- classification ------------------------------------------------------------------ */

START_TEST(pseudo_headers_are_classified)
{
  ck_assert_int_eq(classify(":status"), CGRPC_HDR_STATUS);
  ck_assert_int_eq(classify(":method"), CGRPC_HDR_METHOD);
  ck_assert_int_eq(classify(":path"), CGRPC_HDR_PATH);
  ck_assert_int_eq(classify(":authority"), CGRPC_HDR_AUTHORITY);
  ck_assert_int_eq(classify(":scheme"), CGRPC_HDR_PSEUDO);
  ck_assert_int_eq(classify(":protocol"), CGRPC_HDR_PSEUDO);
  ck_assert_int_eq(classify(":"), CGRPC_HDR_PSEUDO);
  ck_assert_int_eq(classify(":pathx"), CGRPC_HDR_PSEUDO);
}
END_TEST

START_TEST(grpc_headers_are_classified)
{
  ck_assert_int_eq(classify("grpc-status"), CGRPC_HDR_GRPC_STATUS);
  ck_assert_int_eq(classify("grpc-message"), CGRPC_HDR_GRPC_MESSAGE);
  ck_assert_int_eq(classify("grpc-timeout"), CGRPC_HDR_GRPC_TIMEOUT);
  ck_assert_int_eq(classify("grpc-encoding"), CGRPC_HDR_GRPC_ENCODING);
  ck_assert_int_eq(classify("grpc-accept-encoding"), CGRPC_HDR_GRPC_OTHER);
  ck_assert_int_eq(classify("grpc-status-details-bin"), CGRPC_HDR_GRPC_OTHER);
  ck_assert_int_eq(classify("grpc-previous-rpc-attempts"), CGRPC_HDR_GRPC_OTHER);
  ck_assert_int_eq(classify("grpc-retry-pushback-ms"), CGRPC_HDR_GRPC_OTHER);
  ck_assert_int_eq(classify("grpc-statusx"), CGRPC_HDR_GRPC_OTHER);
}
END_TEST

START_TEST(http_headers_grpc_reads_are_classified)
{
  ck_assert_int_eq(classify("content-type"), CGRPC_HDR_CONTENT_TYPE);
  ck_assert_int_eq(classify("te"), CGRPC_HDR_TE);
}
END_TEST

START_TEST(everything_else_is_other)
{
  static const char *const others[] = {"user-agent", "x-custom",     "x-data-bin", "authorization",
                                       "grpc",       "grpcx-status", "tea",        "t",
                                       "content-typ", "content-types", "x-grpc-status", ""};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
    ck_assert_msg(classify(others[i]) == CGRPC_HDR_OTHER, "\"%s\" -> %d", others[i],
                  classify(others[i]));
}
END_TEST

START_TEST(classification_reads_exactly_len_bytes)
{
  ck_assert_int_eq(cgrpc_header_classify((const uint8_t *)":pathology", 5), CGRPC_HDR_PATH);
  ck_assert_int_eq(cgrpc_header_classify((const uint8_t *)"tea", 2), CGRPC_HDR_TE);
  ck_assert_int_eq(cgrpc_header_classify((const uint8_t *)"grpc-statusx", 11),
                   CGRPC_HDR_GRPC_STATUS);
  ck_assert_int_eq(cgrpc_header_classify((const uint8_t *)"te", 0), CGRPC_HDR_OTHER);
}
END_TEST

/* ---- content-type ---------------------------------------------------------------------- */

START_TEST(application_grpc_and_its_variants_are_grpc)
{
  ck_assert(is_grpc("application/grpc"));
  ck_assert(is_grpc("application/grpc+proto"));
  ck_assert(is_grpc("application/grpc+json"));
  ck_assert(is_grpc("application/grpc;charset=x"));
  ck_assert(is_grpc("application/grpc; charset=utf-8"));
}
END_TEST

START_TEST(other_content_types_are_not_grpc)
{
  static const char *const not_grpc[] = {"application/grpcx", "text/plain", "",
                                         "application/grp", "application/grpc-web",
                                         "application/grpc-web+proto", "application/json",
                                         " application/grpc", "application/grpc/x",
                                         "application/grpc-web-text"};
  for (size_t i = 0; i < sizeof not_grpc / sizeof not_grpc[0]; i++)
    ck_assert_msg(!is_grpc(not_grpc[i]), "\"%s\" taken for gRPC", not_grpc[i]);
}
END_TEST

START_TEST(content_type_reads_exactly_len_bytes)
{
  ck_assert(cgrpc_content_type_is_grpc((const uint8_t *)"application/grpcx", 16));
  ck_assert(!cgrpc_content_type_is_grpc((const uint8_t *)"application/grpc", 15));
}
END_TEST

/* ---- nvbuf ------------------------------------------------------------------------------ */

START_TEST(static_headers_are_referenced_not_copied)
{
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, cgrpc_default_allocator());
  static const char name[] = "te", value[] = "trailers";
  ck_assert_int_eq(cgrpc_nvbuf_add_static(&b, name, value), 0);
  ck_assert_uint_eq(b.n, 1);
  ck_assert_ptr_eq(b.nv[0].name, (const uint8_t *)name);
  ck_assert_ptr_eq(b.nv[0].value, (const uint8_t *)value);
  ck_assert_uint_eq(b.nv[0].flags, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
  assert_nv(&b, 0, "te", "trailers");
  cgrpc_nvbuf_clear(&b);
}
END_TEST

START_TEST(other_headers_are_copied_by_nghttp2_on_submit)
{
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, cgrpc_default_allocator());
  char path[] = "/pkg.S/M-and-more";
  ck_assert_int_eq(cgrpc_nvbuf_add(&b, ":path", 5, path, 8), 0);
  ck_assert_uint_eq(b.nv[0].flags, NGHTTP2_NV_FLAG_NONE);
  assert_nv(&b, 0, ":path", "/pkg.S/M");
  cgrpc_nvbuf_clear(&b);
}
END_TEST

START_TEST(headers_keep_their_order_past_the_inline_capacity)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, &ua.a);
  static char names[200][16];
  for (int i = 0; i < 200; i++) {
    snprintf(names[i], sizeof names[i], "x-h%d", i);
    ck_assert_int_eq(cgrpc_nvbuf_add_static(&b, names[i], names[i]), 0);
  }
  ck_assert_uint_eq(b.n, 200);
  for (int i = 0; i < 200; i++)
    assert_nv(&b, (size_t)i, names[i], names[i]);
  cgrpc_nvbuf_clear(&b);
  ck_assert_int_eq(ua.allocs, ua.frees);
}
END_TEST

START_TEST(metadata_is_added_with_bin_values_in_unpadded_base64)
{
  cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_metadata_new(&md, NULL), 0);
  ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-plain", "hello"), 0);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-data-bin", "\0\1", 2), 0);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-three-bin", "foo", 3), 0);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-empty-bin", NULL, 0), 0);
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_nvbuf_add_metadata(&b, md), 0);
  ck_assert_uint_eq(b.n, 4);
  assert_nv(&b, 0, "x-plain", "hello");
  assert_nv(&b, 1, "x-data-bin", "AAE");
  assert_nv(&b, 2, "x-three-bin", "Zm9v");
  assert_nv(&b, 3, "x-empty-bin", "");
  cgrpc_nvbuf_clear(&b);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(null_metadata_adds_nothing)
{
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_nvbuf_add_metadata(&b, NULL), 0);
  ck_assert_uint_eq(b.n, 0);
  cgrpc_nvbuf_clear(&b);
}
END_TEST

START_TEST(large_bin_values_spill_from_the_inline_memory_and_are_freed_by_clear)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_metadata_new(&md, NULL), 0);
  static uint8_t blob[3000];
  memset(blob, 0xFF, sizeof blob);
  for (int i = 0; i < 20; i++)
    ck_assert_int_eq(cgrpc_metadata_add(md, "x-blob-bin", blob, sizeof blob), 0);
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, &ua.a);
  ck_assert_int_eq(cgrpc_nvbuf_add_metadata(&b, md), 0);
  ck_assert_uint_eq(b.n, 20);
  for (int i = 0; i < 20; i++) {
    ck_assert_uint_eq(b.nv[i].valuelen, 4000);
    for (size_t j = 0; j < 4000; j++)
      ck_assert_int_eq(b.nv[i].value[j], '/');
  }
  ck_assert_int_gt(ua.allocs, 0);
  cgrpc_nvbuf_clear(&b);
  ck_assert_int_eq(ua.allocs, ua.frees);
  cgrpc_metadata_free(md);
}
END_TEST

START_TEST(status_adds_grpc_status_and_a_percent_encoded_message)
{
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_nvbuf_add_status(&b, CGRPC_STATUS_UNAVAILABLE, "100% down\n\xE2\x98\xBA"),
                   0);
  ck_assert_uint_eq(b.n, 2);
  assert_nv(&b, 0, "grpc-status", "14");
  assert_nv(&b, 1, "grpc-message", "100%25 down%0A%E2%98%BA");
  cgrpc_nvbuf_clear(&b);
}
END_TEST

START_TEST(status_without_a_message_adds_no_grpc_message)
{
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_nvbuf_add_status(&b, CGRPC_STATUS_OK, NULL), 0);
  ck_assert_int_eq(cgrpc_nvbuf_add_status(&b, CGRPC_STATUS_UNAUTHENTICATED, ""), 0);
  ck_assert_uint_eq(b.n, 2);
  assert_nv(&b, 0, "grpc-status", "0");
  assert_nv(&b, 1, "grpc-status", "16");
  cgrpc_nvbuf_clear(&b);
}
END_TEST

START_TEST(status_code_of_every_value_is_written_in_decimal)
{
  char want[4];
  for (int c = 0; c < CGRPC_STATUS_CODE_COUNT; c++) {
    cgrpc_nvbuf b;
    cgrpc_nvbuf_init(&b, cgrpc_default_allocator());
    ck_assert_int_eq(cgrpc_nvbuf_add_status(&b, (cgrpc_code)c, NULL), 0);
    snprintf(want, sizeof want, "%d", c);
    assert_nv(&b, 0, "grpc-status", want);
    cgrpc_nvbuf_clear(&b);
  }
}
END_TEST

START_TEST(status_code_out_of_range_is_sent_as_unknown)
{
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_nvbuf_add_status(&b, (cgrpc_code)17, NULL), 0);
  ck_assert_int_eq(cgrpc_nvbuf_add_status(&b, (cgrpc_code)-1, NULL), 0);
  assert_nv(&b, 0, "grpc-status", "2");
  assert_nv(&b, 1, "grpc-status", "2");
  cgrpc_nvbuf_clear(&b);
}
END_TEST

START_TEST(timeout_is_added_as_grpc_timeout)
{
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_nvbuf_add_timeout(&b, 250 * INT64_C(1000000)), 0);
  ck_assert_int_eq(cgrpc_nvbuf_add_timeout(&b, 0), 0);
  assert_nv(&b, 0, "grpc-timeout", "250000u");
  assert_nv(&b, 1, "grpc-timeout", "1n");
  cgrpc_nvbuf_clear(&b);
}
END_TEST

START_TEST(out_of_memory_is_reported)
{
  unit_alloc ua;
  unit_alloc_init(&ua, 0);
  cgrpc_nvbuf b;
  cgrpc_nvbuf_init(&b, &ua.a);
  int rv = 0;
  for (int i = 0; i < 17 && rv == 0; i++)
    rv = cgrpc_nvbuf_add_static(&b, "x-a", "1");
  ck_assert_int_eq(rv, CGRPC_ERR_NOMEM);
  ck_assert_uint_eq(b.n, 16);
  cgrpc_nvbuf_clear(&b);

  cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_metadata_new(&md, NULL), 0);
  static uint8_t blob[4000];
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-blob-bin", blob, sizeof blob), 0);
  cgrpc_nvbuf_init(&b, &ua.a);
  ck_assert_int_eq(cgrpc_nvbuf_add_metadata(&b, md), CGRPC_ERR_NOMEM);
  cgrpc_nvbuf_clear(&b);
  cgrpc_metadata_free(md);
  ck_assert_int_eq(ua.allocs, 0);
}
END_TEST

START_TEST(cleared_nvbuf_can_be_filled_again)
{
  /* A guard after the buffer: growing again must not write past its inline storage. */
  typedef struct guarded {
    cgrpc_nvbuf b;
    unsigned char guard[8192];
  } guarded;
  guarded *g = malloc(sizeof *g);
  ck_assert_ptr_nonnull(g);
  memset(g->guard, 0xC5, sizeof g->guard);
  static char names[100][16];
  for (int i = 0; i < 100; i++)
    snprintf(names[i], sizeof names[i], "x-h%d", i);

  cgrpc_nvbuf_init(&g->b, cgrpc_default_allocator());
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 100; i++)
      ck_assert_int_eq(cgrpc_nvbuf_add_static(&g->b, names[i], "v"), 0);
    ck_assert_uint_eq(g->b.n, 100);
    ck_assert_uint_le(g->b.n, g->b.cap);
    for (int i = 0; i < 100; i++)
      assert_nv(&g->b, (size_t)i, names[i], "v");
    size_t overrun = 0;
    for (size_t i = 0; i < sizeof g->guard; i++)
      if (g->guard[i] != 0xC5)
        overrun = i + 1;
    cgrpc_nvbuf_clear(&g->b);
    ck_assert_uint_eq(g->b.n, 0);
    if (overrun > 0)
      free(g); /* before failing, so valgrind reports the bug, not a leak */
    ck_assert_msg(overrun == 0, "round %d: wrote %zu bytes past the nvbuf", round, overrun);
  }
  free(g);
}
END_TEST

Suite *headers_suite(void)
{
  Suite *s = suite_create("headers");
  TCase *tc = tcase_create("classification");
  tcase_add_test(tc, pseudo_headers_are_classified);
  tcase_add_test(tc, grpc_headers_are_classified);
  tcase_add_test(tc, http_headers_grpc_reads_are_classified);
  tcase_add_test(tc, everything_else_is_other);
  tcase_add_test(tc, classification_reads_exactly_len_bytes);
  suite_add_tcase(s, tc);

  tc = tcase_create("content-type");
  tcase_add_test(tc, application_grpc_and_its_variants_are_grpc);
  tcase_add_test(tc, other_content_types_are_not_grpc);
  tcase_add_test(tc, content_type_reads_exactly_len_bytes);
  suite_add_tcase(s, tc);

  tc = tcase_create("nvbuf");
  tcase_add_test(tc, static_headers_are_referenced_not_copied);
  tcase_add_test(tc, other_headers_are_copied_by_nghttp2_on_submit);
  tcase_add_test(tc, headers_keep_their_order_past_the_inline_capacity);
  tcase_add_test(tc, metadata_is_added_with_bin_values_in_unpadded_base64);
  tcase_add_test(tc, null_metadata_adds_nothing);
  tcase_add_test(tc, large_bin_values_spill_from_the_inline_memory_and_are_freed_by_clear);
  tcase_add_test(tc, status_adds_grpc_status_and_a_percent_encoded_message);
  tcase_add_test(tc, status_without_a_message_adds_no_grpc_message);
  tcase_add_test(tc, status_code_of_every_value_is_written_in_decimal);
  tcase_add_test(tc, status_code_out_of_range_is_sent_as_unknown);
  tcase_add_test(tc, timeout_is_added_as_grpc_timeout);
  tcase_add_test(tc, out_of_memory_is_reported);
  tcase_add_test(tc, cleared_nvbuf_can_be_filled_again);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(headers_suite)
