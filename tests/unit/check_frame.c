/* Specification of gRPC message framing: the 5-byte prefix, and reassembly from payloads split anywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "wire/frame.h"
#include "unit_main.h"

Suite *frame_suite(void);

/* ---- a stream of messages, and what a decoder hands back ---------------------- */

#define MAX_MSGS 16

typedef struct msg_spec {
  size_t len;
  int compressed;
} msg_spec;

typedef struct stream {
  uint8_t *bytes;
  size_t len;
  size_t nmsgs;
  size_t start[MAX_MSGS]; /* offset of each message's prefix */
  size_t body[MAX_MSGS];  /* offset of its first body byte */
  msg_spec spec[MAX_MSGS];
} stream;

/* The body of message i: bytes that differ between messages and positions. */
static uint8_t body_byte(size_t msg, size_t pos)
{
  return (uint8_t)(msg * 31 + pos * 7 + pos / 251);
}

static void stream_build(stream *s, const msg_spec *spec, size_t n)
{
  ck_assert_uint_le(n, MAX_MSGS);
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += CGRPC_FRAME_PREFIX + spec[i].len;
  s->bytes = malloc(total > 0 ? total : 1);
  ck_assert_ptr_nonnull(s->bytes);
  s->len = total;
  s->nmsgs = n;
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    s->spec[i] = spec[i];
    s->start[i] = off;
    cgrpc_frame_write_prefix(s->bytes + off, spec[i].compressed, (uint32_t)spec[i].len);
    off += CGRPC_FRAME_PREFIX;
    s->body[i] = off;
    for (size_t j = 0; j < spec[i].len; j++)
      s->bytes[off + j] = body_byte(i, j);
    off += spec[i].len;
  }
}

static void stream_free(stream *s)
{
  free(s->bytes);
  s->bytes = NULL;
}

/* Nonzero when offset off falls strictly inside a message (not on a boundary). */
static int stream_inside_message(const stream *s, size_t off)
{
  for (size_t i = 0; i < s->nmsgs; i++)
    if (off > s->start[i] && off < s->body[i] + s->spec[i].len)
      return 1;
  return 0;
}

/* Whether the every-split test takes cut: always natively; under valgrind,
 * every cut within 32 bytes of a message boundary and every 97th elsewhere. */
static int stream_take_cut(const stream *s, size_t cut)
{
  if (!UNIT_UNDER_VALGRIND() || cut % 97 == 0)
    return 1;
  for (size_t i = 0; i < s->nmsgs; i++) {
    size_t marks[3] = {s->start[i], s->body[i], s->body[i] + s->spec[i].len};
    for (int k = 0; k < 3; k++)
      if (cut + 32 >= marks[k] && cut <= marks[k] + 32)
        return 1;
  }
  return 0;
}

typedef struct got_msg {
  size_t len;
  int compressed;
  int in_place; /* msg pointed into the chunk being fed */
  int ok;       /* bytes matched the expected body */
} got_msg;

typedef struct collector {
  const stream *expect; /* to check bodies against; may be NULL */
  got_msg got[MAX_MSGS];
  size_t n;
  const uint8_t *chunk; /* the chunk currently fed */
  size_t chunk_len;
  int fail_at;   /* return fail_rv for message number fail_at (-1: never) */
  int fail_rv;
} collector;

static void collector_init(collector *c, const stream *expect)
{
  memset(c, 0, sizeof *c);
  c->expect = expect;
  c->fail_at = -1;
}

static int collect_cb(void *ud, const uint8_t *msg, size_t len, int compressed)
{
  collector *c = ud;
  ck_assert_uint_lt(c->n, MAX_MSGS);
  got_msg *g = &c->got[c->n];
  g->len = len;
  g->compressed = compressed;
  g->in_place = len > 0 && msg >= c->chunk && msg + len <= c->chunk + c->chunk_len;
  g->ok = 1;
  if (c->expect != NULL && c->n < c->expect->nmsgs) {
    const stream *s = c->expect;
    if (len != s->spec[c->n].len)
      g->ok = 0;
    else if (len > 0 && memcmp(msg, s->bytes + s->body[c->n], len) != 0)
      g->ok = 0;
  }
  int idx = (int)c->n++;
  return idx == c->fail_at ? c->fail_rv : 0;
}

