/* Internal: the dedup helper's default store -- a hash table with an LRU list and TTLs. */
#ifndef CGRPC_DEDUP_MEMORY_H
#define CGRPC_DEDUP_MEMORY_H

#include <cgrpc/dedup.h>

typedef struct cgrpc_dedup_memory cgrpc_dedup_memory;

/* The store's functions, for cgrpc_dedup_store; user_data is a cgrpc_dedup_memory. */
extern const cgrpc_dedup_store cgrpc_dedup_memory_store;

/* alloc must outlive the store.  Returns 0 or CGRPC_ERR_NOMEM. */
int cgrpc_dedup_memory_new(cgrpc_dedup_memory **out, const cgrpc_allocator *alloc,
                           size_t max_entries, size_t max_bytes);
void cgrpc_dedup_memory_free(cgrpc_dedup_memory *m);

/* CGRPC_DEDUP_STAT_EVICTED, _EXPIRED, _ENTRIES or _BYTES; else 0. */
uint64_t cgrpc_dedup_memory_stat(cgrpc_dedup_memory *m, cgrpc_dedup_stat which);

#endif
