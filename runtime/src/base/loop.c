/* The event loop: epoll for fds, a binary heap for timers, an eventfd to wake it from other threads. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/loop.h"

#define LOOP_MAX_EVENTS 64
#define LOOP_READ_BUFFER (64 * 1024)

struct cgrpc_loop {
  cgrpc_allocator alloc;
  int epfd;
  int wakefd;
  cgrpc_loop_fd wake_h;

  /* Timers: a min-heap on when. */
  cgrpc_timer **heap;
  size_t nheap;
  size_t heap_cap;

  /* Tasks from any thread, FIFO, under mu. */
  pthread_mutex_t mu;
  cgrpc_queue posted;
  int wake_pending; /* an eventfd write is outstanding; under mu */
  int stop;         /* under mu */

  /* Deferred tasks, loop thread only. */
  cgrpc_queue deferred;

  /* The batch of events being dispatched (so del_fd can drop stale ones). */
  struct epoll_event *events;
  int nevents;

  pthread_t thread;
  int has_thread;
  pthread_t running_on; /* valid while running */
  int running;

  uint8_t read_buf[LOOP_READ_BUFFER];
};

static void loop_wake_cb(void *ud, uint32_t events)
{
  cgrpc_loop *loop = ud;
  uint64_t v;
  (void)events;
  while (read(loop->wakefd, &v, sizeof v) > 0)
    ;
}

int cgrpc_loop_new(cgrpc_loop **out, const cgrpc_allocator *alloc)
{
  cgrpc_allocator a;
  cgrpc_alloc_init(&a, alloc);
  cgrpc_loop *loop = cgrpc_calloc(&a, 1, sizeof *loop);
  if (loop == NULL)
    return CGRPC_ERR_NOMEM;
  loop->alloc = a;
  loop->epfd = epoll_create1(EPOLL_CLOEXEC);
  loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->epfd < 0 || loop->wakefd < 0)
    goto fail;
  pthread_mutex_init(&loop->mu, NULL);
  loop->running = 0;
  loop->running_on = pthread_self(); /* overwritten when it runs */
  if (cgrpc_loop_add_fd(loop, &loop->wake_h, loop->wakefd, EPOLLIN, loop_wake_cb, loop) != 0) {
    pthread_mutex_destroy(&loop->mu);
    goto fail;
  }
  *out = loop;
  return 0;
fail:
  if (loop->epfd >= 0)
    close(loop->epfd);
  if (loop->wakefd >= 0)
    close(loop->wakefd);
  cgrpc_free(&a, loop);
  return CGRPC_ERR_SYSTEM;
}

void cgrpc_loop_free(cgrpc_loop *loop)
{
  if (loop == NULL)
    return;
  cgrpc_loop_join(loop);
  close(loop->wakefd);
  close(loop->epfd);
  pthread_mutex_destroy(&loop->mu);
  cgrpc_free(&loop->alloc, loop->heap);
  cgrpc_free(&loop->alloc, loop);
}

/* ---- fds ----------------------------------------------------------------- */

int cgrpc_loop_add_fd(cgrpc_loop *loop, cgrpc_loop_fd *h, int fd, uint32_t events,
                      cgrpc_loop_fd_cb cb, void *user_data)
{
  struct epoll_event ev = {.events = events, .data.ptr = h};
  h->fd = fd;
  h->events = events;
  h->cb = cb;
  h->user_data = user_data;
  return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : CGRPC_ERR_SYSTEM;
}

int cgrpc_loop_mod_fd(cgrpc_loop *loop, cgrpc_loop_fd *h, uint32_t events)
{
  if (h->events == events)
    return 0;
  struct epoll_event ev = {.events = events, .data.ptr = h};
  h->events = events;
  return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, h->fd, &ev) == 0 ? 0 : CGRPC_ERR_SYSTEM;
}

void cgrpc_loop_del_fd(cgrpc_loop *loop, cgrpc_loop_fd *h)
{
  epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
  for (int i = 0; i < loop->nevents; i++)
    if (loop->events[i].data.ptr == h)
      loop->events[i].data.ptr = NULL;
}

/* ---- timers ---------------------------------------------------------------- */

void cgrpc_timer_init(cgrpc_timer *t, cgrpc_timer_cb cb, void *user_data)
{
  t->when = 0;
  t->heap_index = SIZE_MAX;
  t->cb = cb;
  t->user_data = user_data;
}

static void heap_set(cgrpc_loop *loop, size_t i, cgrpc_timer *t)
{
  loop->heap[i] = t;
  t->heap_index = i;
}

