/* compress: gzip and deflate through zlib, with the receive limit enforced while inflating. */
#include <string.h>

#include <zlib.h>

#include "base/alloc.h"
#include "wire/compress.h"
#include "unit_main.h"

static uint8_t *pattern(size_t n, uint64_t seed)
{
  uint8_t *p = malloc(n + 1);
  /* Half repetitive, half random: compressible but not trivially. */
  for (size_t i = 0; i < n; i++)
    p[i] = i % 512 < 256 ? (uint8_t)(i % 7) : (uint8_t)unit_rand(&seed);
  return p;
}

static void round_trip(cgrpc_encoding e, size_t n)
{
  unit_alloc u;
  unit_alloc_init(&u, -1);
  uint8_t *src = pattern(n, n + 1);
  uint8_t *z, *back;
  size_t zlen, blen;
  ck_assert_int_eq(cgrpc_compress(e, &u.a, src, n, 5, &z, &zlen), 0);
  ck_assert_uint_ge(zlen, 5);
  ck_assert_int_eq(cgrpc_decompress(e, &u.a, z + 5, zlen - 5, -1, &back, &blen), 0);
  ck_assert_uint_eq(blen, n);
  ck_assert_int_eq(memcmp(back, src, n), 0);
  cgrpc_free(&u.a, z);
  cgrpc_free(&u.a, back);
  ck_assert_int_eq(u.allocs, u.frees);
  free(src);
}

START_TEST(gzip_and_deflate_round_trip_at_every_size)
{
  static const size_t sizes[] = {0, 1, 2, 100, 4096, 4097, 65536, 1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    round_trip(CGRPC_ENCODING_GZIP, sizes[i]);
    round_trip(CGRPC_ENCODING_DEFLATE, sizes[i]);
  }
}
END_TEST

START_TEST(gzip_output_is_what_zlib_and_gunzip_read)
{
  /* A gzip member: magic 1f 8b, and zlib's uncompress-with-gzip-window agrees. */
  uint8_t *z;
  size_t zlen;
  static const uint8_t text[] = "hello hello hello hello";
  ck_assert_int_eq(cgrpc_compress(CGRPC_ENCODING_GZIP, cgrpc_default_allocator(), text,
                                  sizeof text, 0, &z, &zlen), 0);
  ck_assert_uint_ge(zlen, 18);
  ck_assert_int_eq(z[0], 0x1f);
  ck_assert_int_eq(z[1], 0x8b);
  z_stream s;
  memset(&s, 0, sizeof s);
  ck_assert_int_eq(inflateInit2(&s, 15 + 16), Z_OK);
  uint8_t out[64];
  s.next_in = z;
  s.avail_in = (uInt)zlen;
  s.next_out = out;
  s.avail_out = sizeof out;
  ck_assert_int_eq(inflate(&s, Z_FINISH), Z_STREAM_END);
  ck_assert_uint_eq(s.total_out, sizeof text);
  ck_assert_int_eq(memcmp(out, text, sizeof text), 0);
  inflateEnd(&s);
  free(z);
}
END_TEST

START_TEST(the_limit_holds_exactly_and_stops_a_bomb_early)
{
  unit_alloc u;
  unit_alloc_init(&u, -1);
  size_t n = 100000;
  uint8_t *zeros = calloc(1, n);
  uint8_t *z, *back;
  size_t zlen, blen;
  ck_assert_int_eq(cgrpc_compress(CGRPC_ENCODING_GZIP, &u.a, zeros, n, 0, &z, &zlen), 0);
  ck_assert_int_eq(cgrpc_decompress(CGRPC_ENCODING_GZIP, &u.a, z, zlen, (int64_t)n, &back, &blen), 0);
  ck_assert_uint_eq(blen, n);
  cgrpc_free(&u.a, back);
  ck_assert_int_eq(cgrpc_decompress(CGRPC_ENCODING_GZIP, &u.a, z, zlen, (int64_t)n - 1, &back, &blen),
                   CGRPC_ERR_TOO_LARGE);
  cgrpc_free(&u.a, z);
  free(zeros);

  /* 64 MiB of zeros (8 under valgrind) inflates no further than the limit. */
  size_t big = UNIT_UNDER_VALGRIND() ? 8u << 20 : 64u << 20;
  zeros = calloc(1, big);
  ck_assert_int_eq(cgrpc_compress(CGRPC_ENCODING_GZIP, &u.a, zeros, big, 0, &z, &zlen), 0);
  free(zeros);
  ck_assert_uint_lt(zlen, 200000);
  ck_assert_int_eq(cgrpc_decompress(CGRPC_ENCODING_GZIP, &u.a, z, zlen, 4096, &back, &blen),
                   CGRPC_ERR_TOO_LARGE);
  cgrpc_free(&u.a, z);
  ck_assert_int_eq(u.allocs, u.frees);
}
END_TEST

