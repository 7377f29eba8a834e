/* Internal: a pool of threads that run tasks (server handlers): it starts with min threads
 * and grows by one whenever a task comes and no thread is idle, up to max.
 *
 * Tasks wait in lanes (one per connection, say), and the threads take from the lanes in turn:
 * a source that queues a hundred tasks delays another's by one task, not a hundred.  A lane
 * may also have a cap: the most of its tasks running at once; the rest wait for one of its
 * own to finish, and hold no thread meanwhile. */
#ifndef CGRPC_WORKERS_H
#define CGRPC_WORKERS_H

#include "base/list.h"
#include "base/loop.h"

typedef struct cgrpc_workers cgrpc_workers;

/* A lane of tasks, owned by the one who submits (it must be empty when freed: cancel what it
 * holds, or cgrpc_workers_lane_leave).  Used with one pool. */
typedef struct cgrpc_workers_lane {
  cgrpc_queue tasks;
  cgrpc_list node; /* in the pool's turn while tasks wait and it is below its cap */
  int nqueued;     /* tasks in tasks */
  int counted;     /* of them, how many the pool counts as waiting for a thread */
  int running;     /* its tasks on a thread now */
  int cap;         /* the most running at once; 0: no cap */
} cgrpc_workers_lane;

/* cap: the most of its tasks running at once (0: no cap). */
void cgrpc_workers_lane_init(cgrpc_workers_lane *lane, int cap);
/* Moves what still waits in lane to the pool's own lane (it still runs), so lane can go. */
void cgrpc_workers_lane_leave(cgrpc_workers *w, cgrpc_workers_lane *lane);

/* Starts min threads (0 <= min <= max, max >= 1), named name.  Returns 0, CGRPC_ERR_NOMEM or
 * CGRPC_ERR_SYSTEM. */
int cgrpc_workers_new(cgrpc_workers **out, const char *name, int min, int max,
                      const cgrpc_allocator *alloc);
/* Queues t in lane (NULL: the pool's own); one of the threads runs it, a new one if none is
 * idle and the pool may grow.  Returns CGRPC_WORKERS_WAITS_LANE when t waits because its lane
 * is at its cap, CGRPC_WORKERS_WAITS_POOL when it waits for a busy thread (the pool is at
 * max), else 0.  Any thread. */
#define CGRPC_WORKERS_WAITS_POOL 1
#define CGRPC_WORKERS_WAITS_LANE 2
int cgrpc_workers_submit(cgrpc_workers *w, cgrpc_task *t, cgrpc_workers_lane *lane);
/* Takes t out of lane (as submitted) if no thread has picked it up yet.  Returns 1 when it did
 * (t will not run), 0 otherwise. */
int cgrpc_workers_cancel(cgrpc_workers *w, cgrpc_task *t, cgrpc_workers_lane *lane);
/* How many threads the pool has now. */
int cgrpc_workers_size(cgrpc_workers *w);
/* Runs what is queued, then stops and joins the threads.  NULL-safe. */
void cgrpc_workers_free(cgrpc_workers *w);

#endif
