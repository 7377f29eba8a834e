/* Byte buffers in a FIFO. */
#include <string.h>

#include "base/alloc.h"
#include "base/bufq.h"

cgrpc_buf *cgrpc_buf_new(const cgrpc_allocator *alloc, size_t len)
{
  cgrpc_buf *b = cgrpc_malloc(alloc, sizeof *b + len);
  if (b != NULL)
    cgrpc_buf_wrap(b, (const uint8_t *)(b + 1), len);
  return b;
}

void cgrpc_buf_wrap(cgrpc_buf *b, const uint8_t *data, size_t len)
{
  b->node.next = NULL;
  b->data = data;
  b->len = len;
  b->off = 0;
  b->resent = 0;
}

void cgrpc_bufq_init(cgrpc_bufq *q, void (*done)(cgrpc_bufq *q, cgrpc_buf *b))
{
  cgrpc_queue_init(&q->q);
  q->bytes = 0;
  q->done = done;
}

void cgrpc_bufq_push(cgrpc_bufq *q, cgrpc_buf *b)
{
  cgrpc_queue_push(&q->q, &b->node);
  q->bytes += b->len - b->off;
}

void cgrpc_bufq_take(cgrpc_bufq *q, uint8_t *dst, size_t n)
{
  q->bytes -= n;
  while (n > 0) {
    cgrpc_buf *b = cgrpc_queue_entry(q->q.head, cgrpc_buf, node);
    size_t take = b->len - b->off;
    if (take > n)
      take = n;
    memcpy(dst, b->data + b->off, take);
    dst += take;
    b->off += take;
    n -= take;
    if (b->off == b->len) {
      cgrpc_queue_pop(&q->q);
      if (q->done != NULL)
        q->done(q, b);
    }
  }
}

void cgrpc_bufq_drop(cgrpc_bufq *q)
{
  cgrpc_queue all = q->q;
  cgrpc_queue_init(&q->q);
  q->bytes = 0;
  for (cgrpc_qnode *n; (n = cgrpc_queue_pop(&all)) != NULL;) {
    if (q->done != NULL)
      q->done(q, cgrpc_queue_entry(n, cgrpc_buf, node));
  }
}
