/* Specification of the frame watch: which bytes leave a client inside a frame or a header
 * block, whatever pieces they come in. */
#include <string.h>

#include <check.h>

#include "transport/frame_watch.h"
#include "unit_main.h"

Suite *frame_watch_suite(void);

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

/* A frame header: length, type, flags, stream 1. */
static size_t frame(uint8_t *out, uint32_t len, uint8_t type, uint8_t flags)
{
  const uint8_t hd[9] = {(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
                         0, 0, 0, 1};
  memcpy(out, hd, sizeof hd);
  memset(out + 9, 'x', len);
  return 9 + len;
}

/* Feeds bytes one at a time; returns what the watch said after each, as '1'/'0'. */
static void trickle(cgrpc_frame_watch *w, const uint8_t *p, size_t n, char *said)
{
  for (size_t i = 0; i < n; i++)
    said[i] = cgrpc_frame_watch_feed(w, p + i, 1) ? '1' : '0';
  said[n] = '\0';
}

START_TEST(the_preface_is_not_a_frame_and_a_frame_is_open_until_its_last_byte)
{
  cgrpc_frame_watch w;
  cgrpc_frame_watch_init(&w, 24);
  ck_assert_int_eq(cgrpc_frame_watch_feed(&w, (const uint8_t *)PREFACE, 24), 0);
  uint8_t buf[64];
  size_t n = frame(buf, 3, 0x0 /* DATA */, 0);
  char said[64];
  trickle(&w, buf, n, said);
  ck_assert_str_eq(said, "111111111110"); /* 9 header bytes, 3 payload bytes, closed */
  n = frame(buf, 0, 0x4 /* SETTINGS */, 0);
  trickle(&w, buf, n, said);
  ck_assert_str_eq(said, "111111110"); /* an empty frame ends with its header */
}
END_TEST

START_TEST(a_header_block_is_open_from_its_headers_to_the_end_of_its_last_continuation)
{
  cgrpc_frame_watch w;
  cgrpc_frame_watch_init(&w, 0);
  uint8_t buf[128];
  size_t n = frame(buf, 2, 0x1 /* HEADERS */, 0 /* no END_HEADERS */);
  n += frame(buf + n, 2, 0x9 /* CONTINUATION */, 0);
  size_t end_of_second = n;
  n += frame(buf + n, 2, 0x9, 0x4 /* END_HEADERS */);
  /* In one piece, and up to any byte: open until the very last byte. */
  for (size_t cut = 1; cut < n; cut++) {
    cgrpc_frame_watch_init(&w, 0);
    ck_assert_int_eq(cgrpc_frame_watch_feed(&w, buf, cut), 1);
    ck_assert_int_eq(cgrpc_frame_watch_feed(&w, buf + cut, n - cut), 0);
  }
  /* Between the frames of the block, it is still open. */
  cgrpc_frame_watch_init(&w, 0);
  ck_assert_int_eq(cgrpc_frame_watch_feed(&w, buf, end_of_second), 1);
  /* HEADERS with END_HEADERS: a block of one frame. */
  cgrpc_frame_watch_init(&w, 0);
  n = frame(buf, 5, 0x1, 0x4 | 0x1);
  ck_assert_int_eq(cgrpc_frame_watch_feed(&w, buf, n), 0);
}
END_TEST

START_TEST(many_frames_in_one_read_end_where_the_last_one_does)
{
  cgrpc_frame_watch w;
  cgrpc_frame_watch_init(&w, 0);
  uint8_t buf[256];
  size_t n = 0;
  for (int i = 0; i < 10; i++)
    n += frame(buf + n, (uint32_t)i, 0x0, 0);
  ck_assert_int_eq(cgrpc_frame_watch_feed(&w, buf, n), 0);
  n = frame(buf, 16, 0x0, 0);
  ck_assert_int_eq(cgrpc_frame_watch_feed(&w, buf, n - 1), 1);
  ck_assert_int_eq(cgrpc_frame_watch_feed(&w, buf + n - 1, 1), 0);
  /* A length of 2^24-1: open for as long as its payload comes. */
  const uint8_t big[9] = {0xff, 0xff, 0xff, 0x0, 0, 0, 0, 0, 1};
  ck_assert_int_eq(cgrpc_frame_watch_feed(&w, big, sizeof big), 1);
  ck_assert_uint_eq(w.left, 0xffffff);
}
END_TEST

Suite *frame_watch_suite(void)
{
  Suite *s = suite_create("frame_watch");
  TCase *tc = tcase_create("frames");
  tcase_add_test(tc, the_preface_is_not_a_frame_and_a_frame_is_open_until_its_last_byte);
  tcase_add_test(tc, a_header_block_is_open_from_its_headers_to_the_end_of_its_last_continuation);
  tcase_add_test(tc, many_frames_in_one_read_end_where_the_last_one_does);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(frame_watch_suite)
