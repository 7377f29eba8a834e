/* Specification of the handler thread pool: lanes served in turn, cancelling, lanes leaving. */
#include <pthread.h>
#include <time.h>

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
  cgrpc_workers_lane_init(&a, 0);
  cgrpc_workers_lane_init(&b, 0);
  tagged h, as[5], bs;
  tagged_init(&h, &o, 'H');
  cgrpc_workers_submit(w, &h.task, NULL); /* the thread may not be idle yet: 0 or 1 */
  pthread_mutex_lock(&o.mu);
  while (!o.started)
    pthread_cond_wait(&o.cond, &o.mu);
  pthread_mutex_unlock(&o.mu);
  for (int i = 0; i < 5; i++) {
    tagged_init(&as[i], &o, 'a');
    ck_assert_int_eq(cgrpc_workers_submit(w, &as[i].task, &a), CGRPC_WORKERS_WAITS_POOL);
  }
  tagged_init(&bs, &o, 'b');
  ck_assert_int_eq(cgrpc_workers_submit(w, &bs.task, &b), CGRPC_WORKERS_WAITS_POOL);
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
  cgrpc_workers_lane_init(&a, 0);
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

/* Tasks that block until released, counting how many run at once per lane. */
typedef struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int open;
  int running[2]; /* per lane: a, b */
  int ran[2];
} gate;

typedef struct gated {
  cgrpc_task task;
  gate *g;
  int lane;
} gated;

static void gated_run(void *ud)
{
  gated *t = ud;
  gate *g = t->g;
  pthread_mutex_lock(&g->mu);
  g->running[t->lane]++;
  g->ran[t->lane]++;
  pthread_cond_broadcast(&g->cond);
  while (!g->open)
    pthread_cond_wait(&g->cond, &g->mu);
  g->running[t->lane]--;
  pthread_mutex_unlock(&g->mu);
}

/* Waits until lane a has ra running and b rb (or 5 s), and returns whether it came to that. */
static int gate_wait(gate *g, int ra, int rb)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock(&g->mu);
  int rv = 0;
  while (!(g->running[0] == ra && g->running[1] == rb) && rv == 0)
    rv = pthread_cond_timedwait(&g->cond, &g->mu, &until);
  int ok = g->running[0] == ra && g->running[1] == rb;
  pthread_mutex_unlock(&g->mu);
  return ok;
}

/* A lane with a cap of 2 among 8 threads: its third and fourth tasks wait (without a thread)
 * while another lane's task runs at once; one released, the third runs; a lane that leaves
 * with a task still waiting for its cap hands it to the pool, which runs it. */
START_TEST(a_lane_at_its_cap_waits_for_its_own_and_not_for_others)
{
  gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0, 0}, {0, 0}};
  cgrpc_workers *w;
  ck_assert_int_eq(cgrpc_workers_new(&w, "test", 0, 8, cgrpc_default_allocator()), 0);
  cgrpc_workers_lane a, b;
  cgrpc_workers_lane_init(&a, 2);
  cgrpc_workers_lane_init(&b, 0);
  gated as[4], bs;
  for (int i = 0; i < 4; i++) {
    as[i] = (gated){.g = &g, .lane = 0};
    cgrpc_task_init(&as[i].task, gated_run, &as[i]);
  }
  bs = (gated){.g = &g, .lane = 1};
  cgrpc_task_init(&bs.task, gated_run, &bs);
  ck_assert_int_eq(cgrpc_workers_submit(w, &as[0].task, &a), 0);
  ck_assert_int_eq(cgrpc_workers_submit(w, &as[1].task, &a), 0);
  ck_assert_int_eq(cgrpc_workers_submit(w, &as[2].task, &a), CGRPC_WORKERS_WAITS_LANE);
  ck_assert_int_eq(cgrpc_workers_submit(w, &as[3].task, &a), CGRPC_WORKERS_WAITS_LANE);
  ck_assert_int_eq(cgrpc_workers_submit(w, &bs.task, &b), 0);
  ck_assert(gate_wait(&g, 2, 1));
  ck_assert_int_eq(cgrpc_workers_size(w), 3); /* no thread started for the waiting two */
  /* The fourth is cancelled; the lane leaves with the third waiting; the pool runs it. */
  ck_assert_int_eq(cgrpc_workers_cancel(w, &as[3].task, &a), 1);
  cgrpc_workers_lane_leave(w, &a);
  ck_assert(gate_wait(&g, 3, 1));
  pthread_mutex_lock(&g.mu);
  g.open = 1;
  pthread_cond_broadcast(&g.cond);
  pthread_mutex_unlock(&g.mu);
  ck_assert(gate_wait(&g, 0, 0));
  cgrpc_workers_free(w);
  ck_assert_int_eq(g.ran[0], 3);
  ck_assert_int_eq(g.ran[1], 1);
}
END_TEST

/* The same lane, kept: releasing one of the two running lets the third in, on that thread. */
START_TEST(a_lane_below_its_cap_again_runs_the_next_of_its_tasks)
{
  gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0, 0}, {0, 0}};
  cgrpc_workers *w;
  ck_assert_int_eq(cgrpc_workers_new(&w, "test", 0, 8, cgrpc_default_allocator()), 0);
  cgrpc_workers_lane a;
  cgrpc_workers_lane_init(&a, 1);
  gated as[2];
  for (int i = 0; i < 2; i++) {
    as[i] = (gated){.g = &g, .lane = 0};
    cgrpc_task_init(&as[i].task, gated_run, &as[i]);
  }
  ck_assert_int_eq(cgrpc_workers_submit(w, &as[0].task, &a), 0);
  ck_assert_int_eq(cgrpc_workers_submit(w, &as[1].task, &a), CGRPC_WORKERS_WAITS_LANE);
  ck_assert(gate_wait(&g, 1, 0));
  pthread_mutex_lock(&g.mu);
  g.open = 1; /* both pass the gate: the first returns, then the second runs */
  pthread_cond_broadcast(&g.cond);
  pthread_mutex_unlock(&g.mu);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock(&g.mu);
  while (g.ran[0] < 2 && pthread_cond_timedwait(&g.cond, &g.mu, &until) == 0) {
  }
  int ran = g.ran[0];
  pthread_mutex_unlock(&g.mu);
  ck_assert_int_eq(ran, 2);
  ck_assert_int_eq(cgrpc_workers_size(w), 1);
  cgrpc_workers_lane_leave(w, &a);
  cgrpc_workers_free(w);
}
END_TEST

Suite *workers_suite(void)
{
  Suite *s = suite_create("workers");
  TCase *tc = tcase_create("lanes");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, lanes_take_turns_so_one_source_cannot_hold_back_another);
  tcase_add_test(tc, cancelled_tasks_do_not_run_and_a_lane_that_leaves_keeps_its_tasks);
  tcase_add_test(tc, a_lane_at_its_cap_waits_for_its_own_and_not_for_others);
  tcase_add_test(tc, a_lane_below_its_cap_again_runs_the_next_of_its_tasks);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(workers_suite)