static void heap_up(cgrpc_loop *loop, size_t i)
{
  cgrpc_timer *t = loop->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (loop->heap[parent]->when <= t->when)
      break;
    heap_set(loop, i, loop->heap[parent]);
    i = parent;
  }
  heap_set(loop, i, t);
}

static void heap_down(cgrpc_loop *loop, size_t i)
{
  cgrpc_timer *t = loop->heap[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= loop->nheap)
      break;
    if (child + 1 < loop->nheap && loop->heap[child + 1]->when < loop->heap[child]->when)
      child++;
    if (t->when <= loop->heap[child]->when)
      break;
    heap_set(loop, i, loop->heap[child]);
    i = child;
  }
  heap_set(loop, i, t);
}

void cgrpc_loop_timer_stop(cgrpc_loop *loop, cgrpc_timer *t)
{
  size_t i = t->heap_index;
  if (i == SIZE_MAX)
    return;
  t->heap_index = SIZE_MAX;
  cgrpc_timer *last = loop->heap[--loop->nheap];
  if (i == loop->nheap)
    return;
  heap_set(loop, i, last);
  heap_up(loop, i);
  heap_down(loop, last->heap_index);
}

int cgrpc_loop_timer_start(cgrpc_loop *loop, cgrpc_timer *t, cgrpc_time when)
{
  cgrpc_loop_timer_stop(loop, t);
  if (loop->nheap == loop->heap_cap) {
    size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
    cgrpc_timer **h = cgrpc_realloc(&loop->alloc, loop->heap, cap * sizeof *h);
    if (h == NULL)
      return CGRPC_ERR_NOMEM;
    loop->heap = h;
    loop->heap_cap = cap;
  }
  t->when = when;
  heap_set(loop, loop->nheap++, t);
  heap_up(loop, t->heap_index);
  return 0;
}

static void loop_run_timers(cgrpc_loop *loop)
{
  if (loop->nheap == 0)
    return;
  cgrpc_time now = cgrpc_now();
  while (loop->nheap > 0 && loop->heap[0]->when <= now) {
    cgrpc_timer *t = loop->heap[0];
    cgrpc_loop_timer_stop(loop, t);
    t->cb(t->user_data);
  }
}

/* ---- tasks ---------------------------------------------------------------------- */

void cgrpc_task_init(cgrpc_task *t, cgrpc_task_cb cb, void *user_data)
{
  t->node.next = NULL;
  t->cb = cb;
  t->user_data = user_data;
  t->queued = 0;
}

int cgrpc_loop_post(cgrpc_loop *loop, cgrpc_task *t)
{
  int wake = 0, queued = 0;
  pthread_mutex_lock(&loop->mu);
  if (!t->queued) {
    queued = 1;
    t->queued = 1;
    cgrpc_queue_push(&loop->posted, &t->node);
    if (!loop->wake_pending) {
      loop->wake_pending = 1;
      wake = 1;
    }
  }
  pthread_mutex_unlock(&loop->mu);
  if (wake && !cgrpc_loop_on_thread(loop)) {
    uint64_t one = 1;
    ssize_t n = write(loop->wakefd, &one, sizeof one);
    (void)n; /* a full counter still wakes the loop */
  }
  return queued;
}

int cgrpc_loop_any_queued(cgrpc_loop *loop, const cgrpc_task *const *tasks, size_t n)
{
  int queued = 0;
  pthread_mutex_lock(&loop->mu);
  for (size_t i = 0; i < n && !queued; i++)
    queued = tasks[i]->queued;
  pthread_mutex_unlock(&loop->mu);
  return queued;
}

int cgrpc_loop_defer(cgrpc_loop *loop, cgrpc_task *t)
{
  if (t->queued)
    return 0;
  t->queued = 1;
  cgrpc_queue_push(&loop->deferred, &t->node);
  return 1;
}

/* Runs the tasks posted so far (not those posted while they run: those
 * wait for the next round).  Each is taken off the queue, under the lock,
 * just before it runs, so posting it again from anywhere is safe. */
static void loop_run_posted(cgrpc_loop *loop)
{
  pthread_mutex_lock(&loop->mu);
  cgrpc_qnode *last = loop->posted.tail;
  loop->wake_pending = 0;
  while (last != NULL && !cgrpc_queue_empty(&loop->posted)) {
    cgrpc_qnode *n = cgrpc_queue_pop(&loop->posted);
    cgrpc_task *t = cgrpc_queue_entry(n, cgrpc_task, node);
    t->queued = 0;
    pthread_mutex_unlock(&loop->mu);
    t->cb(t->user_data);
    pthread_mutex_lock(&loop->mu);
    if (n == last)
      break;
  }
  pthread_mutex_unlock(&loop->mu);
}

