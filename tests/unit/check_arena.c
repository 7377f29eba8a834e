/* Specification of the call arena: aligned bump allocation, big requests, clearing, and its allocator views. */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <protobuf-c/protobuf-c.h>

#include <cgrpc/metadata.h>

#include "base/arena.h"
#include "unit_main.h"

Suite *arena_suite(void);

#define ALIGN alignof(max_align_t)

static int aligned(const void *p)
{
  return (uintptr_t)p % ALIGN == 0;
}

/* ---- cgrpc_arena_alloc ------------------------------------------------------------------ */

START_TEST(every_allocation_is_aligned_for_any_type)
{
  cgrpc_arena a;
  cgrpc_arena_init(&a, cgrpc_default_allocator(), NULL, 0);
  for (size_t size = 0; size <= 300; size++) {
    void *p = cgrpc_arena_alloc(&a, size);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(aligned(p), "allocation of %zu bytes at %p", size, p);
  }
  for (size_t size = 1; size <= (1u << 20); size *= 3) {
    void *p = cgrpc_arena_alloc(&a, size);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(aligned(p), "allocation of %zu bytes at %p", size, p);
  }
  cgrpc_arena_clear(&a);
}
END_TEST

START_TEST(allocations_from_a_misaligned_first_block_are_aligned)
{
  max_align_t storage[33];
  for (size_t shift = 0; shift < ALIGN; shift++) {
    cgrpc_arena a;
    cgrpc_arena_init(&a, cgrpc_default_allocator(), (char *)storage + shift, 512);
    for (int i = 0; i < 40; i++) {
      uint8_t *p = cgrpc_arena_alloc(&a, (size_t)(i % 7) * 5 + 1);
      ck_assert_ptr_nonnull(p);
      ck_assert_msg(aligned(p), "shift %zu, allocation %d at %p", shift, i, (void *)p);
      uint8_t *lo = (uint8_t *)storage, *hi = lo + sizeof storage;
      if (p >= lo && p < hi) /* from the block: inside what was given */
        ck_assert(p >= lo + shift && p + (i % 7) * 5 + 1 <= lo + shift + 512);
    }
    cgrpc_arena_clear(&a);
  }
}
END_TEST

START_TEST(allocations_never_overlap)
{
  cgrpc_arena a;
  max_align_t first[16];
  cgrpc_arena_init(&a, cgrpc_default_allocator(), first, sizeof first);
  enum { N = 2000 };
  static uint8_t *ptrs[N];
  static size_t sizes[N];
  uint64_t seed = 99;
  for (int i = 0; i < N; i++) {
    uint64_t r = unit_rand(&seed);
    sizes[i] = (r & 0xff) == 0 ? (size_t)(r >> 8) % 70000 : (size_t)(r >> 8) % 200;
    ptrs[i] = cgrpc_arena_alloc(&a, sizes[i]);
    ck_assert_ptr_nonnull(ptrs[i]);
    memset(ptrs[i], (uint8_t)i, sizes[i]);
  }
  for (int i = 0; i < N; i++)
    for (size_t j = 0; j < sizes[i]; j++)
      ck_assert_msg(ptrs[i][j] == (uint8_t)i, "allocation %d overwritten at byte %zu", i, j);
  cgrpc_arena_clear(&a);
}
END_TEST

START_TEST(zero_sized_allocations_are_distinct_and_not_null)
{
  cgrpc_arena a;
  cgrpc_arena_init(&a, cgrpc_default_allocator(), NULL, 0);
  void *p = cgrpc_arena_alloc(&a, 0);
  void *q = cgrpc_arena_alloc(&a, 0);
  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_nonnull(q);
  ck_assert_ptr_ne(p, q);
  cgrpc_arena_clear(&a);
}
END_TEST

