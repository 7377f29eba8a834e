/* Internal: an intrusive doubly-linked list. */
#ifndef CGRPC_LIST_H
#define CGRPC_LIST_H

#include <stddef.h>

typedef struct cgrpc_list {
  struct cgrpc_list *prev;
  struct cgrpc_list *next;
} cgrpc_list;

static inline void cgrpc_list_init(cgrpc_list *l)
{
  l->prev = l->next = l;
}

static inline int cgrpc_list_empty(const cgrpc_list *l)
{
  return l->next == l;
}

/* Nonzero when node is in some list (nodes are init'ed when removed). */
static inline int cgrpc_list_linked(const cgrpc_list *node)
{
  return node->next != node && node->next != NULL;
}

static inline void cgrpc_list_push_back(cgrpc_list *l, cgrpc_list *node)
{
  node->prev = l->prev;
  node->next = l;
  l->prev->next = node;
  l->prev = node;
}

static inline void cgrpc_list_remove(cgrpc_list *node)
{
  node->prev->next = node->next;
  node->next->prev = node->prev;
  cgrpc_list_init(node);
}

#define cgrpc_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