static int feed(cgrpc_frame_decoder *d, collector *c, const uint8_t *p, size_t len)
{
  c->chunk = p;
  c->chunk_len = len;
  return cgrpc_frame_decoder_feed(d, p, len, collect_cb, c, NULL);
}

/* Every message of s came out, whole, in order, with its flag. */
static void assert_all_delivered(const stream *s, const collector *c, const char *how)
{
  ck_assert_msg(c->n == s->nmsgs, "%s: %zu messages delivered, %zu expected", how, c->n,
                s->nmsgs);
  for (size_t i = 0; i < s->nmsgs; i++) {
    ck_assert_msg(c->got[i].len == s->spec[i].len, "%s: message %zu has length %zu, not %zu",
                  how, i, c->got[i].len, s->spec[i].len);
    ck_assert_msg(c->got[i].compressed == s->spec[i].compressed,
                  "%s: message %zu compressed flag %d", how, i, c->got[i].compressed);
    ck_assert_msg(c->got[i].ok, "%s: message %zu bytes differ", how, i);
  }
}

/* Messages of every kind the issue names: empty, one byte, and more than 16 KiB. */
static const msg_spec mixed[] = {
    {0, 0}, {1, 0}, {300, 1}, {16500, 0}, {0, 1}, {5, 1}, {2, 0},
};
#define NMIXED (sizeof mixed / sizeof mixed[0])

/* Small ones, for the quadratic every-pair-of-splits test. */
static const msg_spec small[] = {{0, 0}, {1, 1}, {40, 0}, {0, 0}, {7, 1}, {3, 0}};
#define NSMALL (sizeof small / sizeof small[0])

/* ---- the prefix ------------------------------------------------------------- */

START_TEST(prefix_is_flag_then_big_endian_length)
{
  uint8_t p[CGRPC_FRAME_PREFIX];
  cgrpc_frame_write_prefix(p, 0, 0);
  ck_assert_mem_eq(p, "\0\0\0\0\0", 5);
  cgrpc_frame_write_prefix(p, 1, 0x01020304);
  ck_assert_mem_eq(p, "\x01\x01\x02\x03\x04", 5);
  cgrpc_frame_write_prefix(p, 0, 0xFFFFFFFFu);
  ck_assert_mem_eq(p, "\x00\xFF\xFF\xFF\xFF", 5);
  cgrpc_frame_write_prefix(p, 0, 16385);
  ck_assert_mem_eq(p, "\x00\x00\x00\x40\x01", 5);
}
END_TEST

START_TEST(prefix_compressed_flag_is_exactly_one_for_any_true_value)
{
  uint8_t p[CGRPC_FRAME_PREFIX];
  cgrpc_frame_write_prefix(p, 7, 1);
  ck_assert_uint_eq(p[0], 1);
  cgrpc_frame_write_prefix(p, -1, 1);
  ck_assert_uint_eq(p[0], 1);
}
END_TEST

/* ---- reassembly ---------------------------------------------------------------- */

START_TEST(whole_buffer_in_one_payload_delivers_every_message_in_place)
{
  stream s;
  stream_build(&s, mixed, NMIXED);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
  collector c;
  collector_init(&c, &s);
  ck_assert_int_eq(feed(&d, &c, s.bytes, s.len), 0);
  assert_all_delivered(&s, &c, "one payload");
  for (size_t i = 0; i < s.nmsgs; i++)
    if (s.spec[i].len > 0)
      ck_assert_msg(c.got[i].in_place, "message %zu was copied", i);
  ck_assert_int_eq(cgrpc_frame_decoder_partial(&d), 0);
  cgrpc_frame_decoder_clear(&d);
  stream_free(&s);
}
END_TEST