START_TEST(the_first_block_is_used_before_any_chunk_is_allocated)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  alignas(max_align_t) uint8_t first[32 * ALIGN];
  cgrpc_arena a;
  cgrpc_arena_init(&a, &ua.a, first, sizeof first);
  for (int i = 0; i < 16; i++) {
    uint8_t *p = cgrpc_arena_alloc(&a, 2 * ALIGN);
    ck_assert(p >= first && p + 2 * ALIGN <= first + sizeof first);
  }
  ck_assert_int_eq(ua.allocs, 0);
  ck_assert_ptr_nonnull(cgrpc_arena_alloc(&a, 1)); /* the block is full now */
  ck_assert_int_eq(ua.allocs, 1);
  cgrpc_arena_clear(&a);
  ck_assert_int_eq(ua.frees, 1);
}
END_TEST

START_TEST(big_allocation_gets_its_own_chunk_and_leaves_the_current_one_in_use)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_arena a;
  cgrpc_arena_init(&a, &ua.a, NULL, 0);
  ck_assert_ptr_nonnull(cgrpc_arena_alloc(&a, 8));
  ck_assert_int_eq(ua.allocs, 1);
  size_t big = 1u << 20;
  uint8_t *p = cgrpc_arena_alloc(&a, big);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(ua.allocs, 2);
  memset(p, 0xAB, big); /* all of it is usable: valgrind checks */
  ck_assert_int_eq(p[big - 1], 0xAB);
  /* Small ones carry on in the chunk that was current. */
  for (int i = 0; i < 10; i++)
    ck_assert_ptr_nonnull(cgrpc_arena_alloc(&a, 16));
  ck_assert_int_eq(ua.allocs, 2);
  cgrpc_arena_clear(&a);
  ck_assert_int_eq(ua.frees, 2);
}
END_TEST

START_TEST(many_small_allocations_take_few_chunks)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_arena a;
  cgrpc_arena_init(&a, &ua.a, NULL, 0);
  for (int i = 0; i < 10000; i++) /* about 1 MiB */
    ck_assert_ptr_nonnull(cgrpc_arena_alloc(&a, 100));
  ck_assert_msg(ua.allocs < 40, "%ld chunks for 1 MiB", ua.allocs);
  cgrpc_arena_clear(&a);
  ck_assert_int_eq(ua.frees, ua.allocs);
}
END_TEST

START_TEST(sizes_that_cannot_be_held_fail_with_null)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_arena a;
  cgrpc_arena_init(&a, &ua.a, NULL, 0);
  ck_assert_ptr_null(cgrpc_arena_alloc(&a, SIZE_MAX));
  ck_assert_ptr_null(cgrpc_arena_alloc(&a, SIZE_MAX - 8));
  ck_assert_ptr_null(cgrpc_arena_alloc(&a, SIZE_MAX - 20));
  ck_assert_int_eq(ua.allocs, 0);
  ck_assert_ptr_nonnull(cgrpc_arena_alloc(&a, 10)); /* still usable */
  cgrpc_arena_clear(&a);
}
END_TEST

START_TEST(out_of_memory_gives_null_and_the_arena_stays_usable)
{
  unit_alloc ua;
  unit_alloc_init(&ua, 0);
  cgrpc_arena a;
  cgrpc_arena_init(&a, &ua.a, NULL, 0);
  ck_assert_ptr_null(cgrpc_arena_alloc(&a, 10));
  ck_assert_ptr_null(cgrpc_arena_alloc(&a, 100000));
  ck_assert_ptr_null(cgrpc_arena_strndup(&a, "abc", 3));
  ua.fail_after = -1;
  ck_assert_ptr_nonnull(cgrpc_arena_alloc(&a, 10));
  cgrpc_arena_clear(&a);
  ck_assert_int_eq(ua.allocs, ua.frees);
}
END_TEST

START_TEST(clear_frees_every_chunk_and_the_arena_can_be_used_again)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_arena a;
  cgrpc_arena_init(&a, &ua.a, NULL, 0);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 500; i++)
      ck_assert_ptr_nonnull(cgrpc_arena_alloc(&a, (size_t)(i * 13) % 3000));
    ck_assert_int_gt(ua.allocs, ua.frees);
    cgrpc_arena_clear(&a);
    ck_assert_int_eq(ua.allocs, ua.frees);
  }
  cgrpc_arena_clear(&a); /* clearing an empty arena is harmless */
  ck_assert_int_eq(ua.allocs, ua.frees);
}
END_TEST

