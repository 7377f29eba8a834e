/* The extension API (cgrpc/extension.h): what optional parts need of a server call. */
#include <cgrpc/extension.h>

#include "server/server_call.h"
#include "wire/metadata_internal.h"

void cgrpc_server_call_attach(cgrpc_server_call *call, const void *kind, void *data,
                              void (*free_fn)(void *data))
{
  cgrpc_server_attachment *a = call->attachments;
  while (a != NULL && a->kind != kind)
    a = a->next;
  if (a == NULL) {
    a = cgrpc_arena_alloc(&call->arena, sizeof *a);
    if (a == NULL) {
      if (free_fn != NULL)
        free_fn(data);
      return;
    }
    a->next = call->attachments;
    a->kind = kind;
    a->free_fn = NULL;
    call->attachments = a;
  }
  if (a->free_fn != NULL)
    a->free_fn(a->data);
  a->data = data;
  a->free_fn = free_fn;
}

void *cgrpc_server_call_attachment(const cgrpc_server_call *call, const void *kind)
{
  for (const cgrpc_server_attachment *a = call != NULL ? call->attachments : NULL; a != NULL;
       a = a->next)
    if (a->kind == kind)
      return a->data;
  return NULL;
}

const cgrpc_metadata *cgrpc_server_call_initial_metadata_out(const cgrpc_server_call *call)
{
  static const cgrpc_metadata empty;
  return call->ans.initial_md != NULL ? call->ans.initial_md : &empty;
}

const cgrpc_metadata *cgrpc_server_call_trailing_metadata_out(const cgrpc_server_call *call)
{
  static const cgrpc_metadata empty;
  return call->ans.trailing_md != NULL ? call->ans.trailing_md : &empty;
}

ProtobufCAllocator *cgrpc_server_call_protobuf_allocator(cgrpc_server_call *call)
{
  return &call->arena.pb;
}

int cgrpc_server_call_may_block(const cgrpc_server_call *call)
{
  return call->srv->workers != NULL;
}
