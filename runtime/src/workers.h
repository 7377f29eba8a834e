/* Internal: a fixed pool of threads that run server handlers. */
#ifndef CGRPC_WORKERS_H
#define CGRPC_WORKERS_H

#include "loop.h"

typedef struct cgrpc_workers cgrpc_workers;

/* Starts n threads.  Returns 0, CGRPC_ERR_NOMEM or CGRPC_ERR_SYSTEM. */
int cgrpc_workers_new(cgrpc_workers **out, int n, const cgrpc_allocator *alloc);
/* Queues t; one of the threads runs it.  Any thread. */
void cgrpc_workers_submit(cgrpc_workers *w, cgrpc_task *t);
/* Takes t out of the queue if no thread has picked it up yet.  Returns 1
 * when it did (t will not run), 0 otherwise. */
int cgrpc_workers_cancel(cgrpc_workers *w, cgrpc_task *t);
/* Runs what is queued, then stops and joins the threads.  NULL-safe. */
void cgrpc_workers_free(cgrpc_workers *w);

#endif
