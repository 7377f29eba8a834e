/* Specification of the shared byte budget: takers wait for room, one taker may pass the limit
 * alone, a waiter can be stopped, and giving back wakes the waiters. */
#include <pthread.h>
#include <unistd.h>

#include <check.h>

#include "base/budget.h"
#include "unit_main.h"

Suite *budget_suite(void);

static const cgrpc_allocator *plain(void)
{
  static cgrpc_allocator a;
  cgrpc_alloc_init(&a, NULL); /* malloc */
  return &a;
}

static int never(void *ud)
{
  (void)ud;
  return 0;
}

static int when_set(void *ud)
{
  return __atomic_load_n((int *)ud, __ATOMIC_ACQUIRE);
}

typedef struct taker {
  cgrpc_budget *b;
  size_t n;
  int stop;  /* atomic: the stop callback's answer */
  int taken; /* atomic: 1 taken, -1 stopped */
} taker;

static void *take_thread(void *arg)
{
  taker *t = arg;
  int rv = cgrpc_budget_take(t->b, t->n, 5, when_set, &t->stop);
  __atomic_store_n(&t->taken, rv == 0 ? 1 : -1, __ATOMIC_RELEASE);
  return NULL;
}

static void sleep_ms(int ms)
{
  usleep((useconds_t)ms * 1000);
}

START_TEST(a_taker_waits_until_what_it_asks_fits_beside_what_others_hold)
{
  cgrpc_budget *b = cgrpc_budget_new(plain(), 16);
  ck_assert_ptr_nonnull(b);
  ck_assert_int_eq(cgrpc_budget_take(b, 10, 5, never, NULL), 0);
  taker t = {b, 10, 0, 0};
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, take_thread, &t), 0);
  sleep_ms(50);
  ck_assert_int_eq(__atomic_load_n(&t.taken, __ATOMIC_ACQUIRE), 0); /* 10 + 10 > 16: waits */
  cgrpc_budget_give(b, 3); /* 7 held: still no room for 10 */
  sleep_ms(50);
  ck_assert_int_eq(__atomic_load_n(&t.taken, __ATOMIC_ACQUIRE), 0);
  cgrpc_budget_give(b, 1); /* 6 held: 6 + 10 fits 16 */
  pthread_join(th, NULL);
  ck_assert_int_eq(t.taken, 1);
  ck_assert_uint_eq(b->used, 16);
  cgrpc_budget_give(b, 16);
  cgrpc_budget_unref(b);
}
END_TEST

START_TEST(one_taker_may_pass_the_limit_when_nothing_else_is_held)
{
  cgrpc_budget *b = cgrpc_budget_new(plain(), 16);
  ck_assert_int_eq(cgrpc_budget_take(b, 100, 5, never, NULL), 0);
  ck_assert_uint_eq(b->used, 100);
  cgrpc_budget_give(b, 100);
  cgrpc_budget_give(b, 7); /* more than held: nothing left, never negative */
  ck_assert_uint_eq(b->used, 0);
  cgrpc_budget_give(NULL, 5); /* no budget: nothing */
  cgrpc_budget_unref(b);
}
END_TEST

START_TEST(a_waiter_that_is_told_to_stop_takes_nothing)
{
  cgrpc_budget *b = cgrpc_budget_new(plain(), 16);
  ck_assert_int_eq(cgrpc_budget_take(b, 16, 5, never, NULL), 0);
  taker t = {b, 1, 0, 0};
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, take_thread, &t), 0);
  sleep_ms(20);
  __atomic_store_n(&t.stop, 1, __ATOMIC_RELEASE); /* seen at its next look, within 5 ms */
  pthread_join(th, NULL);
  ck_assert_int_eq(t.taken, -1);
  ck_assert_uint_eq(b->used, 16);
  cgrpc_budget_give(b, 16);
  cgrpc_budget_unref(b);
}
END_TEST

START_TEST(the_last_reference_frees_it)
{
  unit_alloc ua;
  unit_alloc_init(&ua, 0); /* out of memory: no budget */
  ck_assert_ptr_null(cgrpc_budget_new(&ua.a, 16));
  unit_alloc_init(&ua, -1);
  cgrpc_budget *b = cgrpc_budget_new(&ua.a, 16);
  ck_assert_ptr_eq(cgrpc_budget_ref(b), b);
  cgrpc_budget_unref(b);
  ck_assert_int_eq(ua.allocs - ua.frees, 1);
  cgrpc_budget_unref(b);
  ck_assert_int_eq(ua.allocs - ua.frees, 0);
  cgrpc_budget_unref(NULL);
}
END_TEST

Suite *budget_suite(void)
{
  Suite *s = suite_create("budget");
  TCase *tc = tcase_create("budget");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, a_taker_waits_until_what_it_asks_fits_beside_what_others_hold);
  tcase_add_test(tc, one_taker_may_pass_the_limit_when_nothing_else_is_held);
  tcase_add_test(tc, a_waiter_that_is_told_to_stop_takes_nothing);
  tcase_add_test(tc, the_last_reference_frees_it);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(budget_suite)
