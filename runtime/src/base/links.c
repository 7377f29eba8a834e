/* Parent and child calls: cancelling the parent cancels the children. */
#include <pthread.h>

#include "base/links.h"

static pthread_mutex_t links_mu = PTHREAD_MUTEX_INITIALIZER;

void cgrpc_link_parent_init(cgrpc_link_parent *p, cgrpc_time deadline)
{
  cgrpc_list_init(&p->children);
  p->cancelled = 0;
  p->linked = 0;
  p->deadline = deadline;
}

int cgrpc_link_add(cgrpc_link_parent *p, cgrpc_link_child *child)
{
  __atomic_store_n(&p->linked, 1, __ATOMIC_RELEASE);
  pthread_mutex_lock(&links_mu);
  /* Read under the lock: a cancel after this sees the child in the list. */
  int cancelled = cgrpc_link_cancelled(p);
  if (!cancelled)
    cgrpc_list_push_back(&p->children, &child->node);
  pthread_mutex_unlock(&links_mu);
  return cancelled;
}

void cgrpc_link_remove(cgrpc_link_child *child)
{
  pthread_mutex_lock(&links_mu);
  if (cgrpc_list_linked(&child->node))
    cgrpc_list_remove(&child->node);
  pthread_mutex_unlock(&links_mu);
}

int cgrpc_link_cancel(cgrpc_link_parent *p)
{
  if (__atomic_exchange_n(&p->cancelled, 1, __ATOMIC_ACQ_REL))
    return 0;
  pthread_mutex_lock(&links_mu);
  for (cgrpc_list *n = p->children.next; n != &p->children; n = n->next) {
    cgrpc_link_child *c = cgrpc_container_of(n, cgrpc_link_child, node);
    c->cancel(c);
  }
  pthread_mutex_unlock(&links_mu);
  return 1;
}

void cgrpc_link_parent_release(cgrpc_link_parent *p)
{
  if (!__atomic_load_n(&p->linked, __ATOMIC_ACQUIRE))
    return;
  pthread_mutex_lock(&links_mu);
  while (!cgrpc_list_empty(&p->children))
    cgrpc_list_remove(p->children.next);
  pthread_mutex_unlock(&links_mu);
}
