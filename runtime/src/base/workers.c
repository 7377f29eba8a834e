/* The handler thread pools: lanes of tasks taken in turn, under one mutex; threads sleep on a
 * condition, and a pool below its maximum starts another thread when a task finds none idle.
 * A lane at its cap leaves the turn (its tasks do not count as waiting for a thread) until one
 * of its running tasks ends. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/workers.h"

typedef struct cgrpc_workers cgrpc_workers;

/* A thread, and the lane of the task it runs (NULL once that lane has left). */
typedef struct workers_thread {
  cgrpc_workers *w;
  pthread_t id;
  cgrpc_workers_lane *lane;
} workers_thread;

struct cgrpc_workers {
  cgrpc_allocator alloc;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  cgrpc_list turn; /* lanes with tasks waiting, the next to be served first */
  cgrpc_workers_lane own; /* tasks submitted without a lane, and those of lanes that left */
  int stop;
  int idle;    /* threads waiting for a task */
  int waiting; /* tasks queued in lanes below their cap, not yet picked up */
  int nthreads;
  int max;
  workers_thread *threads; /* max of them */
  char name[16];
};

/* After a change to lane's tasks or running count: those of its tasks that may run (all, or
 * as many as its cap leaves room for) count as waiting for a thread, and it takes its turn
 * while there are any.  Under mu. */
static void lane_settle(cgrpc_workers *w, cgrpc_workers_lane *lane)
{
  int counted = lane->nqueued;
  if (lane->cap > 0 && counted > lane->cap - lane->running)
    counted = lane->cap > lane->running ? lane->cap - lane->running : 0;
  int open = counted > 0;
  w->waiting += counted - lane->counted;
  lane->counted = counted;
  if (open && !cgrpc_list_linked(&lane->node))
    cgrpc_list_push_back(&w->turn, &lane->node);
  else if (!open && cgrpc_list_linked(&lane->node))
    cgrpc_list_remove(&lane->node);
}

/* Starts up to most threads for the tasks that wait while none is idle (threads just started
 * are not idle yet: most is what has newly come to wait).  Under mu.  Returns 1 when one it
 * needed could not start (the pool is at max): a task waits for a busy thread. */
static int workers_staff(cgrpc_workers *w, int most);

