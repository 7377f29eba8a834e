/* A bump allocator: many small allocations per call, one free per chunk. */
#include <stdalign.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"

#define ARENA_ALIGN alignof(max_align_t)
#define ARENA_MIN_CHUNK 1024
#define ARENA_MAX_CHUNK (64 * 1024)

struct cgrpc_arena_chunk {
  cgrpc_arena_chunk *next;
  max_align_t data[]; /* aligned payload */
};

static void *arena_pb_alloc(void *data, size_t size)
{
  return cgrpc_arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *ptr)
{
  (void)data;
  (void)ptr; /* freed with the arena */
}

static uint8_t *arena_align(uint8_t *p, size_t *left)
{
  uintptr_t addr = (uintptr_t)p;
  size_t pad = (ARENA_ALIGN - addr % ARENA_ALIGN) % ARENA_ALIGN;
  if (pad > *left) {
    *left = 0;
    return p;
  }
  *left -= pad;
  return p + pad;
}

void cgrpc_arena_init(cgrpc_arena *arena, const cgrpc_allocator *alloc, void *first,
                      size_t first_size)
{
  arena->alloc = alloc;
  arena->chunks = NULL;
  arena->left = first != NULL ? first_size : 0;
  arena->cur = first != NULL ? arena_align(first, &arena->left) : NULL;
  arena->next_chunk = ARENA_MIN_CHUNK;
  arena->pb.alloc = arena_pb_alloc;
  arena->pb.free = arena_pb_free;
  arena->pb.allocator_data = arena;
}

void cgrpc_arena_clear(cgrpc_arena *arena)
{
  cgrpc_arena_chunk *c = arena->chunks;
  while (c != NULL) {
    cgrpc_arena_chunk *next = c->next;
    cgrpc_free(arena->alloc, c);
    c = next;
  }
  arena->chunks = NULL;
  arena->cur = NULL;
  arena->left = 0;
  arena->next_chunk = ARENA_MIN_CHUNK;
}

void *cgrpc_arena_alloc(cgrpc_arena *arena, size_t size)
{
  size_t rounded = (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
  if (rounded < size)
    return NULL;
  if (size == 0)
    rounded = ARENA_ALIGN;
  if (rounded <= arena->left) {
    void *p = arena->cur;
    arena->cur += rounded;
    arena->left -= rounded;
    return p;
  }
  /* Big requests get a chunk of their own and leave the current one be. */
  int own = rounded > arena->next_chunk / 4;
  size_t payload = own ? rounded : arena->next_chunk;
  if (payload > SIZE_MAX - sizeof(cgrpc_arena_chunk))
    return NULL;
  cgrpc_arena_chunk *c = cgrpc_malloc(arena->alloc, sizeof(cgrpc_arena_chunk) + payload);
  if (c == NULL)
    return NULL;
  c->next = arena->chunks;
  arena->chunks = c;
  if (own)
    return c->data;
  if (arena->next_chunk < ARENA_MAX_CHUNK)
    arena->next_chunk *= 2;
  arena->cur = (uint8_t *)c->data + rounded;
  arena->left = payload - rounded;
  return c->data;
}

char *cgrpc_arena_strndup(cgrpc_arena *arena, const char *s, size_t n)
{
  char *d = cgrpc_arena_alloc(arena, n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

/* Allocations made through the allocator interface carry their size in
 * front, for realloc. */
#define ARENA_HDR ARENA_ALIGN

static void *arena_a_malloc(size_t n, void *ud)
{
  if (n > SIZE_MAX - ARENA_HDR)
    return NULL;
  uint8_t *p = cgrpc_arena_alloc(ud, n + ARENA_HDR);
  if (p == NULL)
    return NULL;
  memcpy(p, &n, sizeof n);
  return p + ARENA_HDR;
}

static void arena_a_free(void *p, void *ud)
{
  (void)p;
  (void)ud;
}

static void *arena_a_calloc(size_t nmemb, size_t n, void *ud)
{
  if (n != 0 && nmemb > SIZE_MAX / n)
    return NULL;
  void *p = arena_a_malloc(nmemb * n, ud);
  if (p != NULL)
    memset(p, 0, nmemb * n);
  return p;
}

static void *arena_a_realloc(void *p, size_t n, void *ud)
{
  void *q = arena_a_malloc(n, ud);
  if (q == NULL || p == NULL)
    return q;
  size_t old;
  memcpy(&old, (uint8_t *)p - ARENA_HDR, sizeof old);
  memcpy(q, p, old < n ? old : n);
  return q;
}

void cgrpc_arena_allocator(cgrpc_arena *arena, cgrpc_allocator *out)
{
  out->malloc = arena_a_malloc;
  out->free = arena_a_free;
  out->calloc = arena_a_calloc;
  out->realloc = arena_a_realloc;
  out->user_data = arena;
}
