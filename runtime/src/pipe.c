/* A call's message queues between application threads and the loop, with backpressure both ways. */
#include <string.h>

#include "alloc.h"
#include "compress.h"
#include "frame.h"
#include "pipe.h"

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
}

void cgrpc_pipe_clear(cgrpc_pipe *p)
{
  for (cgrpc_sendbuf *b = p->out_head, *next; b != NULL; b = next) {
    next = b->next;
    cgrpc_free(p->alloc, b);
  }
  for (cgrpc_pipe_msg *m = p->in_head, *next; m != NULL; m = next) {
    next = m->next;
    p->free_msg(m->msg, p->free_user_data);
    cgrpc_free(p->alloc, m);
  }
  p->out_head = p->out_tail = NULL;
  p->in_head = p->in_tail = NULL;
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->mu);
}

cgrpc_sendbuf *cgrpc_pipe_buf_new(const cgrpc_allocator *alloc, size_t len)
{
  cgrpc_sendbuf *b = cgrpc_malloc(alloc, sizeof *b + len);
  if (b == NULL)
    return NULL;
  b->next = NULL;
  b->data = (const uint8_t *)(b + 1);
  b->len = len;
  b->off = 0;
  b->resent = 0;
  return b;
}

cgrpc_sendbuf *cgrpc_pipe_buf_message(const cgrpc_allocator *alloc, const ProtobufCMessage *msg,
                                      int encoding, int64_t max, int *err)
{
  size_t len = protobuf_c_message_get_packed_size(msg);
  if (len > UINT32_MAX || (max >= 0 && (int64_t)len > max)) {
    *err = CGRPC_ERR_TOO_LARGE;
    return NULL;
  }
  *err = CGRPC_ERR_NOMEM;
  if (encoding == CGRPC_ENCODING_IDENTITY) {
    cgrpc_sendbuf *b = cgrpc_pipe_buf_new(alloc, CGRPC_FRAME_PREFIX + len);
    if (b != NULL) {
      uint8_t *p = (uint8_t *)b->data;
      cgrpc_frame_write_prefix(p, 0, (uint32_t)len);
      protobuf_c_message_pack(msg, p + CGRPC_FRAME_PREFIX);
    }
    return b;
  }
  /* Serialise, then compress straight into the buffer, after its header. */
  uint8_t small[4096];
  uint8_t *plain = len <= sizeof small ? small : cgrpc_malloc(alloc, len);
  if (plain == NULL)
    return NULL;
  protobuf_c_message_pack(msg, plain);
  uint8_t *mem = NULL;
  size_t mem_len = 0;
  size_t head = sizeof(cgrpc_sendbuf) + CGRPC_FRAME_PREFIX;
  int rv = cgrpc_compress((cgrpc_encoding)encoding, alloc, plain, len, head, &mem, &mem_len);
  if (plain != small)
    cgrpc_free(alloc, plain);
  if (rv != 0 || mem_len - head > UINT32_MAX)
    return NULL;
  cgrpc_sendbuf *b = (cgrpc_sendbuf *)mem;
  b->next = NULL;
  b->data = mem + sizeof(cgrpc_sendbuf);
  b->len = mem_len - sizeof(cgrpc_sendbuf);
  b->off = 0;
  b->resent = 0;
  cgrpc_frame_write_prefix(mem + sizeof(cgrpc_sendbuf), 1, (uint32_t)(mem_len - head));
  return b;
}

/* ---- application side ---- */

int cgrpc_pipe_write(cgrpc_pipe *p, cgrpc_sendbuf *b, int block)
{
  pthread_mutex_lock(&p->mu);
  while (block && !p->over && !p->out_closed && p->out_bytes >= p->out_limit)
    pthread_cond_wait(&p->cond, &p->mu);
  int rv = 0;
  if (p->over || p->out_closed) {
    rv = CGRPC_ERR_CLOSED;
  } else if (p->out_bytes >= p->out_limit) {
    p->want_send_ready = 1;
    rv = CGRPC_ERR_AGAIN;
  } else {
    /* One message always fits, however large: the limit bounds what waits. */
    b->next = NULL;
    if (p->out_tail != NULL)
      p->out_tail->next = b;
    else
      p->out_head = b;
    p->out_tail = b;
    p->out_bytes += b->len;
  }
  pthread_mutex_unlock(&p->mu);
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

int cgrpc_pipe_read(cgrpc_pipe *p, void **msg, int block, int *owe_credit, int *compressed)
{
  *owe_credit = 0;
  pthread_mutex_lock(&p->mu);
  while (block && p->in_head == NULL && !p->in_done && !p->over)
    pthread_cond_wait(&p->cond, &p->mu);
  cgrpc_pipe_msg *m = p->in_head;
  if (m == NULL) {
    int rv = p->in_done || p->over ? 0 : CGRPC_ERR_AGAIN;
    pthread_mutex_unlock(&p->mu);
    return rv;
  }
  p->in_head = m->next;
  if (p->in_head == NULL)
    p->in_tail = NULL;
  p->in_bytes -= m->wire;
  if (p->withheld > 0 && p->in_bytes < p->in_limit) {
    /* Caught up: the window held back goes back to the peer. */
    *owe_credit = p->credit == 0;
    p->credit += p->withheld;
    p->withheld = 0;
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

cgrpc_sendbuf *cgrpc_pipe_take_out(cgrpc_pipe *p, int *closed)
{
  pthread_mutex_lock(&p->mu);
  cgrpc_sendbuf *b = p->out_head;
  p->out_head = p->out_tail = NULL;
  *closed = p->out_closed;
  pthread_mutex_unlock(&p->mu);
  return b;
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

void cgrpc_pipe_deliver(cgrpc_pipe *p, void *msg, size_t wire, int compressed)
{
  cgrpc_pipe_msg *m = cgrpc_malloc(p->alloc, sizeof *m);
  pthread_mutex_lock(&p->mu);
  if (m == NULL || p->over) {
    pthread_mutex_unlock(&p->mu);
    p->free_msg(msg, p->free_user_data);
    cgrpc_free(p->alloc, m);
    return;
  }
  m->next = NULL;
  m->msg = msg;
  m->wire = wire;
  m->compressed = compressed;
  if (p->in_tail != NULL)
    p->in_tail->next = m;
  else
    p->in_head = m;
  p->in_tail = m;
  p->in_bytes += wire;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->mu);
}

size_t cgrpc_pipe_received(cgrpc_pipe *p, size_t bytes)
{
  pthread_mutex_lock(&p->mu);
  size_t now = bytes;
  if (p->in_bytes >= p->in_limit) {
    p->withheld += bytes;
    now = 0;
  }
  pthread_mutex_unlock(&p->mu);
  return now;
}

size_t cgrpc_pipe_take_credit(cgrpc_pipe *p)
{
  pthread_mutex_lock(&p->mu);
  size_t c = p->credit;
  p->credit = 0;
  pthread_mutex_unlock(&p->mu);
  return c;
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