START_TEST(split_at_every_position_delivers_the_same_messages)
{
  stream s;
  stream_build(&s, mixed, NMIXED);
  for (size_t cut = 0; cut <= s.len; cut++) {
    if (!stream_take_cut(&s, cut))
      continue;
    cgrpc_frame_decoder d;
    cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
    collector c;
    collector_init(&c, &s);
    ck_assert_int_eq(feed(&d, &c, s.bytes, cut), 0);
    ck_assert_msg(!!cgrpc_frame_decoder_partial(&d) == stream_inside_message(&s, cut),
                  "partial() wrong after the first %zu bytes", cut);
    size_t first = c.n;
    ck_assert_int_eq(feed(&d, &c, s.bytes + cut, s.len - cut), 0);
    char how[64];
    snprintf(how, sizeof how, "split at %zu", cut);
    assert_all_delivered(&s, &c, how);
    ck_assert_int_eq(cgrpc_frame_decoder_partial(&d), 0);

    /* A message with its prefix and body inside one chunk is never copied;
     * one whose body straddles the cut cannot be in place. */
    for (size_t i = 0; i < s.nmsgs; i++) {
      size_t end = s.body[i] + s.spec[i].len;
      if (s.spec[i].len == 0)
        continue;
      int whole_in_first = end <= cut;
      int whole_in_second = s.start[i] >= cut;
      int body_straddles = s.body[i] < cut && end > cut;
      if (whole_in_first || whole_in_second)
        ck_assert_msg(c.got[i].in_place, "split at %zu: message %zu was copied", cut, i);
      if (body_straddles)
        ck_assert_msg(!c.got[i].in_place, "split at %zu: message %zu claims in place", cut, i);
      if (whole_in_first)
        ck_assert_uint_lt(i, first);
    }
    cgrpc_frame_decoder_clear(&d);
  }
  stream_free(&s);
}
END_TEST

START_TEST(split_at_every_pair_of_positions_delivers_the_same_messages)
{
  stream s;
  stream_build(&s, small, NSMALL);
  for (size_t a = 0; a <= s.len; a++) {
    for (size_t b = a; b <= s.len; b++) {
      cgrpc_frame_decoder d;
      cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
      collector c;
      collector_init(&c, &s);
      ck_assert_int_eq(feed(&d, &c, s.bytes, a), 0);
      ck_assert_int_eq(feed(&d, &c, s.bytes + a, b - a), 0);
      ck_assert_int_eq(feed(&d, &c, s.bytes + b, s.len - b), 0);
      char how[64];
      snprintf(how, sizeof how, "splits at %zu and %zu", a, b);
      assert_all_delivered(&s, &c, how);
      ck_assert_int_eq(cgrpc_frame_decoder_partial(&d), 0);
      cgrpc_frame_decoder_clear(&d);
    }
  }
  stream_free(&s);
}
END_TEST

START_TEST(single_byte_payloads_deliver_the_same_messages)
{
  stream s;
  stream_build(&s, mixed, NMIXED);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
  collector c;
  collector_init(&c, &s);
  for (size_t i = 0; i < s.len; i++) {
    ck_assert_int_eq(feed(&d, &c, s.bytes + i, 1), 0);
    ck_assert_msg(!!cgrpc_frame_decoder_partial(&d) == stream_inside_message(&s, i + 1),
                  "partial() wrong after byte %zu", i);
  }
  assert_all_delivered(&s, &c, "single bytes");
  /* A 1-byte body arrives whole in the chunk after its prefix: handed over in
   * place.  Longer ones must be gathered. */
  for (size_t i = 0; i < s.nmsgs; i++) {
    if (s.spec[i].len > 1)
      ck_assert_msg(!c.got[i].in_place, "message %zu cannot be in a 1-byte chunk", i);
    else if (s.spec[i].len == 1)
      ck_assert_msg(c.got[i].in_place, "1-byte message %zu was copied", i);
  }
  cgrpc_frame_decoder_clear(&d);
  stream_free(&s);
}
END_TEST

