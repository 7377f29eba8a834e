/* Internal: allocation through the user's cgrpc_allocator, and its protobuf-c adapter. */
#ifndef CGRPC_ALLOC_H
#define CGRPC_ALLOC_H

#include <protobuf-c/protobuf-c.h>

#include <cgrpc/common.h>

/* Copies *src into *dst, or the default allocator when src is NULL or has
 * NULL functions. */
void cgrpc_alloc_init(cgrpc_allocator *dst, const cgrpc_allocator *src);

/* Nonzero when a is the default (malloc) allocator. */
int cgrpc_alloc_is_default(const cgrpc_allocator *a);

static inline void *cgrpc_malloc(const cgrpc_allocator *a, size_t n)
{
  return a->malloc(n, a->user_data);
}

static inline void *cgrpc_calloc(const cgrpc_allocator *a, size_t nmemb, size_t n)
{
  return a->calloc(nmemb, n, a->user_data);
}

static inline void *cgrpc_realloc(const cgrpc_allocator *a, void *p, size_t n)
{
  return a->realloc(p, n, a->user_data);
}

static inline void cgrpc_free(const cgrpc_allocator *a, void *p)
{
  if (p != NULL)
    a->free(p, a->user_data);
}

char *cgrpc_strdup(const cgrpc_allocator *a, const char *s);
char *cgrpc_strndup(const cgrpc_allocator *a, const char *s, size_t n);

/* Options objects (malloc'ed): *dst becomes a copy of s (NULL: none), the old one freed.
 * Returns 0, or CGRPC_ERR_NOMEM with *dst unchanged. */
int cgrpc_replace_string(char **dst, const char *s);

/* Appends one element of size elem to a malloc'ed array (options objects,
 * which exist before any allocator is chosen).  Returns 0 or CGRPC_ERR_NOMEM. */
int cgrpc_array_append(void **array, size_t *count, size_t elem, const void *value);

/* A ProtobufCAllocator that allocates through *a (which must outlive it). */
void cgrpc_alloc_protobuf(ProtobufCAllocator *out, const cgrpc_allocator *a);

#endif
