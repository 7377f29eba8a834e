/* Specification of the event loop: timers, tasks posted from any thread, deferred tasks, fds, stopping. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "base/loop.h"
#include "unit_main.h"

Suite *loop_suite(void);

#define MS CGRPC_MS_TO_NS(1)

static cgrpc_loop *loop_new(void)
{
  cgrpc_loop *loop = NULL;
  ck_assert_int_eq(cgrpc_loop_new(&loop, NULL), 0);
  ck_assert_ptr_nonnull(loop);
  return loop;
}

/* Runs rounds until *flag is set or max_ms have passed. */
static void run_until(cgrpc_loop *loop, const int *flag, int max_ms)
{
  cgrpc_time end = cgrpc_now() + CGRPC_MS_TO_NS(max_ms);
  while (!*flag && cgrpc_now() < end)
    cgrpc_loop_run_once(loop, 10);
}

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* ---- a log of what ran, in order ------------------------------------------------------ */

#define LOG_MAX 4096

typedef struct run_log {
  pthread_mutex_t mu;
  int n;
  int ids[LOG_MAX];
  int on_loop_thread[LOG_MAX];
  cgrpc_loop *loop;
} run_log;

static run_log lg = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void log_reset(cgrpc_loop *loop)
{
  lg.n = 0;
  lg.loop = loop;
}

static void log_add(int id)
{
  pthread_mutex_lock(&lg.mu);
  ck_assert_int_lt(lg.n, LOG_MAX);
  lg.ids[lg.n] = id;
  lg.on_loop_thread[lg.n] = lg.loop != NULL && cgrpc_loop_on_thread(lg.loop);
  lg.n++;
  pthread_mutex_unlock(&lg.mu);
}

static int log_count(void)
{
  pthread_mutex_lock(&lg.mu);
  int n = lg.n;
  pthread_mutex_unlock(&lg.mu);
  return n;
}

/* A timer or task whose callback logs its id. */
typedef struct logged {
  int id;
  cgrpc_timer timer;
  cgrpc_task task;
} logged;

static void logged_cb(void *ud)
{
  log_add(((logged *)ud)->id);
}

/* ---- timers ------------------------------------------------------------------------- */