START_TEST(random_chunk_sizes_deliver_the_same_messages)
{
  stream s;
  stream_build(&s, mixed, NMIXED);
  uint64_t seed = 0x5eed5eed12345678ULL;
  static const size_t max_chunk[] = {3, 17, 700, 9000, 40000};
  int rounds = UNIT_UNDER_VALGRIND() ? 40 : 200;
  for (int round = 0; round < rounds; round++) {
    size_t limit = max_chunk[round % 5];
    cgrpc_frame_decoder d;
    cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
    collector c;
    collector_init(&c, &s);
    size_t off = 0;
    while (off < s.len) {
      size_t n = (size_t)(unit_rand(&seed) % (limit + 1)); /* 0 included: empty DATA frames */
      if (n > s.len - off)
        n = s.len - off;
      ck_assert_int_eq(feed(&d, &c, s.bytes + off, n), 0);
      off += n;
    }
    char how[64];
    snprintf(how, sizeof how, "random round %d", round);
    assert_all_delivered(&s, &c, how);
    ck_assert_int_eq(cgrpc_frame_decoder_partial(&d), 0);
    cgrpc_frame_decoder_clear(&d);
  }
  stream_free(&s);
}
END_TEST

START_TEST(empty_payload_changes_nothing)
{
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
  collector c;
  collector_init(&c, NULL);
  ck_assert_int_eq(feed(&d, &c, (const uint8_t *)"", 0), 0);
  ck_assert_uint_eq(c.n, 0);
  ck_assert_int_eq(cgrpc_frame_decoder_partial(&d), 0);
  cgrpc_frame_decoder_clear(&d);
}
END_TEST

START_TEST(empty_message_is_delivered_as_soon_as_its_prefix_completes)
{
  static const uint8_t empty[] = {1, 0, 0, 0, 0};
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
  collector c;
  collector_init(&c, NULL);
  ck_assert_int_eq(feed(&d, &c, empty, 4), 0);
  ck_assert_uint_eq(c.n, 0);
  ck_assert_int_ne(cgrpc_frame_decoder_partial(&d), 0);
  ck_assert_int_eq(feed(&d, &c, empty + 4, 1), 0);
  ck_assert_uint_eq(c.n, 1);
  ck_assert_uint_eq(c.got[0].len, 0);
  ck_assert_int_eq(c.got[0].compressed, 1);
  ck_assert_int_eq(cgrpc_frame_decoder_partial(&d), 0);
  cgrpc_frame_decoder_clear(&d);
}
END_TEST

START_TEST(gathered_message_is_allocated_with_the_decoder_allocator_and_freed_after_delivery)
{
  stream s;
  static const msg_spec one[] = {{1000, 0}};
  stream_build(&s, one, 1);
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, &ua.a, -1);
  collector c;
  collector_init(&c, &s);
  ck_assert_int_eq(feed(&d, &c, s.bytes, 500), 0);
  ck_assert_int_eq(feed(&d, &c, s.bytes + 500, s.len - 500), 0);
  assert_all_delivered(&s, &c, "gathered");
  ck_assert(!c.got[0].in_place);
  ck_assert_int_ge(ua.allocs, 1);
  ck_assert_int_eq(ua.allocs, ua.frees);
  cgrpc_frame_decoder_clear(&d);
  ck_assert_int_eq(ua.allocs, ua.frees);
  stream_free(&s);
}
END_TEST

START_TEST(in_place_messages_allocate_nothing)
{
  stream s;
  stream_build(&s, mixed, NMIXED);
  unit_alloc ua;
  unit_alloc_init(&ua, 0); /* any allocation would fail */
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, &ua.a, -1);
  collector c;
  collector_init(&c, &s);
  ck_assert_int_eq(feed(&d, &c, s.bytes, s.len), 0);
  assert_all_delivered(&s, &c, "in place");
  ck_assert_int_eq(ua.allocs, 0);
  cgrpc_frame_decoder_clear(&d);
  stream_free(&s);
}
END_TEST

START_TEST(failed_gather_allocation_reports_nomem)
{
  stream s;
  static const msg_spec one[] = {{100, 0}};
  stream_build(&s, one, 1);
  unit_alloc ua;
  unit_alloc_init(&ua, 0);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, &ua.a, -1);
  collector c;
  collector_init(&c, &s);
  ck_assert_int_eq(feed(&d, &c, s.bytes, 50), CGRPC_ERR_NOMEM);
  ck_assert_uint_eq(c.n, 0);
  cgrpc_frame_decoder_clear(&d);
  stream_free(&s);
}
END_TEST

