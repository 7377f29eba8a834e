/* A byte budget several threads share (budget.h). */
#include <time.h>

#include "base/budget.h"

cgrpc_budget *cgrpc_budget_new(const cgrpc_allocator *alloc, size_t limit)
{
  cgrpc_budget *b = cgrpc_calloc(alloc, 1, sizeof *b);
  if (b == NULL)
    return NULL;
  pthread_mutex_init(&b->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&b->cond, &ca);
  pthread_condattr_destroy(&ca);
  b->limit = limit;
  b->refs = 1;
  b->alloc = *alloc;
  return b;
}

cgrpc_budget *cgrpc_budget_ref(cgrpc_budget *b)
{
  if (b != NULL)
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
  return b;
}

void cgrpc_budget_unref(cgrpc_budget *b)
{
  if (b == NULL || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) > 0)
    return;
  pthread_cond_destroy(&b->cond);
  pthread_mutex_destroy(&b->mu);
  cgrpc_allocator a = b->alloc;
  cgrpc_free(&a, b);
}

int cgrpc_budget_take(cgrpc_budget *b, size_t n, int poll_ms, int (*stop)(void *user_data),
                      void *user_data)
{
  pthread_mutex_lock(&b->mu);
  while (b->used > 0 && b->used + n > b->limit) {
    if (stop(user_data)) {
      pthread_mutex_unlock(&b->mu);
      return -1;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)poll_ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    int rv = pthread_cond_timedwait(&b->cond, &b->mu, &until);
    (void)rv; /* woken, timed out or spurious: look again */
  }
  b->used += n;
  pthread_mutex_unlock(&b->mu);
  return 0;
}

void cgrpc_budget_give(cgrpc_budget *b, size_t n)
{
  if (b == NULL || n == 0)
    return;
  pthread_mutex_lock(&b->mu);
  b->used = n < b->used ? b->used - n : 0;
  pthread_mutex_unlock(&b->mu);
  pthread_cond_broadcast(&b->cond);
}