START_TEST(due_timers_fire_in_deadline_order)
{
  cgrpc_loop *loop = loop_new();
  log_reset(loop);
  static const int order[] = {5, 1, 4, 0, 3, 2, 7, 6};
  logged t[8];
  cgrpc_time base = cgrpc_now();
  for (int i = 0; i < 8; i++) {
    int k = order[i];
    t[k].id = k;
    cgrpc_timer_init(&t[k].timer, logged_cb, &t[k]);
    /* Timer k is due at base - (8 - k) ms: all are due, 0 first. */
    ck_assert_int_eq(cgrpc_loop_timer_start(loop, &t[k].timer, base - (8 - k) * MS), 0);
    ck_assert(cgrpc_timer_armed(&t[k].timer));
  }
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(lg.n, 8);
  for (int i = 0; i < 8; i++) {
    ck_assert_int_eq(lg.ids[i], i);
    ck_assert(!cgrpc_timer_armed(&t[i].timer));
  }
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(future_timers_fire_in_deadline_order)
{
  cgrpc_loop *loop = loop_new();
  log_reset(loop);
  logged t[4];
  cgrpc_time base = cgrpc_now();
  static const int delay_ms[] = {40, 10, 30, 20};
  for (int i = 0; i < 4; i++) {
    t[i].id = i;
    cgrpc_timer_init(&t[i].timer, logged_cb, &t[i]);
    ck_assert_int_eq(cgrpc_loop_timer_start(loop, &t[i].timer, base + delay_ms[i] * MS), 0);
  }
  cgrpc_time end = cgrpc_now() + CGRPC_MS_TO_NS(2000);
  while (lg.n < 4 && cgrpc_now() < end)
    cgrpc_loop_run_once(loop, -1);
  ck_assert_int_eq(lg.n, 4);
  ck_assert_int_eq(lg.ids[0], 1);
  ck_assert_int_eq(lg.ids[1], 3);
  ck_assert_int_eq(lg.ids[2], 2);
  ck_assert_int_eq(lg.ids[3], 0);
  cgrpc_loop_free(loop);
}
END_TEST

typedef struct stamp {
  cgrpc_timer timer;
  cgrpc_time fired_at;
  int fired;
} stamp;

static void stamp_cb(void *ud)
{
  stamp *s = ud;
  s->fired_at = cgrpc_now();
  s->fired++;
}

START_TEST(timer_fires_no_earlier_than_its_deadline)
{
  cgrpc_loop *loop = loop_new();
  stamp s = {.fired = 0};
  cgrpc_timer_init(&s.timer, stamp_cb, &s);
  cgrpc_time start = cgrpc_now();
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &s.timer, start + 20 * MS), 0);
  cgrpc_time end = start + CGRPC_MS_TO_NS(2000);
  while (!s.fired && cgrpc_now() < end)
    cgrpc_loop_run_once(loop, -1); /* the timer alone bounds the wait */
  ck_assert_int_eq(s.fired, 1);
  ck_assert_msg(s.fired_at - start >= 20 * MS, "fired after %lld ns",
                (long long)(s.fired_at - start));
  ck_assert_msg(s.fired_at - start < 2000 * MS, "fired after %lld ns",
                (long long)(s.fired_at - start));
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(run_once_returns_by_its_timeout_when_nothing_happens)
{
  cgrpc_loop *loop = loop_new();
  stamp s = {.fired = 0};
  cgrpc_timer_init(&s.timer, stamp_cb, &s);
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &s.timer, cgrpc_now() + 3600 * INT64_C(1000) * MS),
                   0);
  cgrpc_time start = cgrpc_now();
  cgrpc_loop_run_once(loop, 20);
  cgrpc_time took = cgrpc_now() - start;
  ck_assert_int_eq(s.fired, 0);
  ck_assert_msg(took < 2000 * MS, "run_once(20) took %lld ns", (long long)took);
  cgrpc_loop_timer_stop(loop, &s.timer);
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(stopped_timer_never_fires)
{
  cgrpc_loop *loop = loop_new();
  stamp due = {.fired = 0}, soon = {.fired = 0}, sentinel = {.fired = 0};
  cgrpc_timer_init(&due.timer, stamp_cb, &due);
  cgrpc_timer_init(&soon.timer, stamp_cb, &soon);
  cgrpc_timer_init(&sentinel.timer, stamp_cb, &sentinel);
  cgrpc_time now = cgrpc_now();
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &due.timer, now - MS), 0);
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &soon.timer, now + 5 * MS), 0);
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &sentinel.timer, now + 30 * MS), 0);
  cgrpc_loop_timer_stop(loop, &due.timer);
  cgrpc_loop_timer_stop(loop, &soon.timer);
  ck_assert(!cgrpc_timer_armed(&due.timer));
  ck_assert(!cgrpc_timer_armed(&soon.timer));
  run_until(loop, &sentinel.fired, 2000);
  ck_assert_int_eq(sentinel.fired, 1);
  ck_assert_int_eq(due.fired, 0);
  ck_assert_int_eq(soon.fired, 0);
  cgrpc_loop_free(loop);
}
END_TEST

typedef struct stopper {
  cgrpc_loop *loop;
  cgrpc_timer timer;
  cgrpc_timer *victim;
} stopper;

static void stopper_cb(void *ud)
{
  stopper *s = ud;
  cgrpc_loop_timer_stop(s->loop, s->victim);
}

