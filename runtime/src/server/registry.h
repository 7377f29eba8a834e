/* Internal: the server's method table, looked up by :path. */
#ifndef CGRPC_REGISTRY_H
#define CGRPC_REGISTRY_H

#include <cgrpc/method.h>

typedef struct cgrpc_registry_entry {
  const cgrpc_method_desc *desc;
  cgrpc_fn handler; /* NULL: UNIMPLEMENTED */
  void *user_data;
} cgrpc_registry_entry;

typedef struct cgrpc_registry {
  const cgrpc_allocator *alloc;
  cgrpc_registry_entry *slots; /* open addressing; desc NULL = empty */
  size_t nslots;
  size_t count;
} cgrpc_registry;

void cgrpc_registry_init(cgrpc_registry *r, const cgrpc_allocator *alloc);
void cgrpc_registry_clear(cgrpc_registry *r);
/* Returns 0, CGRPC_ERR_EXISTS or CGRPC_ERR_NOMEM. */
int cgrpc_registry_add(cgrpc_registry *r, const cgrpc_method_desc *desc, cgrpc_fn handler,
                       void *user_data);
/* The entry for path[0..len), or NULL. */
const cgrpc_registry_entry *cgrpc_registry_find(const cgrpc_registry *r, const char *path,
                                                size_t len);

#endif
