/* Internal: the event loop (epoll): fd readiness, timers, and tasks posted from other threads. */
#ifndef CGRPC_LOOP_H
#define CGRPC_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

#include <cgrpc/common.h>

#include "base/queue.h"

typedef struct cgrpc_loop cgrpc_loop;

/* A watched fd.  Embedded in its owner; the loop never allocates one. */
typedef void (*cgrpc_loop_fd_cb)(void *user_data, uint32_t events);
typedef struct cgrpc_loop_fd {
  int fd;
  uint32_t events;
  cgrpc_loop_fd_cb cb;
  void *user_data;
} cgrpc_loop_fd;

/* A one-shot timer, embedded in its owner. */
typedef void (*cgrpc_timer_cb)(void *user_data);
typedef struct cgrpc_timer {
  cgrpc_time when;
  size_t heap_index; /* SIZE_MAX when not armed */
  cgrpc_timer_cb cb;
  void *user_data;
} cgrpc_timer;

/* A unit of work run on the loop thread, embedded in its owner.  It may be
 * queued again once it has started running. */
typedef void (*cgrpc_task_cb)(void *user_data);
typedef struct cgrpc_task {
  cgrpc_qnode node;
  cgrpc_task_cb cb;
  void *user_data;
  int queued; /* owned by the loop */
} cgrpc_task;

int cgrpc_loop_new(cgrpc_loop **out, const cgrpc_allocator *alloc);
/* Joins the thread if one was started.  Every fd must be removed first. */
void cgrpc_loop_free(cgrpc_loop *loop);

/* Runs the loop on a new thread until cgrpc_loop_stop. */
int cgrpc_loop_start_thread(cgrpc_loop *loop, const char *name);
/* Waits for the loop's thread to end (after cgrpc_loop_stop). */
void cgrpc_loop_join(cgrpc_loop *loop);
/* Runs until cgrpc_loop_stop, on this thread. */
void cgrpc_loop_run(cgrpc_loop *loop);
/* One round: waits up to timeout_ms (-1: until something happens) for
 * events, then runs what is due.  For tests and user-driven loops. */
void cgrpc_loop_run_once(cgrpc_loop *loop, int timeout_ms);
/* Makes cgrpc_loop_run return.  Any thread. */
void cgrpc_loop_stop(cgrpc_loop *loop);
/* Nonzero on the thread running the loop. */
int cgrpc_loop_on_thread(const cgrpc_loop *loop);

/* Loop thread only. */
int cgrpc_loop_add_fd(cgrpc_loop *loop, cgrpc_loop_fd *h, int fd, uint32_t events,
                      cgrpc_loop_fd_cb cb, void *user_data);
int cgrpc_loop_mod_fd(cgrpc_loop *loop, cgrpc_loop_fd *h, uint32_t events);
/* Safe from inside an fd callback: pending events for h are dropped. */
void cgrpc_loop_del_fd(cgrpc_loop *loop, cgrpc_loop_fd *h);

/* Timers, loop thread only. */
void cgrpc_timer_init(cgrpc_timer *t, cgrpc_timer_cb cb, void *user_data);
/* (Re)arms t for the absolute time when.  Returns 0 or CGRPC_ERR_NOMEM. */
int cgrpc_loop_timer_start(cgrpc_loop *loop, cgrpc_timer *t, cgrpc_time when);
void cgrpc_loop_timer_stop(cgrpc_loop *loop, cgrpc_timer *t);
static inline int cgrpc_timer_armed(const cgrpc_timer *t)
{
  return t->heap_index != SIZE_MAX;
}

void cgrpc_task_init(cgrpc_task *t, cgrpc_task_cb cb, void *user_data);
/* Queues t to run on the loop thread.  Any thread.  Does nothing if t is
 * already queued (posted or deferred) and has not started yet.  Returns 1
 * when it queued t, 0 when t was queued already (an owner that holds a
 * reference per queued task takes one only on 1). */
int cgrpc_loop_post(cgrpc_loop *loop, cgrpc_task *t);
/* Nonzero while one of the n tasks waits to run.  Any thread. */
int cgrpc_loop_any_queued(cgrpc_loop *loop, const cgrpc_task *const *tasks, size_t n);
/* Loop thread only: runs t after the events of this round (used to write
 * once per round however many frames were queued).  Returns as post. */
int cgrpc_loop_defer(cgrpc_loop *loop, cgrpc_task *t);

/* A 64 KiB buffer for reading sockets, shared by every connection of the
 * loop: input is always consumed before the next read. */
uint8_t *cgrpc_loop_read_buffer(cgrpc_loop *loop, size_t *size);

#endif
