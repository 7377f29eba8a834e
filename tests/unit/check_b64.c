/* Specification of base64 for -bin metadata: unpadded out, padded or unpadded in, strict alphabet. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base/b64.h"
#include "unit_main.h"

Suite *b64_suite(void);

/* Encodes into an exactly sized heap buffer; the caller frees. */
static char *encode(const void *src, size_t n, size_t *len)
{
  size_t size = cgrpc_b64_encode_size(n);
  char *out = malloc(size);
  ck_assert_ptr_nonnull(out);
  *len = cgrpc_b64_encode(out, src, n);
  ck_assert_uint_lt(*len, size);
  ck_assert_uint_eq(strlen(out), *len);
  return out;
}

/* Decodes into an exactly sized heap buffer (at least 1 byte); returns the
 * decoder's result, the bytes in *out (caller frees) and their length. */
static int decode(const char *s, size_t n, uint8_t **out, size_t *len)
{
  size_t size = cgrpc_b64_decode_size(n);
  *out = malloc(size > 0 ? size : 1);
  ck_assert_ptr_nonnull(*out);
  *len = 12345;
  int rv = cgrpc_b64_decode(*out, len, s, n);
  if (rv == 0)
    ck_assert_uint_le(*len, size);
  return rv;
}

static void assert_encodes_to(const char *in, const char *want)
{
  size_t len;
  char *out = encode(in, strlen(in), &len);
  ck_assert_str_eq(out, want);
  free(out);
}

static void assert_decodes_to(const char *in, const char *want)
{
  uint8_t *out;
  size_t len;
  ck_assert_msg(decode(in, strlen(in), &out, &len) == 0, "\"%s\" rejected", in);
  ck_assert_msg(len == strlen(want), "\"%s\" decodes to %zu bytes", in, len);
  ck_assert(memcmp(out, want, len) == 0);
  free(out);
}

static void assert_rejected(const char *in, size_t n)
{
  uint8_t *out;
  size_t len;
  ck_assert_msg(decode(in, n, &out, &len) == -1, "\"%.*s\" accepted", (int)n, in);
  free(out);
}

#define REJECTED(lit) assert_rejected(lit, sizeof(lit) - 1)

/* ---- encode ------------------------------------------------------------------ */

START_TEST(encode_emits_no_padding)
{
  /* RFC 4648 section 10, without the '='. */
  assert_encodes_to("", "");
  assert_encodes_to("f", "Zg");
  assert_encodes_to("fo", "Zm8");
  assert_encodes_to("foo", "Zm9v");
  assert_encodes_to("foob", "Zm9vYg");
  assert_encodes_to("fooba", "Zm9vYmE");
  assert_encodes_to("foobar", "Zm9vYmFy");
}
END_TEST

START_TEST(encode_uses_the_standard_alphabet_not_the_url_one)
{
  static const uint8_t hi[] = {0xFB, 0xFF, 0xBF};
  size_t len;
  char *out = encode(hi, sizeof hi, &len);
  ck_assert_str_eq(out, "+/+/");
  free(out);
}
END_TEST

START_TEST(encoded_length_is_ceil_of_four_thirds)
{
  for (size_t n = 0; n <= 64; n++) {
    uint8_t buf[64] = {0};
    size_t len;
    char *out = encode(buf, n, &len);
    ck_assert_uint_eq(len, (n * 4 + 2) / 3);
    ck_assert_ptr_null(strchr(out, '='));
    free(out);
  }
}
END_TEST

/* ---- decode ----------------------------------------------------------------------- */

START_TEST(decode_accepts_unpadded)
{
  assert_decodes_to("", "");
  assert_decodes_to("Zg", "f");
  assert_decodes_to("Zm8", "fo");
  assert_decodes_to("Zm9v", "foo");
  assert_decodes_to("Zm9vYg", "foob");
  assert_decodes_to("Zm9vYmE", "fooba");
  assert_decodes_to("Zm9vYmFy", "foobar");
}
END_TEST

START_TEST(decode_accepts_padded)
{
  assert_decodes_to("Zg==", "f");
  assert_decodes_to("Zm8=", "fo");
  assert_decodes_to("Zm9vYg==", "foob");
  assert_decodes_to("Zm9vYmE=", "fooba");
}
END_TEST

START_TEST(decode_rejects_characters_outside_the_alphabet)
{
  REJECTED("Zm9v!A");
  REJECTED("Zm-_");   /* the URL-safe alphabet is not base64 */
  REJECTED("Zm9\x80");
  REJECTED("Zm9v\0A==");
  REJECTED("*");
  REJECTED("Zm.v");
}
END_TEST

START_TEST(decode_rejects_white_space_anywhere)
{
  REJECTED(" Zm9v");
  REJECTED("Zm9v ");
  REJECTED("Zm 9v");
  REJECTED("Zm9v\n");
  REJECTED("Zm9v\r\nYmFy");
  REJECTED("Zm\t9v");
  REJECTED("Zg== ");
}
END_TEST

