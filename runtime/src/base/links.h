/* Internal: cancellation flowing down from a call to the calls made on its behalf
 * (deadline propagation).  The parent knows its children only as nodes with a cancel
 * callback, so a server call needs nothing of the client.  One process-wide lock guards
 * every link: either end may go away first, on any thread. */
#ifndef CGRPC_LINKS_H
#define CGRPC_LINKS_H

#include <cgrpc/common.h>

#include "base/list.h"

typedef struct cgrpc_link_child cgrpc_link_child;

struct cgrpc_link_child {
  cgrpc_list node;
  /* Cancels the child: runs under the links lock, so it must only post work, never block
   * or take the child's own locks. */
  void (*cancel)(cgrpc_link_child *child);
};

typedef struct cgrpc_link_parent {
  cgrpc_list children;
  int cancelled;       /* atomic: set once, by cgrpc_link_cancel */
  int linked;          /* atomic: a child has been linked once (releasing needs the lock) */
  cgrpc_time deadline; /* what the children's deadlines are bounded by */
} cgrpc_link_parent;

void cgrpc_link_parent_init(cgrpc_link_parent *p, cgrpc_time deadline);

/* Links child under p.  Returns 0, or 1 when p is cancelled already (the child is not
 * linked and should cancel itself). */
int cgrpc_link_add(cgrpc_link_parent *p, cgrpc_link_child *child);

/* Unlinks child (its call ended or is freed); nothing if it is not linked. */
void cgrpc_link_remove(cgrpc_link_child *child);

/* Cancels p: every linked child's cancel runs (each stays linked until it unlinks
 * itself).  Returns 1 the first time, 0 when p was cancelled already. */
int cgrpc_link_cancel(cgrpc_link_parent *p);

static inline int cgrpc_link_cancelled(const cgrpc_link_parent *p)
{
  return __atomic_load_n(&p->cancelled, __ATOMIC_ACQUIRE);
}

/* p goes away: unlinks every child still linked. */
void cgrpc_link_parent_release(cgrpc_link_parent *p);

#endif
