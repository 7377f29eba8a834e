/* Specification of the server's method table: paths to handlers. */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "server/registry.h"
#include "unit_main.h"

Suite *registry_suite(void);

static void handler_a(void) {}
static void handler_b(void) {}

static const cgrpc_method_desc say_hello = {.path = "/helloworld.Greeter/SayHello",
                                            .name = "SayHello"};
static const cgrpc_method_desc say_hello_again = {.path = "/helloworld.Greeter/SayHelloAgain",
                                                  .name = "SayHelloAgain"};
static const cgrpc_method_desc say_hello_twin = {.path = "/helloworld.Greeter/SayHello",
                                                 .name = "SayHello"};

static const cgrpc_registry_entry *find(const cgrpc_registry *r, const char *path)
{
  return cgrpc_registry_find(r, path, strlen(path));
}

START_TEST(empty_registry_finds_nothing)
{
  cgrpc_registry r;
  cgrpc_registry_init(&r, cgrpc_default_allocator());
  ck_assert_ptr_null(find(&r, "/helloworld.Greeter/SayHello"));
  ck_assert_ptr_null(find(&r, ""));
  cgrpc_registry_clear(&r);
}
END_TEST

START_TEST(added_method_is_found_with_its_handler_and_user_data)
{
  cgrpc_registry r;
  cgrpc_registry_init(&r, cgrpc_default_allocator());
  int ud = 7;
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello, handler_a, &ud), 0);
  const cgrpc_registry_entry *e = find(&r, "/helloworld.Greeter/SayHello");
  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_eq(e->desc, &say_hello);
  ck_assert(e->handler == handler_a);
  ck_assert_ptr_eq(e->user_data, &ud);
  cgrpc_registry_clear(&r);
}
END_TEST

START_TEST(only_the_exact_path_matches)
{
  cgrpc_registry r;
  cgrpc_registry_init(&r, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello, handler_a, NULL), 0);
  ck_assert_ptr_null(find(&r, "/helloworld.Greeter/SayHell"));
  ck_assert_ptr_null(find(&r, "/helloworld.Greeter/SayHelloo"));
  ck_assert_ptr_null(find(&r, "/helloworld.Greeter/sayhello"));
  ck_assert_ptr_null(find(&r, "helloworld.Greeter/SayHello"));
  ck_assert_ptr_null(find(&r, "/helloworld.Greeter/SayHello/"));
  ck_assert_ptr_null(find(&r, ""));
  cgrpc_registry_clear(&r);
}
END_TEST

START_TEST(find_reads_exactly_len_bytes_of_the_path)
{
  cgrpc_registry r;
  cgrpc_registry_init(&r, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello, handler_a, NULL), 0);
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello_again, handler_b, NULL), 0);
  /* A :path value is not NUL-terminated. */
  static const char buf[] = "/helloworld.Greeter/SayHelloAgain";
  const cgrpc_registry_entry *e = cgrpc_registry_find(&r, buf, strlen("/helloworld.Greeter/SayHello"));
  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_eq(e->desc, &say_hello);
  e = cgrpc_registry_find(&r, buf, sizeof buf - 1);
  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_eq(e->desc, &say_hello_again);
  cgrpc_registry_clear(&r);
}
END_TEST

START_TEST(adding_a_path_twice_fails_exists_and_keeps_the_first)
{
  cgrpc_registry r;
  cgrpc_registry_init(&r, cgrpc_default_allocator());
  int ud1 = 1, ud2 = 2;
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello, handler_a, &ud1), 0);
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello, handler_b, &ud2), CGRPC_ERR_EXISTS);
  /* The same path through another descriptor is the same method. */
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello_twin, handler_b, &ud2), CGRPC_ERR_EXISTS);
  const cgrpc_registry_entry *e = find(&r, say_hello.path);
  ck_assert(e->handler == handler_a);
  ck_assert_ptr_eq(e->user_data, &ud1);
  ck_assert_uint_eq(r.count, 1);
  cgrpc_registry_clear(&r);
}
END_TEST

START_TEST(null_handler_is_registered_as_unimplemented)
{
  cgrpc_registry r;
  cgrpc_registry_init(&r, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello, NULL, NULL), 0);
  const cgrpc_registry_entry *e = find(&r, say_hello.path);
  ck_assert_ptr_nonnull(e);
  ck_assert(e->handler == NULL);
  cgrpc_registry_clear(&r);
}
END_TEST