static void *workers_main(void *arg)
{
  workers_thread *self = arg;
  cgrpc_workers *w = self->w;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (cgrpc_list_empty(&w->turn) && !w->stop) {
      w->idle++;
      pthread_cond_wait(&w->cond, &w->mu);
      w->idle--;
    }
    if (cgrpc_list_empty(&w->turn))
      break; /* stopping and drained */
    /* The lane whose turn it is gives one task, and goes to the back if it has more. */
    cgrpc_workers_lane *lane = cgrpc_container_of(w->turn.next, cgrpc_workers_lane, node);
    cgrpc_qnode *n = cgrpc_queue_pop(&lane->tasks);
    cgrpc_list_remove(&lane->node);
    lane->nqueued--;
    lane->running++;
    lane_settle(w, lane); /* to the back of the turn if it has more, and room */
    cgrpc_task *t = cgrpc_queue_entry(n, cgrpc_task, node);
    t->queued = 0;
    self->lane = lane;
    pthread_mutex_unlock(&w->mu);
    t->cb(t->user_data);
    pthread_mutex_lock(&w->mu);
    if (self->lane != NULL) { /* its lane may have left meanwhile */
      self->lane->running--;
      lane_settle(w, self->lane); /* its next task, if it waited for the cap: this thread's */
      self->lane = NULL;
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Starts one more thread.  Under mu.  Returns 0 or CGRPC_ERR_SYSTEM. */
static int workers_grow(cgrpc_workers *w)
{
  workers_thread *t = &w->threads[w->nthreads];
  t->w = w;
  t->lane = NULL;
  if (pthread_create(&t->id, NULL, workers_main, t) != 0)
    return CGRPC_ERR_SYSTEM;
  pthread_setname_np(t->id, w->name);
  w->nthreads++;
  return 0;
}

static int workers_staff(cgrpc_workers *w, int most)
{
  /* Every waiting task needs a thread of its own unless one frees up. */
  int short_of = w->waiting - w->idle;
  for (; short_of > 0 && most > 0; short_of--, most--)
    if (w->nthreads >= w->max || workers_grow(w) != 0)
      return 1;
  return 0;
}

int cgrpc_workers_new(cgrpc_workers **out, const char *name, int min, int max,
                      const cgrpc_allocator *alloc)
{
  cgrpc_workers *w = cgrpc_calloc(alloc, 1, sizeof *w);
  if (w == NULL)
    return CGRPC_ERR_NOMEM;
  w->alloc = *alloc;
  w->max = max;
  snprintf(w->name, sizeof w->name, "%s", name);
  w->threads = cgrpc_calloc(alloc, (size_t)max, sizeof *w->threads);
  if (w->threads == NULL) {
    cgrpc_free(alloc, w);
    return CGRPC_ERR_NOMEM;
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cond, NULL);
  cgrpc_list_init(&w->turn);
  cgrpc_workers_lane_init(&w->own, 0);
  pthread_mutex_lock(&w->mu);
  int rv = 0;
  while (rv == 0 && w->nthreads < min)
    rv = workers_grow(w);
  pthread_mutex_unlock(&w->mu);
  if (rv != 0) {
    cgrpc_workers_free(w);
    return rv;
  }
  *out = w;
  return 0;
}

void cgrpc_workers_lane_init(cgrpc_workers_lane *lane, int cap)
{
  memset(lane, 0, sizeof *lane);
  cgrpc_queue_init(&lane->tasks);
  cgrpc_list_init(&lane->node);
  lane->cap = cap;
}

void cgrpc_workers_lane_leave(cgrpc_workers *w, cgrpc_workers_lane *lane)
{
  pthread_mutex_lock(&w->mu);
  int wake = 0;
  if (lane->nqueued > 0) {
    cgrpc_queue_move(&w->own.tasks, &lane->tasks);
    int held = lane->nqueued - lane->counted;
    w->own.nqueued += lane->nqueued;
    lane->nqueued = 0;
    lane_settle(w, lane);
    lane_settle(w, &w->own); /* what waited for the lane's cap waits for a thread now */
    workers_staff(w, held);
    wake = 1;
  }
  for (int i = 0; i < w->nthreads; i++)
    if (w->threads[i].lane == lane)
      w->threads[i].lane = NULL;
  pthread_mutex_unlock(&w->mu);
  if (wake)
    pthread_cond_broadcast(&w->cond);
}

int cgrpc_workers_submit(cgrpc_workers *w, cgrpc_task *t, cgrpc_workers_lane *lane)
{
  if (lane == NULL)
    lane = &w->own;
  pthread_mutex_lock(&w->mu);
  t->queued = 1;
  cgrpc_queue_push(&lane->tasks, &t->node);
  lane->nqueued++;
  lane_settle(w, lane);
  int wait = 0;
  if (lane->counted < lane->nqueued) /* t, the last, is past what the cap lets run */
    wait = CGRPC_WORKERS_WAITS_LANE;
  else if (workers_staff(w, 1))
    wait = CGRPC_WORKERS_WAITS_POOL;
  int wake = w->idle > 0;
  pthread_mutex_unlock(&w->mu);
  if (wake)
    pthread_cond_signal(&w->cond);
  return wait;
}

int cgrpc_workers_cancel(cgrpc_workers *w, cgrpc_task *t, cgrpc_workers_lane *lane)
{
  if (lane == NULL)
    lane = &w->own;
  pthread_mutex_lock(&w->mu);
  /* A lane that left handed its tasks to the pool's own. */
  cgrpc_workers_lane *from = NULL;
  if (cgrpc_queue_remove(&lane->tasks, &t->node))
    from = lane;
  else if (lane != &w->own && cgrpc_queue_remove(&w->own.tasks, &t->node))
    from = &w->own;
  int found = from != NULL;
  if (found) {
    t->queued = 0;
    from->nqueued--;
    lane_settle(w, from);
  }
  pthread_mutex_unlock(&w->mu);
  return found;
}

int cgrpc_workers_size(cgrpc_workers *w)
{
  pthread_mutex_lock(&w->mu);
  int n = w->nthreads;
  pthread_mutex_unlock(&w->mu);
  return n;
}

void cgrpc_workers_free(cgrpc_workers *w)
{
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_broadcast(&w->cond);
  int n = w->nthreads;
  pthread_mutex_unlock(&w->mu);
  for (int i = 0; i < n; i++)
    pthread_join(w->threads[i].id, NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mu);
  cgrpc_allocator a = w->alloc;
  cgrpc_free(&a, w->threads);
  cgrpc_free(&a, w);
}
