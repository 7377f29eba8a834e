/* Internal: byte buffers in a FIFO -- what goes out on a stream: messages queued whole and
 * taken a piece at a time, as HTTP/2 flow control lets them go. */
#ifndef CGRPC_BUFQ_H
#define CGRPC_BUFQ_H

#include <stdint.h>

#include <cgrpc/common.h>

#include "base/queue.h"

typedef struct cgrpc_buf {
  cgrpc_qnode node;
  const uint8_t *data;
  size_t len;
  size_t off; /* taken so far */
  int resent; /* queued again (a client retry): its first taking was counted already */
} cgrpc_buf;

/* A buffer with room for len bytes right after it (data points there), from alloc; one
 * cgrpc_free frees both.  NULL when out of memory. */
cgrpc_buf *cgrpc_buf_new(const cgrpc_allocator *alloc, size_t len);

/* Points b at len bytes kept elsewhere (an inline request or response). */
void cgrpc_buf_wrap(cgrpc_buf *b, const uint8_t *data, size_t len);

typedef struct cgrpc_bufq cgrpc_bufq;

struct cgrpc_bufq {
  cgrpc_queue q;
  size_t bytes; /* not yet taken */
  /* Optional: gets each buffer once all of it was taken, or when it is dropped. */
  void (*done)(cgrpc_bufq *q, cgrpc_buf *b);
};

void cgrpc_bufq_init(cgrpc_bufq *q, void (*done)(cgrpc_bufq *q, cgrpc_buf *b));
void cgrpc_bufq_push(cgrpc_bufq *q, cgrpc_buf *b);
/* Copies n bytes (n <= q->bytes) to dst, handing finished buffers to done. */
void cgrpc_bufq_take(cgrpc_bufq *q, uint8_t *dst, size_t n);
/* Drops what was not taken, handing each buffer to done. */
void cgrpc_bufq_drop(cgrpc_bufq *q);

#endif
