/* A call's message queues between application threads and the loop, with backpressure both ways. */
#include <string.h>

#include "base/alloc.h"
#include "stream/pipe.h"
#include "wire/frame.h"
#include "wire/message.h"

typedef struct cgrpc_pipe_msg {
  cgrpc_qnode node;
  void *msg;
  size_t size;    /* decoded bytes, for the receive budget */
  int compressed; /* it arrived compressed */
} cgrpc_pipe_msg;

void cgrpc_pipe_init(cgrpc_pipe *p, const cgrpc_allocator *alloc, size_t out_limit, size_t in_limit,
                     void (*free_msg)(void *msg, void *user_data), void *free_user_data)
{
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cond, NULL);
  p->alloc = alloc;
  p->out_limit = out_limit;
  p->in_limit = in_limit;
  p->free_msg = free_msg;
  p->free_user_data = free_user_data;
  cgrpc_queue_init(&p->out);
  cgrpc_queue_init(&p->in);
}

void cgrpc_pipe_clear(cgrpc_pipe *p)
{
  for (cgrpc_qnode *n; (n = cgrpc_queue_pop(&p->out)) != NULL;)
    cgrpc_free(p->alloc, cgrpc_queue_entry(n, cgrpc_buf, node));
  for (cgrpc_qnode *n; (n = cgrpc_queue_pop(&p->in)) != NULL;) {
    cgrpc_pipe_msg *m = cgrpc_queue_entry(n, cgrpc_pipe_msg, node);
    p->free_msg(m->msg, p->free_user_data);
    cgrpc_free(p->alloc, m);
  }
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->mu);
}

/* ---- application side ---- */

int cgrpc_pipe_write(cgrpc_pipe *p, cgrpc_buf *b, int block)
{
  pthread_mutex_lock(&p->mu);
  while (block && !p->over && !p->out_closed && !p->out_stopped && p->out_bytes >= p->out_limit)
    pthread_cond_wait(&p->cond, &p->mu);
  int rv = 0;
  if (p->over || p->out_closed || p->out_stopped) {
    rv = CGRPC_ERR_CLOSED;
  } else if (p->out_bytes >= p->out_limit) {
    p->want_send_ready = 1;
    rv = CGRPC_ERR_AGAIN;
  } else {
    /* One message always fits, however large: the limit bounds what waits. */
    cgrpc_queue_push(&p->out, &b->node);
    p->out_bytes += b->len;
  }
  pthread_mutex_unlock(&p->mu);
  return rv;
}

int cgrpc_pipe_write_message(cgrpc_pipe *p, const ProtobufCMessage *msg, int encoding, int64_t max,
                             int block)
{
  int rv;
  cgrpc_buf *b = cgrpc_message_encode(p->alloc, msg, encoding, max, &rv);
  if (b == NULL)
    return rv;
  rv = cgrpc_pipe_write(p, b, block);
  if (rv != 0)
    cgrpc_free(p->alloc, b);
  return rv;
}

int cgrpc_pipe_close_out(cgrpc_pipe *p)
{
  pthread_mutex_lock(&p->mu);
  int rv = p->over ? CGRPC_ERR_CLOSED : 0;
  p->out_closed = 1;
  pthread_mutex_unlock(&p->mu);
  return rv;
}

int cgrpc_pipe_read(cgrpc_pipe *p, void **msg, int block, int *resume, int *compressed)
{
  *resume = 0;
  pthread_mutex_lock(&p->mu);
  while (block && cgrpc_queue_empty(&p->in) && !p->in_done && !p->over)
    pthread_cond_wait(&p->cond, &p->mu);
  cgrpc_qnode *n = cgrpc_queue_pop(&p->in);
  if (n == NULL) {
    int rv = p->in_done || p->over ? 0 : CGRPC_ERR_AGAIN;
    pthread_mutex_unlock(&p->mu);
    return rv;
  }
  cgrpc_pipe_msg *m = cgrpc_queue_entry(n, cgrpc_pipe_msg, node);
  p->in_bytes -= m->size;
  if (p->in_paused && p->in_bytes < p->in_limit) {
    p->in_paused = 0; /* room again: the loop decodes what waits */
    *resume = 1;
  }
  pthread_mutex_unlock(&p->mu);
  *msg = m->msg;
  if (compressed != NULL)
    *compressed = m->compressed;
  cgrpc_free(p->alloc, m);
  return 1;
}

void cgrpc_pipe_wait_over(cgrpc_pipe *p)
{
  pthread_mutex_lock(&p->mu);
  while (!p->over)
    pthread_cond_wait(&p->cond, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

/* ---- loop side ---- */

void cgrpc_pipe_take_out(cgrpc_pipe *p, cgrpc_queue *into, int *closed)
{
  pthread_mutex_lock(&p->mu);
  cgrpc_queue_move(into, &p->out);
  *closed = p->out_closed;
  pthread_mutex_unlock(&p->mu);
}

int cgrpc_pipe_sent(cgrpc_pipe *p, size_t n)
{
  pthread_mutex_lock(&p->mu);
  int was_full = p->out_bytes >= p->out_limit;
  p->out_bytes -= n;
  int ready = 0;
  if (was_full && p->out_bytes < p->out_limit) {
    pthread_cond_broadcast(&p->cond);
    ready = p->want_send_ready;
    p->want_send_ready = 0;
  }
  pthread_mutex_unlock(&p->mu);
  return ready;
}

int cgrpc_pipe_deliver(cgrpc_pipe *p, void *msg, size_t size, int compressed)
{
  cgrpc_pipe_msg *m = cgrpc_malloc(p->alloc, sizeof *m);
  pthread_mutex_lock(&p->mu);
  if (m == NULL || p->over) {
    pthread_mutex_unlock(&p->mu);
    p->free_msg(msg, p->free_user_data);
    cgrpc_free(p->alloc, m);
    return 0;
  }
  m->msg = msg;
  m->size = size;
  m->compressed = compressed;
  cgrpc_queue_push(&p->in, &m->node);
  p->in_bytes += size;
  int full = p->in_bytes >= p->in_limit;
  if (full)
    p->in_paused = 1;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->mu);
  return full ? CGRPC_FRAME_PAUSE : 0;
}

int cgrpc_pipe_wait_headers(cgrpc_pipe *p)
{
  pthread_mutex_lock(&p->mu);
  while (!p->headers && !p->over)
    pthread_cond_wait(&p->cond, &p->mu);
  int got = p->headers;
  pthread_mutex_unlock(&p->mu);
  return got;
}

void cgrpc_pipe_set_headers(cgrpc_pipe *p)
{
  pthread_mutex_lock(&p->mu);
  p->headers = 1;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->mu);
}

void cgrpc_pipe_stop_out(cgrpc_pipe *p)
{
  pthread_mutex_lock(&p->mu);
  p->out_stopped = 1;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->mu);
}

void cgrpc_pipe_in_done(cgrpc_pipe *p)
{
  pthread_mutex_lock(&p->mu);
  p->in_done = 1;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->mu);
}

void cgrpc_pipe_set_over(cgrpc_pipe *p)
{
  pthread_mutex_lock(&p->mu);
  p->over = 1;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->mu);
}
