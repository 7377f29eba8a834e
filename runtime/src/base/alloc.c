/* The default allocator and the adapter that hands ours to protobuf-c. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

static void *alloc_malloc(size_t n, void *ud)
{
  (void)ud;
  return malloc(n);
}

static void alloc_free(void *p, void *ud)
{
  (void)ud;
  free(p);
}

static void *alloc_calloc(size_t nmemb, size_t n, void *ud)
{
  (void)ud;
  return calloc(nmemb, n);
}

static void *alloc_realloc(void *p, size_t n, void *ud)
{
  (void)ud;
  return realloc(p, n);
}

static const cgrpc_allocator default_allocator = {alloc_malloc, alloc_free, alloc_calloc,
                                                  alloc_realloc, NULL};

const cgrpc_allocator *cgrpc_default_allocator(void)
{
  return &default_allocator;
}

void cgrpc_alloc_init(cgrpc_allocator *dst, const cgrpc_allocator *src)
{
  if (src == NULL || src->malloc == NULL || src->free == NULL || src->calloc == NULL ||
      src->realloc == NULL)
    src = &default_allocator;
  *dst = *src;
}

int cgrpc_alloc_is_default(const cgrpc_allocator *a)
{
  return a->malloc == alloc_malloc && a->free == alloc_free;
}

char *cgrpc_strndup(const cgrpc_allocator *a, const char *s, size_t n)
{
  char *d = cgrpc_malloc(a, n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *cgrpc_strdup(const cgrpc_allocator *a, const char *s)
{
  return cgrpc_strndup(a, s, strlen(s));
}

int cgrpc_replace_string(char **dst, const char *s)
{
  char *copy = s != NULL ? strdup(s) : NULL;
  if (s != NULL && copy == NULL)
    return CGRPC_ERR_NOMEM;
  free(*dst);
  *dst = copy;
  return 0;
}

static void *alloc_pb_alloc(void *data, size_t n)
{
  const cgrpc_allocator *a = data;
  return a->malloc(n, a->user_data);
}

static void alloc_pb_free(void *data, void *p)
{
  const cgrpc_allocator *a = data;
  a->free(p, a->user_data);
}

void cgrpc_alloc_protobuf(ProtobufCAllocator *out, const cgrpc_allocator *a)
{
  out->alloc = alloc_pb_alloc;
  out->free = alloc_pb_free;
  out->allocator_data = (void *)a;
}

int cgrpc_array_append(void **array, size_t *count, size_t elem, const void *value)
{
  uint8_t *grown = realloc(*array, (*count + 1) * elem);
  if (grown == NULL)
    return CGRPC_ERR_NOMEM;
  memcpy(grown + *count * elem, value, elem);
  *array = grown;
  (*count)++;
  return 0;
}
