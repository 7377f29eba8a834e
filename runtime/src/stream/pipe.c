/* A call's message queues between application threads and the loop, with backpressure both ways. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "stream/pipe.h"
#include "wire/frame.h"
#include "wire/message.h"

typedef struct cgrpc_pipe_msg {
  cgrpc_qnode node;
  void *msg;      /* NULL: still compressed, in raw (the reader decodes it) */
  size_t size;    /* what it costs here, for the receive budget */
  int compressed; /* it arrived compressed */
  int encoding;   /* raw's grpc-encoding */
  size_t raw_len;
  uint8_t raw[];
} cgrpc_pipe_msg;

static void pipe_msg_free(cgrpc_pipe *p, cgrpc_pipe_msg *m)
{
  if (m->msg != NULL)
    p->free_msg(m->msg, p->free_user_data);
  cgrpc_free(p->alloc, m);
}

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
  cgrpc_budget_give(p->out_budget, p->out_taken);
  for (cgrpc_qnode *n; (n = cgrpc_queue_pop(&p->out)) != NULL;)
    cgrpc_free(p->alloc, cgrpc_queue_entry(n, cgrpc_buf, node));
  for (cgrpc_qnode *n; (n = cgrpc_queue_pop(&p->in)) != NULL;)
    pipe_msg_free(p, cgrpc_queue_entry(n, cgrpc_pipe_msg, node));
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->mu);
}

/* ---- application side ---- */

/* Under mu: waits (block) for room to write.  Returns 0, CGRPC_ERR_CLOSED or CGRPC_ERR_AGAIN. */
static int pipe_wait_room(cgrpc_pipe *p, int block)
{
  while (block && !p->over && !p->out_closed && !p->out_stopped && p->out_bytes >= p->out_limit)
    pthread_cond_wait(&p->cond, &p->mu);
  if (p->over || p->out_closed || p->out_stopped)
    return CGRPC_ERR_CLOSED;
  if (p->out_bytes >= p->out_limit) {
    p->want_send_ready = 1;
    return CGRPC_ERR_AGAIN;
  }
  return 0;
}

int cgrpc_pipe_write(cgrpc_pipe *p, cgrpc_buf *b, int block)
{
  pthread_mutex_lock(&p->mu);
  int rv = pipe_wait_room(p, block);
  if (rv == 0) {
    /* One message always fits, however large: the limit bounds what waits. */
    cgrpc_queue_push(&p->out, &b->node);
    p->out_bytes += b->len;
  }
  pthread_mutex_unlock(&p->mu);
  return rv;
}

/* How often a writer waiting for the connection's budget looks whether its call is over. */
#define PIPE_BUDGET_POLL_MS 50

static int pipe_out_shut(void *user_data)
{
  cgrpc_pipe *p = user_data;
  pthread_mutex_lock(&p->mu);
  int shut = p->over || p->out_closed || p->out_stopped;
  pthread_mutex_unlock(&p->mu);
  return shut;
}