START_TEST(timer_stopped_by_an_earlier_timer_of_the_same_round_does_not_fire)
{
  cgrpc_loop *loop = loop_new();
  stamp victim = {.fired = 0};
  stopper st = {.loop = loop, .victim = &victim.timer};
  cgrpc_timer_init(&victim.timer, stamp_cb, &victim);
  cgrpc_timer_init(&st.timer, stopper_cb, &st);
  cgrpc_time now = cgrpc_now();
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &st.timer, now - 2 * MS), 0);
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &victim.timer, now - MS), 0);
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(victim.fired, 0);
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(stopping_an_unarmed_timer_is_harmless)
{
  cgrpc_loop *loop = loop_new();
  stamp s = {.fired = 0};
  cgrpc_timer_init(&s.timer, stamp_cb, &s);
  ck_assert(!cgrpc_timer_armed(&s.timer));
  cgrpc_loop_timer_stop(loop, &s.timer);
  cgrpc_loop_timer_stop(loop, &s.timer);
  ck_assert(!cgrpc_timer_armed(&s.timer));
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(rearming_moves_the_deadline_and_fires_once)
{
  cgrpc_loop *loop = loop_new();
  stamp s = {.fired = 0};
  cgrpc_timer_init(&s.timer, stamp_cb, &s);
  cgrpc_time now = cgrpc_now();
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &s.timer, now + 3600 * INT64_C(1000) * MS), 0);
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &s.timer, now - MS), 0); /* earlier */
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(s.fired, 1);
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(s.fired, 1);

  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &s.timer, now - MS), 0);
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &s.timer, now + 3600 * INT64_C(1000) * MS), 0);
  cgrpc_loop_run_once(loop, 0); /* later now: not due */
  ck_assert_int_eq(s.fired, 1);
  ck_assert(cgrpc_timer_armed(&s.timer));
  cgrpc_loop_timer_stop(loop, &s.timer);
  cgrpc_loop_free(loop);
}
END_TEST

typedef struct periodic {
  cgrpc_loop *loop;
  cgrpc_timer timer;
  int count;
} periodic;

static void periodic_cb(void *ud)
{
  periodic *p = ud;
  if (++p->count < 3)
    ck_assert_int_eq(cgrpc_loop_timer_start(p->loop, &p->timer, cgrpc_now() + MS), 0);
}

START_TEST(timer_can_rearm_itself_from_its_callback)
{
  cgrpc_loop *loop = loop_new();
  periodic p = {.loop = loop, .count = 0};
  cgrpc_timer_init(&p.timer, periodic_cb, &p);
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &p.timer, cgrpc_now()), 0);
  cgrpc_time end = cgrpc_now() + CGRPC_MS_TO_NS(2000);
  while (p.count < 3 && cgrpc_now() < end)
    cgrpc_loop_run_once(loop, 10);
  ck_assert_int_eq(p.count, 3);
  ck_assert(!cgrpc_timer_armed(&p.timer));
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(many_timers_with_stops_and_rearms_fire_in_order)
{
  enum { N = 1500 };
  cgrpc_loop *loop = loop_new();
  log_reset(loop);
  static logged t[N];
  static cgrpc_time when[N];
  static int stopped[N];
  uint64_t seed = 1234;
  cgrpc_time base = cgrpc_now() - CGRPC_MS_TO_NS(10);
  for (int i = 0; i < N; i++) {
    t[i].id = i;
    stopped[i] = 0;
    cgrpc_timer_init(&t[i].timer, logged_cb, &t[i]);
    when[i] = base - (cgrpc_time)(unit_rand(&seed) % 1000000000);
    ck_assert_int_eq(cgrpc_loop_timer_start(loop, &t[i].timer, when[i]), 0);
  }
  for (int k = 0; k < N; k++) {
    int i = (int)(unit_rand(&seed) % N);
    if (unit_rand(&seed) % 2) {
      cgrpc_loop_timer_stop(loop, &t[i].timer);
      stopped[i] = 1;
    } else {
      when[i] = base - (cgrpc_time)(unit_rand(&seed) % 1000000000);
      ck_assert_int_eq(cgrpc_loop_timer_start(loop, &t[i].timer, when[i]), 0);
      stopped[i] = 0;
    }
  }
  int expect = 0;
  for (int i = 0; i < N; i++)
    expect += !stopped[i];
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(lg.n, expect);
  for (int k = 0; k < lg.n; k++) {
    int id = lg.ids[k];
    ck_assert_msg(!stopped[id], "stopped timer %d fired", id);
    if (k > 0)
      ck_assert_msg(when[lg.ids[k - 1]] <= when[id], "timer %d fired out of order", id);
  }
  cgrpc_loop_free(loop);
}
END_TEST