START_TEST(decode_rejects_misplaced_padding)
{
  REJECTED("=");
  REJECTED("==");
  REJECTED("===");
  REJECTED("====");
  REJECTED("Zg=");        /* padding that does not complete a quad */
  REJECTED("Zm9vY=");     /* 5 characters of body */
  REJECTED("Zg===");
  REJECTED("Z===");
  REJECTED("Zm=v");
  REJECTED("Zg==Zg==");   /* padding in the middle */
  REJECTED("=Zm9v");
  REJECTED("Zm9v=");
  REJECTED("Zm9v====");
}
END_TEST

START_TEST(decode_rejects_a_lone_trailing_character)
{
  /* A length of 4k+1 cannot come from any input. */
  REJECTED("Z");
  REJECTED("Zm9vY");
  REJECTED("Zm9vYmFyZ");
}
END_TEST

START_TEST(decode_reads_exactly_n_characters)
{
  uint8_t out[8];
  size_t len;
  ck_assert_int_eq(cgrpc_b64_decode(out, &len, "Zm9vIGJhcg", 4), 0);
  ck_assert_uint_eq(len, 3);
  ck_assert(memcmp(out, "foo", 3) == 0);
  ck_assert_int_eq(cgrpc_b64_decode(out, &len, "Zm9vIGJhcg", 0), 0);
  ck_assert_uint_eq(len, 0);
}
END_TEST

/* ---- round trips --------------------------------------------------------------------- */

static void assert_round_trips(const uint8_t *src, size_t n)
{
  size_t elen, dlen;
  char *e = encode(src, n, &elen);
  uint8_t *d;
  ck_assert_msg(decode(e, elen, &d, &dlen) == 0, "own unpadded encoding of %zu bytes rejected", n);
  ck_assert_uint_eq(dlen, n);
  ck_assert(n == 0 || memcmp(d, src, n) == 0);
  free(d);

  /* The same with the padding a peer may add. */
  char *padded = malloc(elen + 3);
  ck_assert_ptr_nonnull(padded);
  memcpy(padded, e, elen);
  size_t plen = elen;
  while (plen % 4 != 0)
    padded[plen++] = '=';
  ck_assert_msg(decode(padded, plen, &d, &dlen) == 0, "padded encoding of %zu bytes rejected",
                n);
  ck_assert_uint_eq(dlen, n);
  ck_assert(n == 0 || memcmp(d, src, n) == 0);
  free(d);
  free(padded);
  free(e);
}

START_TEST(every_length_from_0_to_10_round_trips)
{
  uint8_t buf[10];
  uint64_t seed = 0xb64b64b64ULL;
  for (size_t n = 0; n <= 10; n++) {
    for (int rep = 0; rep < 200; rep++) {
      for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)unit_rand(&seed);
      assert_round_trips(buf, n);
    }
  }
}
END_TEST

START_TEST(all_256_byte_values_round_trip)
{
  uint8_t all[256];
  for (int i = 0; i < 256; i++)
    all[i] = (uint8_t)i;
  assert_round_trips(all, sizeof all);
  /* Each byte value alone, and in every position of a quad. */
  for (int i = 0; i < 256; i++) {
    for (size_t pos = 0; pos < 3; pos++) {
      uint8_t three[3] = {0x55, 0xAA, 0x00};
      three[pos] = (uint8_t)i;
      assert_round_trips(three, 3);
      assert_round_trips(three, pos + 1);
    }
  }
}
END_TEST

START_TEST(long_values_round_trip)
{
  size_t n = 100000;
  uint8_t *buf = malloc(n);
  ck_assert_ptr_nonnull(buf);
  uint64_t seed = 7;
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)unit_rand(&seed);
  assert_round_trips(buf, n);
  assert_round_trips(buf, n - 1);
  assert_round_trips(buf, n - 2);
  free(buf);
}
END_TEST

Suite *b64_suite(void)
{
  Suite *s = suite_create("b64");
  TCase *tc = tcase_create("encode");
  tcase_add_test(tc, encode_emits_no_padding);
  tcase_add_test(tc, encode_uses_the_standard_alphabet_not_the_url_one);
  tcase_add_test(tc, encoded_length_is_ceil_of_four_thirds);
  suite_add_tcase(s, tc);

  tc = tcase_create("decode");
  tcase_add_test(tc, decode_accepts_unpadded);
  tcase_add_test(tc, decode_accepts_padded);
  tcase_add_test(tc, decode_rejects_characters_outside_the_alphabet);
  tcase_add_test(tc, decode_rejects_white_space_anywhere);
  tcase_add_test(tc, decode_rejects_misplaced_padding);
  tcase_add_test(tc, decode_rejects_a_lone_trailing_character);
  tcase_add_test(tc, decode_reads_exactly_n_characters);
  suite_add_tcase(s, tc);

  tc = tcase_create("round trip");
  tcase_add_test(tc, every_length_from_0_to_10_round_trips);
  tcase_add_test(tc, all_256_byte_values_round_trip);
  tcase_add_test(tc, long_values_round_trip);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(b64_suite)