int cgrpc_pipe_write_message(cgrpc_pipe *p, const ProtobufCMessage *msg, int encoding, int64_t max,
                             int block)
{
  /* Room first, then the encoding: a writer held back by a slow peer holds no copy. */
  pthread_mutex_lock(&p->mu);
  int rv = pipe_wait_room(p, block);
  pthread_mutex_unlock(&p->mu);
  if (rv != 0)
    return rv;
  size_t need = 0; /* of out_budget: the message framed, before compression */
  size_t len = SIZE_MAX;
  if (block && p->out_budget != NULL) {
    len = protobuf_c_message_get_packed_size(msg);
    need = CGRPC_FRAME_PREFIX + len;
    if (cgrpc_budget_take(p->out_budget, need, PIPE_BUDGET_POLL_MS, pipe_out_shut, p) != 0)
      return CGRPC_ERR_CLOSED;
  }
  cgrpc_buf *b = cgrpc_message_encode(p->alloc, msg, len, encoding, max, &rv);
  if (b == NULL) {
    cgrpc_budget_give(p->out_budget, need);
    return rv;
  }
  size_t keep = b->len < need ? b->len : need;
  rv = cgrpc_pipe_write(p, b, block);
  if (rv != 0) {
    cgrpc_free(p->alloc, b);
    keep = 0;
  } else {
    pthread_mutex_lock(&p->mu);
    p->out_taken += keep;
    pthread_mutex_unlock(&p->mu);
  }
  cgrpc_budget_give(p->out_budget, need - keep);
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
  if (compressed != NULL)
    *compressed = m->compressed;
  *msg = m->msg;
  int rv = 1;
  if (m->msg == NULL) {
    /* Inflated here, on the reader's thread, one message at a time. */
    char why[sizeof p->fail_why];
    cgrpc_code code = p->decode(p->free_user_data, m->encoding, m->raw, m->raw_len, msg, why,
                                sizeof why);
    if (code != CGRPC_STATUS_OK) {
      pthread_mutex_lock(&p->mu);
      if (p->fail_code == CGRPC_STATUS_OK) {
        p->fail_code = code;
        memcpy(p->fail_why, why, sizeof why);
      }
      pthread_mutex_unlock(&p->mu);
      rv = CGRPC_ERR_PROTO;
    }
  }
  cgrpc_free(p->alloc, m);
  return rv;
}

cgrpc_code cgrpc_pipe_read_failure(cgrpc_pipe *p, char *why, size_t why_len)
{
  pthread_mutex_lock(&p->mu);
  cgrpc_code code = p->fail_code;
  snprintf(why, why_len, "%s", p->fail_why);
  pthread_mutex_unlock(&p->mu);
  return code;
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
  size_t give = n < p->out_taken ? n : p->out_taken;
  p->out_taken -= give;
  int ready = 0;
  if (was_full && p->out_bytes < p->out_limit) {
    pthread_cond_broadcast(&p->cond);
    ready = p->want_send_ready;
    p->want_send_ready = 0;
  }
  pthread_mutex_unlock(&p->mu);
  cgrpc_budget_give(p->out_budget, give);
  return ready;
}

/* Queues m (or frees it when the call is over). */
static int pipe_push(cgrpc_pipe *p, cgrpc_pipe_msg *m)
{
  pthread_mutex_lock(&p->mu);
  if (p->over) {
    pthread_mutex_unlock(&p->mu);
    pipe_msg_free(p, m);
    return 0;
  }
  size_t size = m->size;
  cgrpc_queue_push(&p->in, &m->node);
  p->in_bytes += size;
  int full = p->in_bytes >= p->in_limit;
  if (full)
    p->in_paused = 1;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->mu);
  return full ? CGRPC_FRAME_PAUSE : 0;
}

int cgrpc_pipe_deliver(cgrpc_pipe *p, void *msg, size_t size, int compressed)
{
  cgrpc_pipe_msg *m = cgrpc_malloc(p->alloc, sizeof *m);
  if (m == NULL) {
    p->free_msg(msg, p->free_user_data);
    return CGRPC_ERR_NOMEM; /* the call must end: a message is lost */
  }
  m->msg = msg;
  m->size = size;
  m->compressed = compressed;
  return pipe_push(p, m);
}

int cgrpc_pipe_deliver_compressed(cgrpc_pipe *p, const uint8_t *bytes, size_t len, int encoding)
{
  cgrpc_pipe_msg *m = cgrpc_malloc(p->alloc, sizeof *m + len);
  if (m == NULL)
    return CGRPC_ERR_NOMEM;
  m->msg = NULL;
  m->size = CGRPC_FRAME_PREFIX + len; /* as it came: its inflated size is the reader's cost */
  m->compressed = 1;
  m->encoding = encoding;
  m->raw_len = len;
  memcpy(m->raw, bytes, len);
  return pipe_push(p, m);
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