/* ---- tasks -------------------------------------------------------------------------- */

typedef struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
} waiter;

static void waiter_init(waiter *w)
{
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  w->done = 0;
}

static void waiter_signal(waiter *w)
{
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Waits up to max_ms; returns nonzero when signalled. */
static int waiter_wait(waiter *w, int max_ms)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += max_ms / 1000;
  ts.tv_nsec += (long)(max_ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&w->mu);
  while (!w->done)
    if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
      break;
  int done = w->done;
  pthread_mutex_unlock(&w->mu);
  return done;
}

static void waiter_destroy(waiter *w)
{
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
}

enum { NPOST = 300 };

typedef struct poster {
  cgrpc_loop *loop;
  logged *tasks; /* NPOST of them */
  pthread_t thread;
} poster;

static void *poster_main(void *arg)
{
  poster *p = arg;
  for (int i = 0; i < NPOST; i++) {
    cgrpc_loop_post(p->loop, &p->tasks[i].task);
    if (i % 50 == 0)
      sched_yield();
  }
  return NULL;
}

static waiter all_ran;
static int all_ran_at;

static void counting_task_cb(void *ud)
{
  logged_cb(ud);
  if (log_count() == all_ran_at)
    waiter_signal(&all_ran);
}

START_TEST(tasks_posted_from_another_thread_run_on_the_loop_thread_in_fifo_order)
{
  cgrpc_loop *loop = loop_new();
  log_reset(loop);
  waiter_init(&all_ran);
  all_ran_at = NPOST;
  static logged tasks[NPOST];
  for (int i = 0; i < NPOST; i++) {
    tasks[i].id = i;
    cgrpc_task_init(&tasks[i].task, counting_task_cb, &tasks[i]);
  }
  ck_assert_int_eq(cgrpc_loop_start_thread(loop, "unit-loop"), 0);
  ck_assert(!cgrpc_loop_on_thread(loop));
  poster p = {.loop = loop, .tasks = tasks};
  ck_assert_int_eq(pthread_create(&p.thread, NULL, poster_main, &p), 0);
  pthread_join(p.thread, NULL);
  ck_assert_msg(waiter_wait(&all_ran, 5000), "only %d of %d tasks ran", log_count(), NPOST);
  cgrpc_loop_stop(loop);
  cgrpc_loop_join(loop);
  ck_assert_int_eq(lg.n, NPOST);
  for (int i = 0; i < NPOST; i++) {
    ck_assert_int_eq(lg.ids[i], i);
    ck_assert_msg(lg.on_loop_thread[i], "task %d ran off the loop thread", i);
  }
  cgrpc_loop_free(loop);
  waiter_destroy(&all_ran);
}
END_TEST

START_TEST(tasks_from_two_threads_each_keep_their_order)
{
  cgrpc_loop *loop = loop_new();
  log_reset(loop);
  waiter_init(&all_ran);
  all_ran_at = 2 * NPOST;
  static logged a[NPOST], b[NPOST];
  for (int i = 0; i < NPOST; i++) {
    a[i].id = i;
    b[i].id = 10000 + i;
    cgrpc_task_init(&a[i].task, counting_task_cb, &a[i]);
    cgrpc_task_init(&b[i].task, counting_task_cb, &b[i]);
  }
  ck_assert_int_eq(cgrpc_loop_start_thread(loop, NULL), 0);
  poster pa = {.loop = loop, .tasks = a}, pb = {.loop = loop, .tasks = b};
  ck_assert_int_eq(pthread_create(&pa.thread, NULL, poster_main, &pa), 0);
  ck_assert_int_eq(pthread_create(&pb.thread, NULL, poster_main, &pb), 0);
  pthread_join(pa.thread, NULL);
  pthread_join(pb.thread, NULL);
  ck_assert_msg(waiter_wait(&all_ran, 5000), "only %d of %d tasks ran", log_count(), 2 * NPOST);
  cgrpc_loop_stop(loop);
  cgrpc_loop_join(loop);
  ck_assert_int_eq(lg.n, 2 * NPOST);
  int next_a = 0, next_b = 10000;
  for (int i = 0; i < lg.n; i++) {
    if (lg.ids[i] < 10000)
      ck_assert_int_eq(lg.ids[i], next_a++);
    else
      ck_assert_int_eq(lg.ids[i], next_b++);
    ck_assert(lg.on_loop_thread[i]);
  }
  cgrpc_loop_free(loop);
  waiter_destroy(&all_ran);
}
END_TEST

