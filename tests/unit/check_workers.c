/* Specification of the handler thread pool: lanes served in turn, cancelling, lanes leaving. */
#include <pthread.h>

#include <check.h>

#include "base/workers.h"
#include "unit_main.h"

Suite *workers_suite(void);

/* Tasks that record the order they ran in; the first one can hold its thread until released. */
typedef struct order {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int held;     /* the holding task waits while set */
  int started;  /* the holding task is running */
  char ran[64]; /* one letter per task, in order */
  int n;
} order;

typedef struct tagged {
  cgrpc_task task;
  order *o;
  char tag;
} tagged;

static void tagged_run(void *ud)
{
  tagged *t = ud;
  order *o = t->o;
  pthread_mutex_lock(&o->mu);
  o->ran[o->n++] = t->tag;
  if (t->tag == 'H') {
    o->started = 1;
    pthread_cond_broadcast(&o->cond);
    while (o->held)
      pthread_cond_wait(&o->cond, &o->mu);
  }
  pthread_cond_broadcast(&o->cond);
  pthread_mutex_unlock(&o->mu);
}

static void tagged_init(tagged *t, order *o, char tag)
{
  cgrpc_task_init(&t->task, tagged_run, t);
  t->o = o;
  t->tag = tag;
}

/* One thread, held by task H: a queues five, then b one; released, b's runs second, not sixth. */
START_TEST(lanes_take_turns_so_one_source_cannot_hold_back_another)
{
  order o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1, 0, {0}, 0};
  cgrpc_workers *w;
  ck_assert_int_eq(cgrpc_workers_new(&w, "test", 1, 1, cgrpc_default_allocator()), 0);
  cgrpc_workers_lane a, b;
  cgrpc_workers_lane_init(&a);
  cgrpc_workers_lane_init(&b);
  tagged h, as[5], bs;
  tagged_init(&h, &o, 'H');
  cgrpc_workers_submit(w, &h.task, NULL); /* the thread may not be idle yet: 0 or 1 */
  pthread_mutex_lock(&o.mu);
  while (!o.started)
    pthread_cond_wait(&o.cond, &o.mu);
  pthread_mutex_unlock(&o.mu);
  for (int i = 0; i < 5; i++) {
    tagged_init(&as[i], &o, 'a');
    ck_assert_int_eq(cgrpc_workers_submit(w, &as[i].task, &a), 1); /* waits: the pool is full */
  }
  tagged_init(&bs, &o, 'b');
  ck_assert_int_eq(cgrpc_workers_submit(w, &bs.task, &b), 1);
  pthread_mutex_lock(&o.mu);
  o.held = 0;
  pthread_cond_broadcast(&o.cond);
  while (o.n < 7)
    pthread_cond_wait(&o.cond, &o.mu);
  pthread_mutex_unlock(&o.mu);
  cgrpc_workers_free(w);
  ck_assert_str_eq(o.ran, "Habaaaa");
}
END_TEST

/* A cancelled task does not run; a lane that leaves hands what it holds to the pool, which
 * still runs it. */
START_TEST(cancelled_tasks_do_not_run_and_a_lane_that_leaves_keeps_its_tasks)
{
  order o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1, 0, {0}, 0};
  cgrpc_workers *w;
  ck_assert_int_eq(cgrpc_workers_new(&w, "test", 1, 1, cgrpc_default_allocator()), 0);
  cgrpc_workers_lane a;
  cgrpc_workers_lane_init(&a);
  tagged h, x, y, z;
  tagged_init(&h, &o, 'H');
  tagged_init(&x, &o, 'x');
  tagged_init(&y, &o, 'y');
  tagged_init(&z, &o, 'z');
  cgrpc_workers_submit(w, &h.task, NULL); /* the thread may not be idle yet: 0 or 1 */
  pthread_mutex_lock(&o.mu);
  while (!o.started)
    pthread_cond_wait(&o.cond, &o.mu);
  pthread_mutex_unlock(&o.mu);
  cgrpc_workers_submit(w, &x.task, &a);
  cgrpc_workers_submit(w, &y.task, &a);
  cgrpc_workers_submit(w, &z.task, &a);
  ck_assert_int_eq(cgrpc_workers_cancel(w, &y.task, &a), 1);
  ck_assert_int_eq(cgrpc_workers_cancel(w, &y.task, &a), 0); /* not there any more */
  cgrpc_workers_lane_leave(w, &a);
  ck_assert_int_eq(cgrpc_workers_cancel(w, &z.task, &a), 1); /* found where it went */
  pthread_mutex_lock(&o.mu);
  o.held = 0;
  pthread_cond_broadcast(&o.cond);
  pthread_mutex_unlock(&o.mu);
  cgrpc_workers_free(w); /* runs what is queued first */
  ck_assert_str_eq(o.ran, "Hx");
}
END_TEST

Suite *workers_suite(void)
{
  Suite *s = suite_create("workers");
  TCase *tc = tcase_create("lanes");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, lanes_take_turns_so_one_source_cannot_hold_back_another);
  tcase_add_test(tc, cancelled_tasks_do_not_run_and_a_lane_that_leaves_keeps_its_tasks);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(workers_suite)