START_TEST(strndup_copies_n_bytes_and_terminates)
{
  cgrpc_arena a;
  cgrpc_arena_init(&a, cgrpc_default_allocator(), NULL, 0);
  char *s = cgrpc_arena_strndup(&a, "/pkg.Service/Method trailing", 19);
  ck_assert_str_eq(s, "/pkg.Service/Method");
  char *e = cgrpc_arena_strndup(&a, "x", 0);
  ck_assert_str_eq(e, "");
  char *nul = cgrpc_arena_strndup(&a, "a\0b", 3);
  ck_assert(memcmp(nul, "a\0b\0", 4) == 0);
  cgrpc_arena_clear(&a);
}
END_TEST

/* ---- the protobuf-c view ------------------------------------------------------------- */

/* message Pair { string name = 1; bytes data = 2; repeated uint32 nums = 3; } by hand,
 * as protoc-gen-c would write it. */
typedef struct Pair {
  ProtobufCMessage base;
  char *name;
  ProtobufCBinaryData data;
  size_t n_nums;
  uint32_t *nums;
} Pair;

static void pair_init(ProtobufCMessage *m);

static const ProtobufCFieldDescriptor pair_fields[3] = {
    {"name", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(Pair, name), NULL,
     &protobuf_c_empty_string, 0, 0, NULL, NULL},
    {"data", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_BYTES, 0, offsetof(Pair, data), NULL, NULL,
     0, 0, NULL, NULL},
    {"nums", 3, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_UINT32, offsetof(Pair, n_nums),
     offsetof(Pair, nums), NULL, NULL, PROTOBUF_C_FIELD_FLAG_PACKED, 0, NULL, NULL},
};
static const unsigned pair_fields_by_name[3] = {1, 0, 2};
static const ProtobufCIntRange pair_ranges[2] = {{1, 0}, {0, 3}};
static const ProtobufCMessageDescriptor pair_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "unit.Pair",
    "Pair",
    "Unit__Pair",
    "unit",
    sizeof(Pair),
    3,
    pair_fields,
    pair_fields_by_name,
    1,
    pair_ranges,
    pair_init,
    NULL,
    NULL,
    NULL,
};

static void pair_init(ProtobufCMessage *m)
{
  Pair *p = (Pair *)m;
  memset(p, 0, sizeof *p);
  p->base.descriptor = &pair_descriptor;
  p->name = (char *)protobuf_c_empty_string;
}

START_TEST(protobuf_c_unpacks_into_the_arena_and_frees_nothing)
{
  Pair in;
  pair_init(&in.base);
  uint32_t nums[300];
  for (int i = 0; i < 300; i++)
    nums[i] = (uint32_t)i * 1000;
  uint8_t blob[5000];
  memset(blob, 0x42, sizeof blob);
  in.name = "hello";
  in.data.data = blob;
  in.data.len = sizeof blob;
  in.n_nums = 300;
  in.nums = nums;
  size_t n = protobuf_c_message_get_packed_size(&in.base);
  uint8_t *wire = malloc(n);
  ck_assert_ptr_nonnull(wire);
  ck_assert_uint_eq(protobuf_c_message_pack(&in.base, wire), n);

  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_arena a;
  cgrpc_arena_init(&a, &ua.a, NULL, 0);
  Pair *out = (Pair *)protobuf_c_message_unpack(&pair_descriptor, &a.pb, n, wire);
  ck_assert_ptr_nonnull(out);
  ck_assert(aligned(out));
  ck_assert_str_eq(out->name, "hello");
  ck_assert_uint_eq(out->data.len, sizeof blob);
  ck_assert(memcmp(out->data.data, blob, sizeof blob) == 0);
  ck_assert_uint_eq(out->n_nums, 300);
  ck_assert_uint_eq(out->nums[299], 299000);
  long before = ua.frees;
  protobuf_c_message_free_unpacked(&out->base, &a.pb); /* a no-op: the arena owns it */
  ck_assert_int_eq(ua.frees, before);
  ck_assert_uint_eq(out->nums[299], 299000); /* still there until the arena is cleared */
  cgrpc_arena_clear(&a);
  ck_assert_int_eq(ua.allocs, ua.frees);
  free(wire);
}
END_TEST