START_TEST(posting_a_task_that_is_already_queued_runs_it_once)
{
  cgrpc_loop *loop = loop_new();
  log_reset(NULL);
  logged t = {.id = 1};
  cgrpc_task_init(&t.task, logged_cb, &t);
  cgrpc_loop_post(loop, &t.task);
  cgrpc_loop_post(loop, &t.task);
  cgrpc_loop_run_once(loop, 0);
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(lg.n, 1);
  cgrpc_loop_free(loop);
}
END_TEST

typedef struct reposter {
  cgrpc_loop *loop;
  cgrpc_task task;
  cgrpc_task *other; /* posted from the callback; self when NULL */
  int runs;
  int max_runs;
} reposter;

static void reposter_cb(void *ud)
{
  reposter *r = ud;
  log_add(-1);
  if (++r->runs < r->max_runs)
    cgrpc_loop_post(r->loop, r->other != NULL ? r->other : &r->task);
}

START_TEST(task_posted_again_while_it_runs_runs_again)
{
  cgrpc_loop *loop = loop_new();
  log_reset(NULL);
  reposter r = {.loop = loop, .other = NULL, .runs = 0, .max_runs = 3};
  cgrpc_task_init(&r.task, reposter_cb, &r);
  cgrpc_loop_post(loop, &r.task);
  for (int i = 0; i < 10 && r.runs < 3; i++)
    cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(r.runs, 3);
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(r.runs, 3);
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(later_tasks_of_a_round_still_run_when_an_earlier_one_posts_one_of_them)
{
  /* t1, t2, t3 are queued; t1's callback posts t2 again.  t3 must still run
   * (and t2 runs a second time), whatever becomes of the round's list. */
  cgrpc_loop *loop = loop_new();
  log_reset(NULL);
  logged t2 = {.id = 2}, t3 = {.id = 3};
  cgrpc_task_init(&t2.task, logged_cb, &t2);
  cgrpc_task_init(&t3.task, logged_cb, &t3);
  reposter t1 = {.loop = loop, .other = &t2.task, .runs = 0, .max_runs = 2};
  cgrpc_task_init(&t1.task, reposter_cb, &t1);
  cgrpc_loop_post(loop, &t1.task);
  cgrpc_loop_post(loop, &t2.task);
  cgrpc_loop_post(loop, &t3.task);
  for (int i = 0; i < 5; i++)
    cgrpc_loop_run_once(loop, 0);
  cgrpc_loop_free(loop);
  int saw[4] = {0, 0, 0, 0};
  for (int i = 0; i < lg.n; i++)
    saw[lg.ids[i] < 0 ? 1 : lg.ids[i]]++;
  ck_assert_int_eq(saw[1], 1);
  ck_assert_msg(saw[3] == 1, "t3 ran %d times", saw[3]);
  ck_assert_msg(saw[2] >= 1, "t2 ran %d times", saw[2]);
}
END_TEST

/* ---- deferred tasks and fds ---------------------------------------------------------- */

typedef struct round_probe {
  cgrpc_loop *loop;
  cgrpc_loop_fd h;
  int fds[2];
  logged deferred;
  logged deferred_again;
  logged posted;
  logged timer;
  int deferred_twice;
} round_probe;

enum { EV_FD = 100, EV_POSTED = 101, EV_TIMER = 102, EV_DEFERRED = 103, EV_DEFERRED2 = 104 };

static void probe_fd_cb(void *ud, uint32_t events)
{
  round_probe *p = ud;
  ck_assert(events & EPOLLIN);
  char c;
  ck_assert_int_eq(read(p->fds[0], &c, 1), 1);
  log_add(EV_FD);
  cgrpc_loop_defer(p->loop, &p->deferred.task);
  cgrpc_loop_defer(p->loop, &p->deferred.task); /* already queued: once */
  cgrpc_loop_post(p->loop, &p->posted.task);
}

static void probe_deferred_cb(void *ud)
{
  round_probe *p = ud;
  log_add(EV_DEFERRED);
  if (!p->deferred_twice) {
    p->deferred_twice = 1;
    cgrpc_loop_defer(p->loop, &p->deferred_again.task); /* in the same round */
  }
}

START_TEST(deferred_tasks_run_after_the_events_posted_tasks_and_timers_of_the_round)
{
  cgrpc_loop *loop = loop_new();
  log_reset(NULL);
  round_probe p = {.loop = loop, .deferred_twice = 0};
  ck_assert_int_eq(pipe(p.fds), 0);
  p.deferred_again.id = EV_DEFERRED2;
  p.posted.id = EV_POSTED;
  p.timer.id = EV_TIMER;
  cgrpc_task_init(&p.deferred.task, probe_deferred_cb, &p);
  cgrpc_task_init(&p.deferred_again.task, logged_cb, &p.deferred_again);
  cgrpc_task_init(&p.posted.task, logged_cb, &p.posted);
  cgrpc_timer_init(&p.timer.timer, logged_cb, &p.timer);
  ck_assert_int_eq(cgrpc_loop_add_fd(loop, &p.h, p.fds[0], EPOLLIN, probe_fd_cb, &p), 0);
  ck_assert_int_eq(cgrpc_loop_timer_start(loop, &p.timer.timer, cgrpc_now() - MS), 0);
  ck_assert_int_eq(write(p.fds[1], "x", 1), 1);
  cgrpc_loop_run_once(loop, 1000);
  static const int want[] = {EV_FD, EV_POSTED, EV_TIMER, EV_DEFERRED, EV_DEFERRED2};
  ck_assert_int_eq(lg.n, 5);
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(lg.ids[i], want[i]);
  cgrpc_loop_del_fd(loop, &p.h);
  close(p.fds[0]);
  close(p.fds[1]);
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(deferring_a_task_that_is_already_queued_runs_it_once)
{
  cgrpc_loop *loop = loop_new();
  log_reset(NULL);
  logged t = {.id = 9};
  cgrpc_task_init(&t.task, logged_cb, &t);
  cgrpc_loop_defer(loop, &t.task);
  cgrpc_loop_defer(loop, &t.task);
  cgrpc_loop_run_once(loop, 0);
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(lg.n, 1);
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(a_pending_deferred_task_keeps_the_round_from_blocking)
{
  cgrpc_loop *loop = loop_new();
  log_reset(NULL);
  logged t = {.id = 9};
  cgrpc_task_init(&t.task, logged_cb, &t);
  cgrpc_loop_defer(loop, &t.task);
  cgrpc_time start = cgrpc_now();
  cgrpc_loop_run_once(loop, 5000);
  ck_assert_int_eq(lg.n, 1);
  ck_assert_msg(cgrpc_now() - start < 2000 * MS, "waited although work was pending");
  cgrpc_loop_free(loop);
}
END_TEST

typedef struct fd_pair {
  cgrpc_loop *loop;
  cgrpc_loop_fd h[2];
  int fds[2][2];
  int calls[2];
} fd_pair;

static void fd_pair_cb(fd_pair *p, int me)
{
  p->calls[me]++;
  /* Whichever runs first removes the other, whose event is pending. */
  cgrpc_loop_del_fd(p->loop, &p->h[1 - me]);
}

static void fd_pair_cb0(void *ud, uint32_t events)
{
  fd_pair_cb(ud, 0);
}

static void fd_pair_cb1(void *ud, uint32_t events)
{
  fd_pair_cb(ud, 1);
}

START_TEST(fd_removed_from_another_fd_callback_gets_no_pending_event)
{
  cgrpc_loop *loop = loop_new();
  fd_pair p = {.loop = loop, .calls = {0, 0}};
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(pipe(p.fds[i]), 0);
    ck_assert_int_eq(write(p.fds[i][1], "x", 1), 1);
  }
  ck_assert_int_eq(cgrpc_loop_add_fd(loop, &p.h[0], p.fds[0][0], EPOLLIN, fd_pair_cb0, &p), 0);
  ck_assert_int_eq(cgrpc_loop_add_fd(loop, &p.h[1], p.fds[1][0], EPOLLIN, fd_pair_cb1, &p), 0);
  cgrpc_loop_run_once(loop, 1000);
  ck_assert_int_eq(p.calls[0] + p.calls[1], 1);
  int survivor = p.calls[0] ? 0 : 1;
  cgrpc_loop_run_once(loop, 0); /* still readable: level-triggered */
  ck_assert_int_eq(p.calls[survivor], 2);
  ck_assert_int_eq(p.calls[1 - survivor], 0);
  cgrpc_loop_del_fd(loop, &p.h[survivor]);
  for (int i = 0; i < 2; i++) {
    close(p.fds[i][0]);
    close(p.fds[i][1]);
  }
  cgrpc_loop_free(loop);
}
END_TEST

typedef struct writable {
  cgrpc_loop *loop;
  cgrpc_loop_fd h;
  int fds[2];
  uint32_t last;
  int calls;
} writable;

static void writable_cb(void *ud, uint32_t events)
{
  writable *w = ud;
  w->last = events;
  w->calls++;
}

START_TEST(fd_interest_can_be_changed)
{
  cgrpc_loop *loop = loop_new();
  writable w = {.loop = loop, .calls = 0};
  ck_assert_int_eq(pipe(w.fds), 0);
  ck_assert_int_eq(cgrpc_loop_add_fd(loop, &w.h, w.fds[1], 0, writable_cb, &w), 0);
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(w.calls, 0);
  ck_assert_int_eq(cgrpc_loop_mod_fd(loop, &w.h, EPOLLOUT), 0);
  cgrpc_loop_run_once(loop, 1000);
  ck_assert_int_eq(w.calls, 1);
  ck_assert(w.last & EPOLLOUT);
  ck_assert_int_eq(cgrpc_loop_mod_fd(loop, &w.h, EPOLLOUT), 0); /* unchanged: no-op */
  ck_assert_int_eq(cgrpc_loop_mod_fd(loop, &w.h, 0), 0);
  cgrpc_loop_run_once(loop, 0);
  ck_assert_int_eq(w.calls, 1);
  cgrpc_loop_del_fd(loop, &w.h);
  close(w.fds[0]);
  close(w.fds[1]);
  cgrpc_loop_free(loop);
}
END_TEST

/* ---- running and stopping --------------------------------------------------------------- */

typedef struct stop_later {
  cgrpc_loop *loop;
  logged task;
  pthread_t thread;
} stop_later;

static void *stop_later_main(void *arg)
{
  stop_later *s = arg;
  sleep_ms(20);
  cgrpc_loop_post(s->loop, &s->task.task);
  cgrpc_loop_stop(s->loop);
  return NULL;
}

START_TEST(run_returns_when_stopped_from_another_thread_after_running_what_was_posted)
{
  cgrpc_loop *loop = loop_new();
  log_reset(loop);
  stop_later s = {.loop = loop, .task = {.id = 5}};
  cgrpc_task_init(&s.task.task, logged_cb, &s.task);
  ck_assert_int_eq(pthread_create(&s.thread, NULL, stop_later_main, &s), 0);
  cgrpc_loop_run(loop); /* returns once stopped */
  pthread_join(s.thread, NULL);
  ck_assert_int_eq(lg.n, 1);
  ck_assert_int_eq(lg.ids[0], 5);
  ck_assert(lg.on_loop_thread[0]); /* this thread, while it ran the loop */
  ck_assert(!cgrpc_loop_on_thread(loop));
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(loop_thread_stops_and_joins)
{
  cgrpc_loop *loop = loop_new();
  ck_assert_int_eq(cgrpc_loop_start_thread(loop, "unit-loop"), 0);
  ck_assert_int_eq(cgrpc_loop_start_thread(loop, "unit-loop"), CGRPC_ERR_STATE);
  sleep_ms(5);
  cgrpc_loop_stop(loop);
  cgrpc_loop_join(loop);
  cgrpc_loop_join(loop); /* a second join is harmless */
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(stop_before_run_makes_run_return_at_once)
{
  cgrpc_loop *loop = loop_new();
  cgrpc_loop_stop(loop);
  cgrpc_time start = cgrpc_now();
  cgrpc_loop_run(loop);
  ck_assert(cgrpc_now() - start < 2000 * MS);
  cgrpc_loop_free(loop);
}
END_TEST

START_TEST(free_accepts_null)
{
  cgrpc_loop_free(NULL);
}
END_TEST

START_TEST(read_buffer_is_64_kib_and_the_same_every_time)
{
  cgrpc_loop *loop = loop_new();
  size_t n1 = 0, n2 = 0;
  uint8_t *b1 = cgrpc_loop_read_buffer(loop, &n1);
  uint8_t *b2 = cgrpc_loop_read_buffer(loop, &n2);
  ck_assert_uint_eq(n1, 64 * 1024);
  ck_assert_ptr_eq(b1, b2);
  memset(b1, 0, n1);
  cgrpc_loop_free(loop);
}
END_TEST

Suite *loop_suite(void)
{
  Suite *s = suite_create("loop");
  TCase *tc = tcase_create("timers");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, due_timers_fire_in_deadline_order);
  tcase_add_test(tc, future_timers_fire_in_deadline_order);
  tcase_add_test(tc, timer_fires_no_earlier_than_its_deadline);
  tcase_add_test(tc, run_once_returns_by_its_timeout_when_nothing_happens);
  tcase_add_test(tc, stopped_timer_never_fires);
  tcase_add_test(tc, timer_stopped_by_an_earlier_timer_of_the_same_round_does_not_fire);
  tcase_add_test(tc, stopping_an_unarmed_timer_is_harmless);
  tcase_add_test(tc, rearming_moves_the_deadline_and_fires_once);
  tcase_add_test(tc, timer_can_rearm_itself_from_its_callback);
  tcase_add_test(tc, many_timers_with_stops_and_rearms_fire_in_order);
  suite_add_tcase(s, tc);

  tc = tcase_create("tasks");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, tasks_posted_from_another_thread_run_on_the_loop_thread_in_fifo_order);
  tcase_add_test(tc, tasks_from_two_threads_each_keep_their_order);
  tcase_add_test(tc, posting_a_task_that_is_already_queued_runs_it_once);
  tcase_add_test(tc, task_posted_again_while_it_runs_runs_again);
  tcase_add_test(tc, later_tasks_of_a_round_still_run_when_an_earlier_one_posts_one_of_them);
  suite_add_tcase(s, tc);

  tc = tcase_create("rounds and fds");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, deferred_tasks_run_after_the_events_posted_tasks_and_timers_of_the_round);
  tcase_add_test(tc, deferring_a_task_that_is_already_queued_runs_it_once);
  tcase_add_test(tc, a_pending_deferred_task_keeps_the_round_from_blocking);
  tcase_add_test(tc, fd_removed_from_another_fd_callback_gets_no_pending_event);
  tcase_add_test(tc, fd_interest_can_be_changed);
  suite_add_tcase(s, tc);

  tc = tcase_create("running");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, run_returns_when_stopped_from_another_thread_after_running_what_was_posted);
  tcase_add_test(tc, loop_thread_stops_and_joins);
  tcase_add_test(tc, stop_before_run_makes_run_return_at_once);
  tcase_add_test(tc, free_accepts_null);
  tcase_add_test(tc, read_buffer_is_64_kib_and_the_same_every_time);
  suite_add_tcase(s, tc);
  return s;
}

UNIT_MAIN(loop_suite)