START_TEST(broken_input_is_a_protocol_error_never_a_crash)
{
  unit_alloc u;
  unit_alloc_init(&u, -1);
  uint8_t *src = pattern(5000, 3);
  uint8_t *z, *back;
  size_t zlen, blen;
  ck_assert_int_eq(cgrpc_compress(CGRPC_ENCODING_GZIP, &u.a, src, 5000, 0, &z, &zlen), 0);
  /* Cut short at every length. */
  for (size_t cut = 0; cut < zlen; cut += cut < 64 ? 1 : 97)
    ck_assert_int_eq(cgrpc_decompress(CGRPC_ENCODING_GZIP, &u.a, z, cut, -1, &back, &blen),
                     CGRPC_ERR_PROTO);
  /* Bytes after the end. */
  uint8_t *longer = malloc(zlen + 3);
  memcpy(longer, z, zlen);
  memcpy(longer + zlen, "xyz", 3);
  ck_assert_int_eq(cgrpc_decompress(CGRPC_ENCODING_GZIP, &u.a, longer, zlen + 3, -1, &back, &blen),
                   CGRPC_ERR_PROTO);
  /* A flipped bit in the checksum, and gzip data read as deflate. */
  z[zlen - 5] ^= 1;
  ck_assert_int_eq(cgrpc_decompress(CGRPC_ENCODING_GZIP, &u.a, z, zlen, -1, &back, &blen),
                   CGRPC_ERR_PROTO);
  ck_assert_int_eq(cgrpc_decompress(CGRPC_ENCODING_DEFLATE, &u.a, z, zlen, -1, &back, &blen),
                   CGRPC_ERR_PROTO);
  /* Random bytes. */
  uint64_t seed = 42;
  for (int i = 0; i < 200; i++) {
    uint8_t junk[64];
    for (size_t k = 0; k < sizeof junk; k++)
      junk[k] = (uint8_t)unit_rand(&seed);
    if (cgrpc_decompress(i % 2 ? CGRPC_ENCODING_GZIP : CGRPC_ENCODING_DEFLATE, &u.a, junk,
                         sizeof junk, 1 << 20, &back, &blen) == 0)
      cgrpc_free(&u.a, back);
  }
  cgrpc_free(&u.a, z);
  free(longer);
  free(src);
  ck_assert_int_eq(u.allocs, u.frees);
}
END_TEST

START_TEST(out_of_memory_is_reported_and_leaks_nothing)
{
  uint8_t *src = pattern(300000, 9);
  uint8_t *z, *back;
  size_t zlen, blen;
  ck_assert_int_eq(cgrpc_compress(CGRPC_ENCODING_GZIP, cgrpc_default_allocator(), src, 300000, 0,
                                  &z, &zlen), 0);
  for (long fail = 0; fail < 12; fail++) {
    unit_alloc u;
    unit_alloc_init(&u, fail);
    uint8_t *zz;
    size_t n;
    int rv = cgrpc_compress(CGRPC_ENCODING_GZIP, &u.a, src, 300000, 0, &zz, &n);
    if (rv == 0)
      cgrpc_free(&u.a, zz);
    else
      ck_assert_int_eq(rv, CGRPC_ERR_NOMEM);
    rv = cgrpc_decompress(CGRPC_ENCODING_GZIP, &u.a, z, zlen, -1, &back, &blen);
    if (rv == 0)
      cgrpc_free(&u.a, back);
    else
      ck_assert_int_eq(rv, CGRPC_ERR_NOMEM);
    ck_assert_int_eq(u.allocs, u.frees);
  }
  free(z);
  free(src);
}
END_TEST

START_TEST(encoding_names_parse_both_ways)
{
  ck_assert_int_eq(cgrpc_encoding_parse("gzip", 4), CGRPC_ENCODING_GZIP);
  ck_assert_int_eq(cgrpc_encoding_parse("deflate", 7), CGRPC_ENCODING_DEFLATE);
  ck_assert_int_eq(cgrpc_encoding_parse("identity", 8), CGRPC_ENCODING_IDENTITY);
  ck_assert_int_eq(cgrpc_encoding_parse("GZIP", 4), CGRPC_ENCODING_UNKNOWN);
  ck_assert_int_eq(cgrpc_encoding_parse("snappy", 6), CGRPC_ENCODING_UNKNOWN);
  ck_assert_int_eq(cgrpc_encoding_parse("gzipx", 4), CGRPC_ENCODING_GZIP); /* only n bytes count */
  ck_assert_str_eq(cgrpc_encoding_name(CGRPC_ENCODING_GZIP), "gzip");
  ck_assert_str_eq(cgrpc_encoding_name(CGRPC_ENCODING_DEFLATE), "deflate");
  ck_assert_str_eq(cgrpc_encoding_name(CGRPC_ENCODING_IDENTITY), "identity");
}
END_TEST

Suite *compress_suite(void);

Suite *compress_suite(void)
{
  Suite *s = suite_create("compress");
  TCase *tc = tcase_create("compress");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, gzip_and_deflate_round_trip_at_every_size);
  tcase_add_test(tc, gzip_output_is_what_zlib_and_gunzip_read);
  tcase_add_test(tc, the_limit_holds_exactly_and_stops_a_bomb_early);
  tcase_add_test(tc, broken_input_is_a_protocol_error_never_a_crash);
  tcase_add_test(tc, out_of_memory_is_reported_and_leaks_nothing);
  tcase_add_test(tc, encoding_names_parse_both_ways);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(compress_suite)