/* An allocator that remembers the largest block it has handed out. */
typedef struct sizing_alloc {
  cgrpc_allocator a;
  size_t largest;
  int reallocs;
} sizing_alloc;

static void *sizing_malloc(size_t n, void *ud)
{
  sizing_alloc *s = ud;
  if (n > s->largest)
    s->largest = n;
  return malloc(n);
}

static void *sizing_realloc(void *p, size_t n, void *ud)
{
  sizing_alloc *s = ud;
  s->reallocs++;
  if (n > s->largest)
    s->largest = n;
  return realloc(p, n);
}

static void *sizing_calloc(size_t n, size_t size, void *ud)
{
  sizing_alloc *s = ud;
  if (n * size > s->largest)
    s->largest = n * size;
  return calloc(n, size);
}

/* Counts the messages of an_announced_message...; each must be the pattern it was built of. */
static int pattern_cb(void *ud, const uint8_t *msg, size_t len, int compressed)
{
  (void)compressed;
  for (size_t i = 0; i < len; i++)
    if (msg[i] != (uint8_t)(i * 13))
      return CGRPC_ERR_PROTO;
  ++*(size_t *)ud;
  return 0;
}

static void sizing_free(void *p, void *ud)
{
  (void)ud;
  free(p);
}

START_TEST(an_announced_message_costs_memory_only_as_its_bytes_arrive)
{
  enum { LEN = 4 * 1024 * 1024 };
  uint8_t *bytes = malloc(CGRPC_FRAME_PREFIX + LEN);
  cgrpc_frame_write_prefix(bytes, 0, LEN);
  for (size_t i = 0; i < LEN; i++)
    bytes[CGRPC_FRAME_PREFIX + i] = (uint8_t)(i * 13);
  sizing_alloc sa = {{sizing_malloc, sizing_free, sizing_calloc, sizing_realloc, &sa}, 0, 0};
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, &sa.a, -1);
  size_t n = 0;
  /* The prefix and one byte: 4 MiB announced, a few KiB held. */
  ck_assert_int_eq(cgrpc_frame_decoder_feed(&d, bytes, CGRPC_FRAME_PREFIX + 1, pattern_cb, &n, NULL),
                   0);
  ck_assert_msg(sa.largest <= 16 * 1024, "%zu bytes held for 1 that arrived", sa.largest);
  /* Then the rest in 16 KiB payloads: never more than twice what arrived, and whole at the
   * end, after a handful of moves. */
  size_t off = CGRPC_FRAME_PREFIX + 1, total = CGRPC_FRAME_PREFIX + LEN;
  while (off < total) {
    size_t k = total - off < 16384 ? total - off : 16384;
    ck_assert_int_eq(cgrpc_frame_decoder_feed(&d, bytes + off, k, pattern_cb, &n, NULL), 0);
    off += k;
    if (off < total)
      ck_assert_msg(sa.largest <= 2 * (off - CGRPC_FRAME_PREFIX), "%zu held for %zu", sa.largest,
                    off - CGRPC_FRAME_PREFIX);
  }
  ck_assert_uint_eq(n, 1);
  ck_assert_uint_eq(sa.largest, LEN);
  ck_assert_int_le(sa.reallocs, 10);
  cgrpc_frame_decoder_clear(&d);
  free(bytes);
}
END_TEST

/* ---- limits and errors ------------------------------------------------------------ */

START_TEST(message_of_exactly_max_len_is_accepted)
{
  stream s;
  static const msg_spec at_max[] = {{300, 0}, {300, 1}};
  stream_build(&s, at_max, 2);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), 300);
  collector c;
  collector_init(&c, &s);
  ck_assert_int_eq(feed(&d, &c, s.bytes, 100), 0); /* first one gathered */
  ck_assert_int_eq(feed(&d, &c, s.bytes + 100, s.len - 100), 0);
  assert_all_delivered(&s, &c, "at max");
  cgrpc_frame_decoder_clear(&d);
  stream_free(&s);
}
END_TEST

