/* The handler thread pool: a FIFO of tasks under one mutex; threads sleep on a condition. */
#include <pthread.h>

#include "alloc.h"
#include "workers.h"

struct cgrpc_workers {
  cgrpc_allocator alloc;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  cgrpc_task *head;
  cgrpc_task *tail;
  int stop;
  int idle; /* threads waiting */
  int nthreads;
  pthread_t *threads;
};

static void *workers_main(void *arg)
{
  cgrpc_workers *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->head == NULL && !w->stop) {
      w->idle++;
      pthread_cond_wait(&w->cond, &w->mu);
      w->idle--;
    }
    cgrpc_task *t = w->head;
    if (t == NULL)
      break; /* stopping and drained */
    w->head = t->next;
    if (w->head == NULL)
      w->tail = NULL;
    t->queued = 0;
    pthread_mutex_unlock(&w->mu);
    t->cb(t->user_data);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int cgrpc_workers_new(cgrpc_workers **out, int n, const cgrpc_allocator *alloc)
{
  cgrpc_workers *w = cgrpc_calloc(alloc, 1, sizeof *w);
  if (w == NULL)
    return CGRPC_ERR_NOMEM;
  w->alloc = *alloc;
  w->threads = cgrpc_calloc(alloc, (size_t)n, sizeof *w->threads);
  if (w->threads == NULL) {
    cgrpc_free(alloc, w);
    return CGRPC_ERR_NOMEM;
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cond, NULL);
  for (int i = 0; i < n; i++) {
    if (pthread_create(&w->threads[i], NULL, workers_main, w) != 0) {
      cgrpc_workers_free(w);
      return CGRPC_ERR_SYSTEM;
    }
    pthread_setname_np(w->threads[i], "cgrpc-handler");
    w->nthreads++;
  }
  *out = w;
  return 0;
}

void cgrpc_workers_submit(cgrpc_workers *w, cgrpc_task *t)
{
  pthread_mutex_lock(&w->mu);
  t->next = NULL;
  t->queued = 1;
  if (w->tail != NULL)
    w->tail->next = t;
  else
    w->head = t;
  w->tail = t;
  int wake = w->idle > 0;
  pthread_mutex_unlock(&w->mu);
  if (wake)
    pthread_cond_signal(&w->cond);
}

int cgrpc_workers_cancel(cgrpc_workers *w, cgrpc_task *t)
{
  int found = 0;
  pthread_mutex_lock(&w->mu);
  for (cgrpc_task **p = &w->head, *prev = NULL; *p != NULL; prev = *p, p = &(*p)->next) {
    if (*p == t) {
      *p = t->next;
      if (w->tail == t)
        w->tail = prev;
      t->queued = 0;
      found = 1;
      break;
    }
  }
  pthread_mutex_unlock(&w->mu);
  return found;
}

void cgrpc_workers_free(cgrpc_workers *w)
{
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->mu);
  for (int i = 0; i < w->nthreads; i++)
    pthread_join(w->threads[i], NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mu);
  cgrpc_allocator a = w->alloc;
  cgrpc_free(&a, w->threads);
  cgrpc_free(&a, w);
}