START_TEST(protobuf_c_view_allocates_aligned_memory)
{
  cgrpc_arena a;
  cgrpc_arena_init(&a, cgrpc_default_allocator(), NULL, 0);
  for (size_t n = 1; n < 100; n++) {
    void *p = a.pb.alloc(a.pb.allocator_data, n);
    ck_assert_ptr_nonnull(p);
    ck_assert(aligned(p));
    a.pb.free(a.pb.allocator_data, p);
  }
  cgrpc_arena_clear(&a);
}
END_TEST

/* ---- the cgrpc_allocator view ------------------------------------------------------------- */

START_TEST(allocator_view_malloc_gives_aligned_usable_memory)
{
  cgrpc_arena a;
  cgrpc_arena_init(&a, cgrpc_default_allocator(), NULL, 0);
  cgrpc_allocator al;
  cgrpc_arena_allocator(&a, &al);
  for (size_t n = 0; n < 200; n += 7) {
    uint8_t *p = al.malloc(n, al.user_data);
    ck_assert_ptr_nonnull(p);
    ck_assert(aligned(p));
    memset(p, 0x11, n);
    al.free(p, al.user_data);
  }
  al.free(NULL, al.user_data);
  cgrpc_arena_clear(&a);
}
END_TEST

START_TEST(allocator_view_calloc_zeroes_and_checks_overflow)
{
  cgrpc_arena a;
  cgrpc_arena_init(&a, cgrpc_default_allocator(), NULL, 0);
  cgrpc_allocator al;
  cgrpc_arena_allocator(&a, &al);
  uint8_t *dirty = al.malloc(4000, al.user_data);
  memset(dirty, 0xFF, 4000);
  for (size_t n = 1; n < 5000; n = n * 2 + 1) {
    uint8_t *p = al.calloc(n, 3, al.user_data);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n * 3; i++)
      ck_assert_int_eq(p[i], 0);
  }
  ck_assert_ptr_null(al.calloc(SIZE_MAX / 2, 3, al.user_data));
  ck_assert_ptr_null(al.calloc(3, SIZE_MAX / 2, al.user_data));
  cgrpc_arena_clear(&a);
}
END_TEST

START_TEST(allocator_view_realloc_copies_the_old_contents)
{
  cgrpc_arena a;
  cgrpc_arena_init(&a, cgrpc_default_allocator(), NULL, 0);
  cgrpc_allocator al;
  cgrpc_arena_allocator(&a, &al);

  uint8_t *p = al.realloc(NULL, 10, al.user_data); /* realloc(NULL) allocates */
  ck_assert_ptr_nonnull(p);
  for (int i = 0; i < 10; i++)
    p[i] = (uint8_t)(i + 1);
  uint8_t *q = al.realloc(p, 5000, al.user_data); /* grows: the 10 bytes come along */
  ck_assert_ptr_nonnull(q);
  ck_assert(aligned(q));
  for (int i = 0; i < 10; i++)
    ck_assert_int_eq(q[i], i + 1);
  memset(q + 10, 0x77, 4990);
  uint8_t *r = al.realloc(q, 4, al.user_data); /* shrinks: the first 4 come along */
  ck_assert_ptr_nonnull(r);
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(r[i], i + 1);
  uint8_t *s = al.realloc(r, 100, al.user_data); /* from the shrunk size only */
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(s[i], i + 1);
  cgrpc_arena_clear(&a);
}
END_TEST