static void loop_run_deferred(cgrpc_loop *loop)
{
  while (!cgrpc_queue_empty(&loop->deferred)) {
    cgrpc_task *t = cgrpc_queue_entry(cgrpc_queue_pop(&loop->deferred), cgrpc_task, node);
    t->queued = 0;
    t->cb(t->user_data);
  }
}

/* ---- running ------------------------------------------------------------------------ */

static int loop_timeout_ms(cgrpc_loop *loop, int max_ms)
{
  if (!cgrpc_queue_empty(&loop->deferred))
    return 0;
  pthread_mutex_lock(&loop->mu);
  int posted = !cgrpc_queue_empty(&loop->posted);
  pthread_mutex_unlock(&loop->mu);
  if (posted)
    return 0; /* posted from this thread, which writes no wake-up */
  if (loop->nheap == 0)
    return max_ms;
  cgrpc_time delta = loop->heap[0]->when - cgrpc_now();
  if (delta <= 0)
    return 0;
  int64_t ms = (delta + 999999) / 1000000;
  if (max_ms >= 0 && ms > max_ms)
    return max_ms;
  return ms > 3600000 ? 3600000 : (int)ms;
}

void cgrpc_loop_run_once(cgrpc_loop *loop, int timeout_ms)
{
  struct epoll_event events[LOOP_MAX_EVENTS];
  int n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, loop_timeout_ms(loop, timeout_ms));
  if (n < 0)
    n = 0; /* EINTR */
  loop->events = events;
  loop->nevents = n;
  for (int i = 0; i < n; i++) {
    cgrpc_loop_fd *h = events[i].data.ptr;
    if (h != NULL)
      h->cb(h->user_data, events[i].events);
  }
  loop->events = NULL;
  loop->nevents = 0;
  loop_run_posted(loop);
  loop_run_timers(loop);
  loop_run_deferred(loop);
}

void cgrpc_loop_run(cgrpc_loop *loop)
{
  loop->running_on = pthread_self();
  __atomic_store_n(&loop->running, 1, __ATOMIC_RELEASE);
  for (;;) {
    pthread_mutex_lock(&loop->mu);
    int stop = loop->stop;
    pthread_mutex_unlock(&loop->mu);
    if (stop)
      break;
    cgrpc_loop_run_once(loop, -1);
  }
  /* Whatever was posted before the stop still runs, and whatever that posts. */
  for (;;) {
    pthread_mutex_lock(&loop->mu);
    int posted = !cgrpc_queue_empty(&loop->posted);
    pthread_mutex_unlock(&loop->mu);
    if (!posted && cgrpc_queue_empty(&loop->deferred))
      break;
    loop_run_posted(loop);
    loop_run_deferred(loop);
  }
  __atomic_store_n(&loop->running, 0, __ATOMIC_RELEASE);
}

static void *loop_thread_main(void *arg)
{
  cgrpc_loop_run(arg);
  return NULL;
}

int cgrpc_loop_start_thread(cgrpc_loop *loop, const char *name)
{
  if (loop->has_thread)
    return CGRPC_ERR_STATE;
  if (pthread_create(&loop->thread, NULL, loop_thread_main, loop) != 0)
    return CGRPC_ERR_SYSTEM;
  if (name != NULL)
    pthread_setname_np(loop->thread, name);
  loop->has_thread = 1;
  return 0;
}

void cgrpc_loop_join(cgrpc_loop *loop)
{
  if (!loop->has_thread)
    return;
  pthread_join(loop->thread, NULL);
  loop->has_thread = 0;
}

void cgrpc_loop_stop(cgrpc_loop *loop)
{
  pthread_mutex_lock(&loop->mu);
  loop->stop = 1;
  pthread_mutex_unlock(&loop->mu);
  uint64_t one = 1;
  ssize_t n = write(loop->wakefd, &one, sizeof one);
  (void)n;
}

int cgrpc_loop_on_thread(const cgrpc_loop *loop)
{
  return __atomic_load_n(&loop->running, __ATOMIC_ACQUIRE) &&
         pthread_equal(loop->running_on, pthread_self());
}

uint8_t *cgrpc_loop_read_buffer(cgrpc_loop *loop, size_t *size)
{
  *size = sizeof loop->read_buf;
  return loop->read_buf;
}
