/* The handler thread pools: lanes of tasks taken in turn, under one mutex; threads sleep on a
 * condition, and a pool below its maximum starts another thread when a task finds none idle. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/workers.h"

struct cgrpc_workers {
  cgrpc_allocator alloc;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  cgrpc_list turn; /* lanes with tasks waiting, the next to be served first */
  cgrpc_workers_lane own; /* tasks submitted without a lane, and those of lanes that left */
  int stop;
  int idle;    /* threads waiting for a task */
  int waiting; /* tasks queued and not yet picked up */
  int nthreads;
  int max;
  pthread_t *threads; /* max of them */
  char name[16];
};

static void *workers_main(void *arg)
{
  cgrpc_workers *w = arg;
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
    if (!cgrpc_queue_empty(&lane->tasks))
      cgrpc_list_push_back(&w->turn, &lane->node);
    w->waiting--;
    cgrpc_task *t = cgrpc_queue_entry(n, cgrpc_task, node);
    t->queued = 0;
    pthread_mutex_unlock(&w->mu);
    t->cb(t->user_data);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Starts one more thread.  Under mu.  Returns 0 or CGRPC_ERR_SYSTEM. */
static int workers_grow(cgrpc_workers *w)
{
  if (pthread_create(&w->threads[w->nthreads], NULL, workers_main, w) != 0)
    return CGRPC_ERR_SYSTEM;
  pthread_setname_np(w->threads[w->nthreads], w->name);
  w->nthreads++;
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
  cgrpc_workers_lane_init(&w->own);
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

void cgrpc_workers_lane_init(cgrpc_workers_lane *lane)
{
  cgrpc_queue_init(&lane->tasks);
  cgrpc_list_init(&lane->node);
}

void cgrpc_workers_lane_leave(cgrpc_workers *w, cgrpc_workers_lane *lane)
{
  pthread_mutex_lock(&w->mu);
  if (cgrpc_list_linked(&lane->node)) {
    cgrpc_list_remove(&lane->node);
    cgrpc_queue_move(&w->own.tasks, &lane->tasks);
    if (!cgrpc_list_linked(&w->own.node))
      cgrpc_list_push_back(&w->turn, &w->own.node);
  }
  pthread_mutex_unlock(&w->mu);
}

int cgrpc_workers_submit(cgrpc_workers *w, cgrpc_task *t, cgrpc_workers_lane *lane)
{
  if (lane == NULL)
    lane = &w->own;
  pthread_mutex_lock(&w->mu);
  t->queued = 1;
  cgrpc_queue_push(&lane->tasks, &t->node);
  if (!cgrpc_list_linked(&lane->node))
    cgrpc_list_push_back(&w->turn, &lane->node);
  w->waiting++;
  /* Every queued task needs a thread of its own unless one frees up. */
  int short_of = w->waiting - w->idle;
  int wait = 0;
  if (short_of > 0 && (w->nthreads >= w->max || workers_grow(w) != 0))
    wait = 1;
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
  int found = cgrpc_queue_remove(&lane->tasks, &t->node) ||
              (lane != &w->own && cgrpc_queue_remove(&w->own.tasks, &t->node));
  if (found) {
    t->queued = 0;
    w->waiting--;
    if (cgrpc_queue_empty(&lane->tasks) && cgrpc_list_linked(&lane->node))
      cgrpc_list_remove(&lane->node);
    if (cgrpc_queue_empty(&w->own.tasks) && cgrpc_list_linked(&w->own.node))
      cgrpc_list_remove(&w->own.node);
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
    pthread_join(w->threads[i], NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mu);
  cgrpc_allocator a = w->alloc;
  cgrpc_free(&a, w->threads);
  cgrpc_free(&a, w);
}
