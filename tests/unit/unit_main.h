/* The main() every unit test program shares, and helpers more than one suite needs. */
#ifndef CGRPC_UNIT_MAIN_H
#define CGRPC_UNIT_MAIN_H

#include <stdlib.h>

#include <check.h>

#include <cgrpc/common.h>

/* Under valgrind, the exhaustive cases thin out where memcheck learns
 * nothing new (deep inside a large body); natively they stay exhaustive. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNIT_UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef UNIT_UNDER_VALGRIND
#define UNIT_UNDER_VALGRIND() 0
#endif

/*
 * An allocator that counts what goes through it and can be told to fail,
 * for checking that a module uses the allocator it was given, frees all it
 * took, and reports CGRPC_ERR_NOMEM when it runs out.
 */
typedef struct unit_alloc {
  cgrpc_allocator a; /* points back here through user_data */
  long allocs;       /* successful malloc/calloc/realloc(NULL, ...) */
  long frees;        /* free of a non-NULL pointer */
  long fail_after;   /* allocations that still succeed; -1: never fail */
} unit_alloc;

static inline int unit_alloc_may(unit_alloc *u)
{
  if (u->fail_after == 0)
    return 0;
  if (u->fail_after > 0)
    u->fail_after--;
  return 1;
}

static inline void *unit_alloc_malloc(size_t n, void *ud)
{
  unit_alloc *u = ud;
  void *p = unit_alloc_may(u) ? malloc(n) : NULL;
  if (p != NULL)
    u->allocs++;
  return p;
}

static inline void unit_alloc_free(void *p, void *ud)
{
  unit_alloc *u = ud;
  if (p != NULL)
    u->frees++;
  free(p);
}

static inline void *unit_alloc_calloc(size_t nmemb, size_t n, void *ud)
{
  unit_alloc *u = ud;
  void *p = unit_alloc_may(u) ? calloc(nmemb, n) : NULL;
  if (p != NULL)
    u->allocs++;
  return p;
}

static inline void *unit_alloc_realloc(void *old, size_t n, void *ud)
{
  unit_alloc *u = ud;
  void *p = unit_alloc_may(u) ? realloc(old, n) : NULL;
  if (p != NULL && old == NULL)
    u->allocs++;
  return p;
}

/* fail_after: how many allocations succeed before every one fails (-1: none fails). */
static inline void unit_alloc_init(unit_alloc *u, long fail_after)
{
  u->a.malloc = unit_alloc_malloc;
  u->a.free = unit_alloc_free;
  u->a.calloc = unit_alloc_calloc;
  u->a.realloc = unit_alloc_realloc;
  u->a.user_data = u;
  u->allocs = 0;
  u->frees = 0;
  u->fail_after = fail_after;
}

/* A small deterministic generator (xorshift64*), so "random" cases repeat exactly. */
static inline uint64_t unit_rand(uint64_t *state)
{
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* Runs one suite.  CK_FORK=no (for valgrind) and CK_VERBOSITY are honoured
 * by Check itself.  Exit status: 0 when every test passed. */
static inline int unit_run(Suite *s)
{
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Defines main() for a program that runs suite_fn(). */
#define UNIT_MAIN(suite_fn)                                                                        \
  Suite *suite_fn(void);                                                                           \
  int main(void)                                                                                   \
  {                                                                                                \
    return unit_run(suite_fn());                                                                   \
  }

#endif