START_TEST(message_one_byte_over_max_len_fails_too_large_with_its_length)
{
  stream s;
  static const msg_spec over[] = {{10, 0}, {301, 0}, {1, 0}};
  stream_build(&s, over, 3);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), 300);
  collector c;
  collector_init(&c, &s);
  ck_assert_int_eq(feed(&d, &c, s.bytes, s.len), CGRPC_ERR_TOO_LARGE);
  ck_assert_uint_eq(d.too_large_len, 301);
  ck_assert_uint_eq(c.n, 1); /* the one before it was delivered, nothing after */
  ck_assert_uint_eq(c.got[0].len, 10);
  cgrpc_frame_decoder_clear(&d);
  stream_free(&s);
}
END_TEST

START_TEST(too_large_is_reported_from_the_prefix_alone_before_any_body_arrives)
{
  uint8_t p[CGRPC_FRAME_PREFIX];
  cgrpc_frame_write_prefix(p, 0, 4 * 1024 * 1024 + 1);
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, &ua.a, 4 * 1024 * 1024);
  collector c;
  collector_init(&c, NULL);
  ck_assert_int_eq(feed(&d, &c, p, 3), 0);
  ck_assert_int_eq(feed(&d, &c, p + 3, 2), CGRPC_ERR_TOO_LARGE);
  ck_assert_uint_eq(d.too_large_len, 4 * 1024 * 1024 + 1);
  ck_assert_int_eq(ua.allocs, 0); /* nothing reserved for it */
  ck_assert_uint_eq(c.n, 0);
  cgrpc_frame_decoder_clear(&d);
}
END_TEST

START_TEST(max_len_zero_allows_only_empty_messages)
{
  stream s;
  static const msg_spec msgs[] = {{0, 0}, {0, 1}, {1, 0}};
  stream_build(&s, msgs, 3);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), 0);
  collector c;
  collector_init(&c, &s);
  ck_assert_int_eq(feed(&d, &c, s.bytes, s.len), CGRPC_ERR_TOO_LARGE);
  ck_assert_uint_eq(d.too_large_len, 1);
  ck_assert_uint_eq(c.n, 2);
  cgrpc_frame_decoder_clear(&d);
  stream_free(&s);
}
END_TEST

START_TEST(flag_byte_other_than_0_or_1_is_a_protocol_error)
{
  static const uint8_t bad_flags[] = {2, 3, 0x80, 0xFF};
  for (size_t i = 0; i < sizeof bad_flags; i++) {
    uint8_t buf[] = {bad_flags[i], 0, 0, 0, 1, 'x'};
    for (size_t cut = 0; cut <= sizeof buf; cut++) {
      cgrpc_frame_decoder d;
      cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
      collector c;
      collector_init(&c, NULL);
      int rv = feed(&d, &c, buf, cut);
      if (rv == 0)
        rv = feed(&d, &c, buf + cut, sizeof buf - cut);
      ck_assert_msg(rv == CGRPC_ERR_PROTO, "flag 0x%02x split at %zu: got %d", bad_flags[i],
                    cut, rv);
      ck_assert_uint_eq(c.n, 0);
      cgrpc_frame_decoder_clear(&d);
    }
  }
}
END_TEST

START_TEST(bad_flag_after_good_messages_stops_at_the_bad_one)
{
  uint8_t buf[] = {0, 0, 0, 0, 1, 'a', 1, 0, 0, 0, 0, 9, 0, 0, 0, 0};
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
  collector c;
  collector_init(&c, NULL);
  ck_assert_int_eq(feed(&d, &c, buf, sizeof buf), CGRPC_ERR_PROTO);
  ck_assert_uint_eq(c.n, 2);
  cgrpc_frame_decoder_clear(&d);
}
END_TEST

