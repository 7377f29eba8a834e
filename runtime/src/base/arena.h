/* Internal: a bump allocator for memory that lives exactly as long as one call. */
#ifndef CGRPC_ARENA_H
#define CGRPC_ARENA_H

#include <protobuf-c/protobuf-c.h>

#include <cgrpc/common.h>

typedef struct cgrpc_arena_chunk cgrpc_arena_chunk;

typedef struct cgrpc_arena {
  const cgrpc_allocator *alloc; /* must outlive the arena */
  cgrpc_arena_chunk *chunks;    /* allocated chunks, newest first */
  uint8_t *cur;
  size_t left;
  size_t next_chunk; /* size of the next chunk to allocate */
  ProtobufCAllocator pb; /* protobuf-c view: allocates here, frees nothing */
} cgrpc_arena;

/* first/first_size: optional memory (e.g. inside the owning object) to use
 * before allocating chunks. */
void cgrpc_arena_init(cgrpc_arena *arena, const cgrpc_allocator *alloc, void *first,
                      size_t first_size);

/* Frees every chunk; the arena can be used again (from empty). */
void cgrpc_arena_clear(cgrpc_arena *arena);

/* Memory aligned for any type, or NULL when out of memory. */
void *cgrpc_arena_alloc(cgrpc_arena *arena, size_t size);

char *cgrpc_arena_strndup(cgrpc_arena *arena, const char *s, size_t n);

/* A cgrpc_allocator that allocates in the arena (free does nothing; realloc
 * copies), so objects built with it need no frees of their own. */
void cgrpc_arena_allocator(cgrpc_arena *arena, cgrpc_allocator *out);

#endif
