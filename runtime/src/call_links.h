/* Internal: outgoing calls made on behalf of an incoming one (cgrpc_call_options_set_parent):
 * cancelling the incoming call cancels them.  One process-wide lock guards every link,
 * since either end may go away first, on any thread. */
#ifndef CGRPC_CALL_LINKS_H
#define CGRPC_CALL_LINKS_H

#include "list.h"

typedef struct cgrpc_call cgrpc_call;
typedef struct cgrpc_server_call cgrpc_server_call;

/* Links child to parent.  Returns 0, or 1 when the parent is cancelled already (the child
 * is not linked and should be cancelled). */
int cgrpc_links_add(cgrpc_list *parent_children, const int *parent_cancelled,
                    cgrpc_list *child_node);
/* Unlinks a child (its call ended or is freed); nothing if not linked. */
void cgrpc_links_remove(cgrpc_list *child_node);
/* The parent is cancelled: cancel every linked child (each stays linked until it ends). */
void cgrpc_links_cancel_children(cgrpc_list *parent_children);
/* The parent is going away: unlink every child. */
void cgrpc_links_orphan_children(cgrpc_list *parent_children);

#endif
