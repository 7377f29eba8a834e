/* Internal: an intrusive FIFO queue (singly linked, O(1) push and pop), the one queue every
 * part of the runtime uses: embed a cgrpc_qnode in what is queued. */
#ifndef CGRPC_QUEUE_H
#define CGRPC_QUEUE_H

#include <stddef.h>

typedef struct cgrpc_qnode {
  struct cgrpc_qnode *next;
} cgrpc_qnode;

typedef struct cgrpc_queue {
  cgrpc_qnode *head;
  cgrpc_qnode *tail;
} cgrpc_queue;

static inline void cgrpc_queue_init(cgrpc_queue *q)
{
  q->head = q->tail = NULL;
}

static inline int cgrpc_queue_empty(const cgrpc_queue *q)
{
  return q->head == NULL;
}

static inline void cgrpc_queue_push(cgrpc_queue *q, cgrpc_qnode *n)
{
  n->next = NULL;
  if (q->tail != NULL)
    q->tail->next = n;
  else
    q->head = n;
  q->tail = n;
}

/* The first node, taken off the queue; NULL when empty. */
static inline cgrpc_qnode *cgrpc_queue_pop(cgrpc_queue *q)
{
  cgrpc_qnode *n = q->head;
  if (n != NULL) {
    q->head = n->next;
    if (q->head == NULL)
      q->tail = NULL;
    n->next = NULL;
  }
  return n;
}

/* Moves every node of src to the end of dst; src is left empty. */
static inline void cgrpc_queue_move(cgrpc_queue *dst, cgrpc_queue *src)
{
  if (src->head == NULL)
    return;
  if (dst->tail != NULL)
    dst->tail->next = src->head;
  else
    dst->head = src->head;
  dst->tail = src->tail;
  src->head = src->tail = NULL;
}

/* Takes n out of q wherever it is (a walk: for rare removals).  Returns 1 when it was there. */
static inline int cgrpc_queue_remove(cgrpc_queue *q, cgrpc_qnode *n)
{
  cgrpc_qnode *prev = NULL;
  for (cgrpc_qnode *p = q->head; p != NULL; prev = p, p = p->next) {
    if (p != n)
      continue;
    if (prev != NULL)
      prev->next = p->next;
    else
      q->head = p->next;
    if (q->tail == p)
      q->tail = prev;
    p->next = NULL;
    return 1;
  }
  return 0;
}

#define cgrpc_queue_entry(node, type, member) \
  ((type *)(void *)((char *)(node)-offsetof(type, member)))

#endif
