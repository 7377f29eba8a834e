/* Specification of grpc-message percent-encoding: UTF-8 in, printable ASCII on the wire. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "wire/percent.h"
#include "unit_main.h"

Suite *percent_suite(void);

/* gRPC's interop test special_status_message. */
static const char special[] = "\t\ntest with whitespace\r\nand Unicode BMP \xE2\x98\xBA and "
                              "non-BMP \xF0\x9F\x98\x88\t\n";
static const char special_encoded[] = "%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA "
                                      "and non-BMP %F0%9F%98%88%09%0A";

/* Encodes s[0..n) into an exactly sized heap buffer (valgrind sees overruns);
 * the caller frees. */
static char *encode(const char *s, size_t n, size_t *len)
{
  size_t elen = cgrpc_percent_encoded_len(s, n);
  char *out = malloc(elen + 1);
  ck_assert_ptr_nonnull(out);
  *len = cgrpc_percent_encode(out, s, n);
  ck_assert_uint_eq(*len, elen);
  ck_assert_int_eq(out[elen], '\0');
  return out;
}

static char *decode(const char *s, size_t n, size_t *len)
{
  char *out = malloc(n + 1);
  ck_assert_ptr_nonnull(out);
  *len = cgrpc_percent_decode(out, s, n);
  ck_assert_uint_le(*len, n);
  ck_assert_int_eq(out[*len], '\0');
  return out;
}

static void assert_encodes_to(const char *in, size_t n, const char *want)
{
  size_t len;
  char *out = encode(in, n, &len);
  ck_assert_uint_eq(len, strlen(want));
  ck_assert_str_eq(out, want);
  free(out);
}

static void assert_decodes_to(const char *in, const char *want, size_t want_len)
{
  size_t len;
  char *out = decode(in, strlen(in), &len);
  ck_assert_msg(len == want_len, "\"%s\" decodes to %zu bytes, not %zu", in, len, want_len);
  ck_assert_msg(memcmp(out, want, want_len) == 0, "\"%s\" decodes to \"%s\"", in, out);
  free(out);
}

#define ENCODES_TO(lit, want) assert_encodes_to(lit, sizeof(lit) - 1, want)
#define DECODES_TO(in, lit) assert_decodes_to(in, lit, sizeof(lit) - 1)

/* ---- encode ------------------------------------------------------------------------ */

START_TEST(printable_ascii_passes_through_unchanged)
{
  char all[0x7f - 0x20];
  size_t n = 0;
  for (int c = 0x20; c <= 0x7e; c++)
    if (c != '%')
      all[n++] = (char)c;
  size_t len;
  char *out = encode(all, n, &len);
  ck_assert_uint_eq(len, n);
  ck_assert_mem_eq(out, all, n);
  free(out);
  ENCODES_TO("Hello, world! (status: ok) ~`{}|", "Hello, world! (status: ok) ~`{}|");
}
END_TEST

START_TEST(percent_sign_is_encoded)
{
  ENCODES_TO("%", "%25");
  ENCODES_TO("100% sure", "100%25 sure");
  ENCODES_TO("%41", "%2541"); /* or it would decode to "A" */
}
END_TEST

START_TEST(control_characters_and_del_are_encoded_in_uppercase_hex)
{
  ENCODES_TO("\t", "%09");
  ENCODES_TO("\n", "%0A");
  ENCODES_TO("\r", "%0D");
  ENCODES_TO("\x1f", "%1F");
  ENCODES_TO("\x7f", "%7F");
  ENCODES_TO("a\x01z", "a%01z");
  assert_encodes_to("\0", 1, "%00");
}
END_TEST

START_TEST(every_byte_outside_printable_ascii_becomes_three_characters)
{
  static const char hex[] = "0123456789ABCDEF";
  for (int c = 0; c < 256; c++) {
    char in = (char)c;
    size_t len;
    char *out = encode(&in, 1, &len);
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      ck_assert_uint_eq(len, 1);
      ck_assert_int_eq(out[0], c);
    } else {
      ck_assert_uint_eq(len, 3);
      ck_assert_int_eq(out[0], '%');
      ck_assert_int_eq(out[1], hex[c >> 4]);
      ck_assert_int_eq(out[2], hex[c & 15]);
    }
    free(out);
  }
}
END_TEST

START_TEST(utf8_multibyte_characters_are_encoded_byte_by_byte)
{
  ENCODES_TO("\xE2\x98\xBA", "%E2%98%BA");         /* U+263A WHITE SMILING FACE */
  ENCODES_TO("\xF0\x9F\x98\x88", "%F0%9F%98%88"); /* U+1F608 SMILING FACE WITH HORNS */
  ENCODES_TO("caf\xC3\xA9", "caf%C3%A9");
}
END_TEST

START_TEST(interop_special_status_message_encodes_as_grpc_does)
{
  ENCODES_TO(special, special_encoded);
}
END_TEST

START_TEST(empty_message_encodes_to_empty)
{
  ck_assert_uint_eq(cgrpc_percent_encoded_len("", 0), 0);
  ENCODES_TO("", "");
}
END_TEST

