/* Outgoing calls linked to the incoming call they serve: cancellation flows down. */
#include <pthread.h>

#include "call_links.h"
#include "client_call.h"

static pthread_mutex_t links_mu = PTHREAD_MUTEX_INITIALIZER;

int cgrpc_links_add(cgrpc_list *parent_children, const int *parent_cancelled,
                    cgrpc_list *child_node)
{
  pthread_mutex_lock(&links_mu);
  /* Read under the lock: a cancel after this sees the child in the list. */
  int cancelled = __atomic_load_n(parent_cancelled, __ATOMIC_ACQUIRE);
  if (!cancelled)
    cgrpc_list_push_back(parent_children, child_node);
  pthread_mutex_unlock(&links_mu);
  return cancelled;
}

void cgrpc_links_remove(cgrpc_list *child_node)
{
  pthread_mutex_lock(&links_mu);
  if (cgrpc_list_linked(child_node))
    cgrpc_list_remove(child_node);
  pthread_mutex_unlock(&links_mu);
}

void cgrpc_links_cancel_children(cgrpc_list *parent_children)
{
  pthread_mutex_lock(&links_mu);
  for (cgrpc_list *n = parent_children->next; n != parent_children; n = n->next)
    cgrpc_call_cancel(cgrpc_container_of(n, cgrpc_call, parent_node)); /* posts; never blocks */
  pthread_mutex_unlock(&links_mu);
}

void cgrpc_links_orphan_children(cgrpc_list *parent_children)
{
  pthread_mutex_lock(&links_mu);
  while (!cgrpc_list_empty(parent_children))
    cgrpc_list_remove(parent_children->next);
  pthread_mutex_unlock(&links_mu);
}