START_TEST(callback_error_stops_decoding_and_is_returned_for_in_place_messages)
{
  stream s;
  stream_build(&s, mixed, NMIXED);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
  collector c;
  collector_init(&c, &s);
  c.fail_at = 2;
  c.fail_rv = -42;
  ck_assert_int_eq(feed(&d, &c, s.bytes, s.len), -42);
  ck_assert_uint_eq(c.n, 3); /* messages 0, 1 and the failing 2; none after */
  cgrpc_frame_decoder_clear(&d);
  stream_free(&s);
}
END_TEST

START_TEST(callback_error_stops_decoding_and_is_returned_for_gathered_messages)
{
  stream s;
  stream_build(&s, mixed, NMIXED);
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, &ua.a, -1);
  collector c;
  collector_init(&c, &s);
  c.fail_at = 3; /* the 16500-byte one */
  c.fail_rv = CGRPC_ERR_SHUTDOWN;
  size_t cut = s.body[3] + 100;
  ck_assert_int_eq(feed(&d, &c, s.bytes, cut), 0);
  ck_assert_int_eq(feed(&d, &c, s.bytes + cut, s.len - cut), CGRPC_ERR_SHUTDOWN);
  ck_assert_uint_eq(c.n, 4);
  ck_assert(!c.got[3].in_place);
  cgrpc_frame_decoder_clear(&d);
  ck_assert_int_eq(ua.allocs, ua.frees); /* the gathered buffer is not leaked */
  stream_free(&s);
}
END_TEST