/* ---- decode ----------------------------------------------------------------------- */

START_TEST(interop_special_status_message_decodes_back)
{
  DECODES_TO(special_encoded, special);
}
END_TEST

START_TEST(lowercase_hex_is_accepted)
{
  DECODES_TO("%e2%98%ba", "\xE2\x98\xBA");
  DECODES_TO("%0a%0D%0d", "\n\r\r");
  DECODES_TO("%fF%Ff", "\xFF\xFF");
}
END_TEST

START_TEST(malformed_escapes_are_kept_not_dropped)
{
  DECODES_TO("%", "%");
  DECODES_TO("%4", "%4");
  DECODES_TO("%GG", "%GG");
  DECODES_TO("%%41", "%A");
  DECODES_TO("%4G", "%4G");
  DECODES_TO("%G4", "%G4");
  DECODES_TO("100%", "100%");
  DECODES_TO("abc%2", "abc%2");
  DECODES_TO("% 20", "% 20");
  DECODES_TO("%%%", "%%%");
  DECODES_TO("%-1", "%-1");
}
END_TEST

START_TEST(escape_at_the_very_end_is_decoded)
{
  DECODES_TO("a%41", "aA");
  DECODES_TO("%41", "A");
}
END_TEST

START_TEST(percent_00_decodes_to_a_nul_byte_counted_in_the_length)
{
  DECODES_TO("a%00b", "a\0b");
}
END_TEST

START_TEST(decode_reads_exactly_n_bytes)
{
  char out[8];
  ck_assert_uint_eq(cgrpc_percent_decode(out, "%41%42", 3), 1);
  ck_assert_str_eq(out, "A");
  ck_assert_uint_eq(cgrpc_percent_decode(out, "%41%42", 2), 2); /* "%4" is malformed */
  ck_assert_str_eq(out, "%4");
  ck_assert_uint_eq(cgrpc_percent_decode(out, "abc", 0), 0);
  ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(plain_text_decodes_unchanged)
{
  DECODES_TO("no escapes here + / ?", "no escapes here + / ?");
  DECODES_TO("", "");
}
END_TEST

/* ---- round trip ------------------------------------------------------------------ */

static void assert_round_trip(const char *s, size_t n)
{
  size_t elen, dlen;
  char *e = encode(s, n, &elen);
  for (size_t i = 0; i < elen; i++)
    ck_assert_msg(e[i] >= 0x20 && e[i] <= 0x7e, "encoding has byte 0x%02x",
                  (unsigned char)e[i]);
  char *d = decode(e, elen, &dlen);
  ck_assert_uint_eq(dlen, n);
  ck_assert(memcmp(d, s, n) == 0);
  free(d);
  free(e);
}

START_TEST(encode_then_decode_gives_back_the_original_bytes)
{
  assert_round_trip(special, sizeof special - 1);
  assert_round_trip("%%41%", 5);
  assert_round_trip("\0\0", 2);
  char all[256];
  for (int c = 0; c < 256; c++)
    all[c] = (char)c;
  assert_round_trip(all, sizeof all);

  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  char buf[64];
  for (int i = 0; i < 5000; i++) {
    size_t n = (size_t)(unit_rand(&seed) % sizeof buf);
    for (size_t j = 0; j < n; j++) {
      uint64_t r = unit_rand(&seed);
      /* Mostly '%' and hex digits, to provoke accidental escapes. */
      static const char tricky[] = "%%%0123456789abcdefABCDEFgG \t";
      buf[j] = (r & 1) ? tricky[(r >> 8) % (sizeof tricky - 1)] : (char)(r >> 16);
    }
    assert_round_trip(buf, n);
  }
}
END_TEST

Suite *percent_suite(void)
{
  Suite *s = suite_create("percent");
  TCase *tc = tcase_create("encode");
  tcase_add_test(tc, printable_ascii_passes_through_unchanged);
  tcase_add_test(tc, percent_sign_is_encoded);
  tcase_add_test(tc, control_characters_and_del_are_encoded_in_uppercase_hex);
  tcase_add_test(tc, every_byte_outside_printable_ascii_becomes_three_characters);
  tcase_add_test(tc, utf8_multibyte_characters_are_encoded_byte_by_byte);
  tcase_add_test(tc, interop_special_status_message_encodes_as_grpc_does);
  tcase_add_test(tc, empty_message_encodes_to_empty);
  suite_add_tcase(s, tc);

  tc = tcase_create("decode");
  tcase_add_test(tc, interop_special_status_message_decodes_back);
  tcase_add_test(tc, lowercase_hex_is_accepted);
  tcase_add_test(tc, malformed_escapes_are_kept_not_dropped);
  tcase_add_test(tc, escape_at_the_very_end_is_decoded);
  tcase_add_test(tc, percent_00_decodes_to_a_nul_byte_counted_in_the_length);
  tcase_add_test(tc, decode_reads_exactly_n_bytes);
  tcase_add_test(tc, plain_text_decodes_unchanged);
  suite_add_tcase(s, tc);

  tc = tcase_create("round trip");
  tcase_add_test(tc, encode_then_decode_gives_back_the_original_bytes);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(percent_suite)
