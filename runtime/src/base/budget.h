/* Internal: a byte budget several threads share, for what one peer may make us hold at once. */
#ifndef CGRPC_BUDGET_H
#define CGRPC_BUDGET_H

#include <pthread.h>
#include <stddef.h>

#include "base/alloc.h"

/* At most limit bytes taken at once (one taker may pass it alone: a budget never refuses
 * what is asked of it when nothing else is held).  Reference-counted: whoever holds bytes
 * of it holds a reference too.  Locked: any thread. */
typedef struct cgrpc_budget {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  size_t limit;
  size_t used;
  int refs;
  cgrpc_allocator alloc;
} cgrpc_budget;

/* A budget of limit bytes with one reference.  Returns it, or NULL when out of memory. */
cgrpc_budget *cgrpc_budget_new(const cgrpc_allocator *alloc, size_t limit);
cgrpc_budget *cgrpc_budget_ref(cgrpc_budget *b);
/* Drops a reference; the last frees it.  NULL: nothing. */
void cgrpc_budget_unref(cgrpc_budget *b);

/* Takes n bytes, waiting while they do not fit beside what others hold; every poll_ms the
 * waiter asks stop(user_data) whether to give up.  Returns 0 with n taken, or -1 (stopped,
 * nothing taken). */
int cgrpc_budget_take(cgrpc_budget *b, size_t n, int poll_ms, int (*stop)(void *user_data),
                      void *user_data);
/* Gives back n bytes taken before (all or part of them); none, or a NULL budget: nothing. */
void cgrpc_budget_give(cgrpc_budget *b, size_t n);

#endif
