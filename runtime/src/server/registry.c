/* A small open-addressing hash table from method path to handler; read-only once serving. */
#include <string.h>

#include "base/alloc.h"
#include "server/registry.h"

static size_t registry_hash(const char *s, size_t len)
{
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < len; i++) {
    h ^= (uint8_t)s[i];
    h *= 1099511628211ULL;
  }
  return (size_t)h;
}

void cgrpc_registry_init(cgrpc_registry *r, const cgrpc_allocator *alloc)
{
  memset(r, 0, sizeof *r);
  r->alloc = alloc;
}

void cgrpc_registry_clear(cgrpc_registry *r)
{
  cgrpc_free(r->alloc, r->slots);
  r->slots = NULL;
  r->nslots = r->count = 0;
}

static cgrpc_registry_entry *registry_slot(cgrpc_registry_entry *slots, size_t nslots,
                                           const char *path, size_t len)
{
  size_t i = registry_hash(path, len) & (nslots - 1);
  for (;;) {
    cgrpc_registry_entry *e = &slots[i];
    if (e->desc == NULL ||
        (strlen(e->desc->path) == len && memcmp(e->desc->path, path, len) == 0))
      return e;
    i = (i + 1) & (nslots - 1);
  }
}

static int registry_grow(cgrpc_registry *r)
{
  size_t n = r->nslots ? r->nslots * 2 : 16;
  cgrpc_registry_entry *slots = cgrpc_calloc(r->alloc, n, sizeof *slots);
  if (slots == NULL)
    return CGRPC_ERR_NOMEM;
  for (size_t i = 0; i < r->nslots; i++) {
    const cgrpc_registry_entry *e = &r->slots[i];
    if (e->desc != NULL)
      *registry_slot(slots, n, e->desc->path, strlen(e->desc->path)) = *e;
  }
  cgrpc_free(r->alloc, r->slots);
  r->slots = slots;
  r->nslots = n;
  return 0;
}

int cgrpc_registry_add(cgrpc_registry *r, const cgrpc_method_desc *desc, cgrpc_fn handler,
                       void *user_data)
{
  if ((r->count + 1) * 2 > r->nslots && registry_grow(r) != 0)
    return CGRPC_ERR_NOMEM;
  cgrpc_registry_entry *e = registry_slot(r->slots, r->nslots, desc->path, strlen(desc->path));
  if (e->desc != NULL)
    return CGRPC_ERR_EXISTS;
  e->desc = desc;
  e->handler = handler;
  e->user_data = user_data;
  r->count++;
  return 0;
}

const cgrpc_registry_entry *cgrpc_registry_find(const cgrpc_registry *r, const char *path,
                                                size_t len)
{
  if (r->nslots == 0)
    return NULL;
  const cgrpc_registry_entry *e = registry_slot(r->slots, r->nslots, path, len);
  return e->desc != NULL ? e : NULL;
}