START_TEST(positive_callback_return_is_not_an_error)
{
  static const uint8_t two[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
  collector c;
  collector_init(&c, NULL);
  c.fail_at = 0;
  c.fail_rv = 1;
  ck_assert_int_eq(feed(&d, &c, two, sizeof two), 0);
  ck_assert_uint_eq(c.n, 2);
  cgrpc_frame_decoder_clear(&d);
}
END_TEST

START_TEST(pause_stops_after_the_message_and_says_how_much_was_used)
{
  stream s;
  static const msg_spec three[] = {{7, 0}, {300, 1}, {0, 0}};
  stream_build(&s, three, 3);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
  collector c;
  collector_init(&c, &s);
  c.fail_at = 0;
  c.fail_rv = CGRPC_FRAME_PAUSE;
  size_t used = 0;
  c.chunk = s.bytes;
  c.chunk_len = s.len;
  /* The receiver is full after the first message: the feed stops right after it. */
  ck_assert_int_eq(cgrpc_frame_decoder_feed(&d, s.bytes, s.len, collect_cb, &c, &used),
                   CGRPC_FRAME_PAUSE);
  ck_assert_uint_eq(c.n, 1);
  ck_assert_uint_eq(used, s.body[0] + s.spec[0].len);
  /* The rest, fed later, gives the other two, whole and in order. */
  c.fail_at = -1;
  c.chunk = s.bytes + used;
  c.chunk_len = s.len - used;
  ck_assert_int_eq(cgrpc_frame_decoder_feed(&d, s.bytes + used, s.len - used, collect_cb, &c, NULL),
                   0);
  ck_assert_uint_eq(c.n, 3);
  for (size_t i = 0; i < 3; i++)
    ck_assert(c.got[i].ok);
  ck_assert(!cgrpc_frame_decoder_partial(&d));
  cgrpc_frame_decoder_clear(&d);
  stream_free(&s);
}
END_TEST

/* ---- partial and clear ------------------------------------------------------------ */

START_TEST(partial_reports_a_truncated_prefix_or_body_at_end_of_stream)
{
  stream s;
  static const msg_spec one[] = {{50, 0}};
  stream_build(&s, one, 1);
  for (size_t cut = 0; cut <= s.len; cut++) {
    cgrpc_frame_decoder d;
    cgrpc_frame_decoder_init(&d, cgrpc_default_allocator(), -1);
    collector c;
    collector_init(&c, &s);
    ck_assert_int_eq(feed(&d, &c, s.bytes, cut), 0);
    int truncated = cut > 0 && cut < s.len;
    ck_assert_msg(!!cgrpc_frame_decoder_partial(&d) == truncated, "cut %zu", cut);
    ck_assert_uint_eq(c.n, cut == s.len ? 1 : 0);
    cgrpc_frame_decoder_clear(&d);
  }
  stream_free(&s);
}
END_TEST

START_TEST(clear_in_the_middle_of_a_message_frees_it_and_resets_the_decoder)
{
  stream s;
  static const msg_spec big[] = {{20000, 1}};
  stream_build(&s, big, 1);
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_frame_decoder d;
  cgrpc_frame_decoder_init(&d, &ua.a, -1);
  collector c;
  collector_init(&c, &s);
  ck_assert_int_eq(feed(&d, &c, s.bytes, 10000), 0);
  ck_assert_int_ne(cgrpc_frame_decoder_partial(&d), 0);
  ck_assert_int_eq(ua.allocs, 1);
  cgrpc_frame_decoder_clear(&d);
  ck_assert_int_eq(ua.frees, 1);
  ck_assert_int_eq(cgrpc_frame_decoder_partial(&d), 0);

  /* Cleared, it decodes a fresh stream from its start. */
  ck_assert_int_eq(feed(&d, &c, s.bytes, s.len), 0);
  assert_all_delivered(&s, &c, "after clear");
  cgrpc_frame_decoder_clear(&d);
  cgrpc_frame_decoder_clear(&d); /* twice is harmless */
  ck_assert_int_eq(ua.allocs, ua.frees);
  stream_free(&s);
}
END_TEST

Suite *frame_suite(void)
{
  Suite *s = suite_create("frame");
  TCase *tc = tcase_create("prefix");
  tcase_add_test(tc, prefix_is_flag_then_big_endian_length);
  tcase_add_test(tc, prefix_compressed_flag_is_exactly_one_for_any_true_value);
  suite_add_tcase(s, tc);

  tc = tcase_create("reassembly");
  tcase_set_timeout(tc, 60); /* the every-split cases are heavy under valgrind */
  tcase_add_test(tc, whole_buffer_in_one_payload_delivers_every_message_in_place);
  tcase_add_test(tc, split_at_every_position_delivers_the_same_messages);
  tcase_add_test(tc, split_at_every_pair_of_positions_delivers_the_same_messages);
  tcase_add_test(tc, single_byte_payloads_deliver_the_same_messages);
  tcase_add_test(tc, random_chunk_sizes_deliver_the_same_messages);
  tcase_add_test(tc, empty_payload_changes_nothing);
  tcase_add_test(tc, empty_message_is_delivered_as_soon_as_its_prefix_completes);
  tcase_add_test(tc, gathered_message_is_allocated_with_the_decoder_allocator_and_freed_after_delivery);
  tcase_add_test(tc, in_place_messages_allocate_nothing);
  tcase_add_test(tc, failed_gather_allocation_reports_nomem);
  tcase_add_test(tc, an_announced_message_costs_memory_only_as_its_bytes_arrive);
  suite_add_tcase(s, tc);

  tc = tcase_create("limits and errors");
  tcase_add_test(tc, message_of_exactly_max_len_is_accepted);
  tcase_add_test(tc, message_one_byte_over_max_len_fails_too_large_with_its_length);
  tcase_add_test(tc, too_large_is_reported_from_the_prefix_alone_before_any_body_arrives);
  tcase_add_test(tc, max_len_zero_allows_only_empty_messages);
  tcase_add_test(tc, flag_byte_other_than_0_or_1_is_a_protocol_error);
  tcase_add_test(tc, bad_flag_after_good_messages_stops_at_the_bad_one);
  tcase_add_test(tc, callback_error_stops_decoding_and_is_returned_for_in_place_messages);
  tcase_add_test(tc, callback_error_stops_decoding_and_is_returned_for_gathered_messages);
  tcase_add_test(tc, positive_callback_return_is_not_an_error);
  tcase_add_test(tc, pause_stops_after_the_message_and_says_how_much_was_used);
  suite_add_tcase(s, tc);

  tc = tcase_create("partial and clear");
  tcase_add_test(tc, partial_reports_a_truncated_prefix_or_body_at_end_of_stream);
  tcase_add_test(tc, clear_in_the_middle_of_a_message_frees_it_and_resets_the_decoder);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(frame_suite)
