/* Internal: a pool of threads that run tasks (server handlers): it starts with min threads
 * and grows by one whenever a task comes and no thread is idle, up to max.
 *
 * Tasks wait in lanes (one per connection, say), and the threads take from the lanes in turn:
 * a source that queues a hundred tasks delays another's by one task, not a hundred. */
#ifndef CGRPC_WORKERS_H
#define CGRPC_WORKERS_H

#include "base/list.h"
#include "base/loop.h"

typedef struct cgrpc_workers cgrpc_workers;

/* A lane of tasks, owned by the one who submits (it must be empty when freed: cancel what it
 * holds, or cgrpc_workers_lane_leave).  Used with one pool. */
typedef struct cgrpc_workers_lane {
  cgrpc_queue tasks;
  cgrpc_list node; /* in the pool's turn while tasks wait */
} cgrpc_workers_lane;

void cgrpc_workers_lane_init(cgrpc_workers_lane *lane);
/* Moves what still waits in lane to the pool's own lane (it still runs), so lane can go. */
void cgrpc_workers_lane_leave(cgrpc_workers *w, cgrpc_workers_lane *lane);

/* Starts min threads (0 <= min <= max, max >= 1), named name.  Returns 0, CGRPC_ERR_NOMEM or
 * CGRPC_ERR_SYSTEM. */
int cgrpc_workers_new(cgrpc_workers **out, const char *name, int min, int max,
                      const cgrpc_allocator *alloc);
/* Queues t in lane (NULL: the pool's own); one of the threads runs it, a new one if none is
 * idle and the pool may grow.  Returns 1 when t has to wait for a busy thread (the pool is at
 * max), else 0.  Any thread. */
int cgrpc_workers_submit(cgrpc_workers *w, cgrpc_task *t, cgrpc_workers_lane *lane);
/* Takes t out of lane (as submitted) if no thread has picked it up yet.  Returns 1 when it did
 * (t will not run), 0 otherwise. */
int cgrpc_workers_cancel(cgrpc_workers *w, cgrpc_task *t, cgrpc_workers_lane *lane);
/* How many threads the pool has now. */
int cgrpc_workers_size(cgrpc_workers *w);
/* Runs what is queued, then stops and joins the threads.  NULL-safe. */
void cgrpc_workers_free(cgrpc_workers *w);

#endif