START_TEST(objects_built_with_the_allocator_view_need_no_frees_of_their_own)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_arena a;
  cgrpc_arena_init(&a, &ua.a, NULL, 0);
  cgrpc_allocator al;
  cgrpc_arena_allocator(&a, &al);
  cgrpc_metadata *md = NULL;
  ck_assert_int_eq(cgrpc_metadata_new(&md, &al), 0);
  for (int i = 0; i < 100; i++) /* grows its entry array by realloc */
    ck_assert_int_eq(cgrpc_metadata_add_str(md, "x-key", "some value"), 0);
  ck_assert_uint_eq(cgrpc_metadata_count(md), 100);
  ck_assert_str_eq((const char *)cgrpc_metadata_at(md, 99)->value, "some value");
  ck_assert_str_eq(cgrpc_metadata_at(md, 0)->key, "x-key");
  /* No cgrpc_metadata_free: clearing the arena releases it all. */
  cgrpc_arena_clear(&a);
  ck_assert_int_eq(ua.allocs, ua.frees);
}
END_TEST

START_TEST(allocator_view_refuses_sizes_it_cannot_hold)
{
  cgrpc_arena a;
  cgrpc_arena_init(&a, cgrpc_default_allocator(), NULL, 0);
  cgrpc_allocator al;
  cgrpc_arena_allocator(&a, &al);
  /* The size header must not wrap the request around to a tiny block. */
  void *huge = al.malloc(SIZE_MAX, al.user_data);
  void *almost = al.malloc(SIZE_MAX - ALIGN + 1, al.user_data);
  void *grown = al.realloc(NULL, SIZE_MAX, al.user_data);
  cgrpc_arena_clear(&a); /* before asserting, so a failure leaks nothing under valgrind */
  ck_assert_msg(huge == NULL, "malloc(SIZE_MAX) returned a block");
  ck_assert_msg(almost == NULL, "malloc(SIZE_MAX - %zu) returned a block", (size_t)ALIGN - 1);
  ck_assert_msg(grown == NULL, "realloc(NULL, SIZE_MAX) returned a block");
}
END_TEST

Suite *arena_suite(void)
{
  Suite *s = suite_create("arena");
  TCase *tc = tcase_create("alloc");
  tcase_add_test(tc, every_allocation_is_aligned_for_any_type);
  tcase_add_test(tc, allocations_from_a_misaligned_first_block_are_aligned);
  tcase_add_test(tc, allocations_never_overlap);
  tcase_add_test(tc, zero_sized_allocations_are_distinct_and_not_null);
  tcase_add_test(tc, the_first_block_is_used_before_any_chunk_is_allocated);
  tcase_add_test(tc, big_allocation_gets_its_own_chunk_and_leaves_the_current_one_in_use);
  tcase_add_test(tc, many_small_allocations_take_few_chunks);
  tcase_add_test(tc, sizes_that_cannot_be_held_fail_with_null);
  tcase_add_test(tc, out_of_memory_gives_null_and_the_arena_stays_usable);
  tcase_add_test(tc, clear_frees_every_chunk_and_the_arena_can_be_used_again);
  tcase_add_test(tc, strndup_copies_n_bytes_and_terminates);
  suite_add_tcase(s, tc);

  tc = tcase_create("protobuf-c view");
  tcase_add_test(tc, protobuf_c_unpacks_into_the_arena_and_frees_nothing);
  tcase_add_test(tc, protobuf_c_view_allocates_aligned_memory);
  suite_add_tcase(s, tc);

  tc = tcase_create("allocator view");
  tcase_add_test(tc, allocator_view_malloc_gives_aligned_usable_memory);
  tcase_add_test(tc, allocator_view_calloc_zeroes_and_checks_overflow);
  tcase_add_test(tc, allocator_view_realloc_copies_the_old_contents);
  tcase_add_test(tc, objects_built_with_the_allocator_view_need_no_frees_of_their_own);
  tcase_add_test(tc, allocator_view_refuses_sizes_it_cannot_hold);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(arena_suite)