enum { MANY = 300 };
static char many_paths[MANY][64];
static cgrpc_method_desc many_descs[MANY];

START_TEST(table_grows_past_16_entries_and_finds_every_one)
{
  unit_alloc ua;
  unit_alloc_init(&ua, -1);
  cgrpc_registry r;
  cgrpc_registry_init(&r, &ua.a);
  for (int i = 0; i < MANY; i++) {
    snprintf(many_paths[i], sizeof many_paths[i], "/pkg.v%d.Service%d/Method%d", i % 3, i / 10, i);
    many_descs[i].path = many_paths[i];
    ck_assert_int_eq(cgrpc_registry_add(&r, &many_descs[i], handler_a, &many_descs[i]), 0);
    /* Everything added so far is still there after each growth. */
    if (i == 7 || i == 8 || i == 15 || i == 16 || i == 17 || i == 33 || i == MANY - 1)
      for (int j = 0; j <= i; j++) {
        const cgrpc_registry_entry *e = find(&r, many_paths[j]);
        ck_assert_msg(e != NULL, "%s lost after %d adds", many_paths[j], i + 1);
        ck_assert_ptr_eq(e->desc, &many_descs[j]);
        ck_assert_ptr_eq(e->user_data, &many_descs[j]);
      }
  }
  ck_assert_uint_eq(r.count, MANY);
  ck_assert_ptr_null(find(&r, "/pkg.v0.Service0/Method300"));
  for (int i = 0; i < MANY; i++)
    ck_assert_int_eq(cgrpc_registry_add(&r, &many_descs[i], handler_b, NULL), CGRPC_ERR_EXISTS);
  cgrpc_registry_clear(&r);
  ck_assert_int_eq(ua.allocs, ua.frees);
}
END_TEST

START_TEST(out_of_memory_is_reported_and_nothing_is_lost)
{
  unit_alloc ua;
  unit_alloc_init(&ua, 1); /* the first table only */
  cgrpc_registry r;
  cgrpc_registry_init(&r, &ua.a);
  int added = 0, rv = 0;
  for (int i = 0; i < MANY && rv == 0; i++) {
    snprintf(many_paths[i], sizeof many_paths[i], "/s.S/M%d", i);
    many_descs[i].path = many_paths[i];
    rv = cgrpc_registry_add(&r, &many_descs[i], handler_a, NULL);
    if (rv == 0)
      added++;
  }
  ck_assert_int_eq(rv, CGRPC_ERR_NOMEM);
  ck_assert_int_ge(added, 1);
  for (int i = 0; i < added; i++)
    ck_assert_ptr_nonnull(find(&r, many_paths[i]));
  ck_assert_ptr_null(find(&r, many_paths[added]));
  cgrpc_registry_clear(&r);
  ck_assert_int_eq(ua.allocs, ua.frees);
}
END_TEST

START_TEST(cleared_registry_is_empty_and_usable_again)
{
  cgrpc_registry r;
  cgrpc_registry_init(&r, cgrpc_default_allocator());
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello, handler_a, NULL), 0);
  cgrpc_registry_clear(&r);
  ck_assert_ptr_null(find(&r, say_hello.path));
  ck_assert_int_eq(cgrpc_registry_add(&r, &say_hello, handler_b, NULL), 0);
  ck_assert(find(&r, say_hello.path)->handler == handler_b);
  cgrpc_registry_clear(&r);
  cgrpc_registry_clear(&r);
}
END_TEST

Suite *registry_suite(void)
{
  Suite *s = suite_create("registry");
  TCase *tc = tcase_create("registry");
  tcase_add_test(tc, empty_registry_finds_nothing);
  tcase_add_test(tc, added_method_is_found_with_its_handler_and_user_data);
  tcase_add_test(tc, only_the_exact_path_matches);
  tcase_add_test(tc, find_reads_exactly_len_bytes_of_the_path);
  tcase_add_test(tc, adding_a_path_twice_fails_exists_and_keeps_the_first);
  tcase_add_test(tc, null_handler_is_registered_as_unimplemented);
  tcase_add_test(tc, table_grows_past_16_entries_and_finds_every_one);
  tcase_add_test(tc, out_of_memory_is_reported_and_nothing_is_lost);
  tcase_add_test(tc, cleared_registry_is_empty_and_usable_again);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(registry_suite)
