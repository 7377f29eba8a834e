/* Counts every block the library allocates, with its size kept just before it. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "counting_alloc.h"

#define HDR alignof(max_align_t)

static void *ca_malloc(size_t n, void *ud)
{
  counting_alloc *c = ud;
  if (__atomic_add_fetch(&c->allocs, 1, __ATOMIC_RELAXED) == c->fail_nth)
    return NULL;
  unsigned char *p = malloc(n + HDR);
  if (p == NULL)
    return NULL;
  memcpy(p, &n, sizeof n);
  __atomic_add_fetch(&c->blocks, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&c->bytes, (long)n, __ATOMIC_RELAXED);
  return p + HDR;
}

static void ca_free(void *ptr, void *ud)
{
  counting_alloc *c = ud;
  if (ptr == NULL)
    return;
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t n;
  memcpy(&n, p, sizeof n);
  __atomic_sub_fetch(&c->blocks, 1, __ATOMIC_RELAXED);
  __atomic_sub_fetch(&c->bytes, (long)n, __ATOMIC_RELAXED);
  free(p);
}

static void *ca_calloc(size_t nmemb, size_t n, void *ud)
{
  if (n != 0 && nmemb > (size_t)-1 / n)
    return NULL;
  void *p = ca_malloc(nmemb * n, ud);
  if (p != NULL)
    memset(p, 0, nmemb * n);
  return p;
}

static void *ca_realloc(void *ptr, size_t n, void *ud)
{
  if (ptr == NULL)
    return ca_malloc(n, ud);
  unsigned char *old = (unsigned char *)ptr - HDR;
  size_t was;
  memcpy(&was, old, sizeof was);
  void *q = ca_malloc(n, ud);
  if (q == NULL)
    return NULL;
  memcpy(q, ptr, was < n ? was : n);
  ca_free(ptr, ud);
  return q;
}

void counting_alloc_init(counting_alloc *c)
{
  c->alloc.malloc = ca_malloc;
  c->alloc.free = ca_free;
  c->alloc.calloc = ca_calloc;
  c->alloc.realloc = ca_realloc;
  c->alloc.user_data = c;
  c->blocks = 0;
  c->bytes = 0;
  c->allocs = 0;
  c->fail_nth = 0;
}

long counting_alloc_blocks(counting_alloc *c)
{
  return __atomic_load_n(&c->blocks, __ATOMIC_RELAXED);
}

long counting_alloc_bytes(counting_alloc *c)
{
  return __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
}
