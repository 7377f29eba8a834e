/* A cgrpc_allocator that counts live blocks and bytes, for leak tests, and can fail the Nth
 * allocation, for failing-allocation sweeps (thread-safe). */
#ifndef CGRPC_TEST_COUNTING_ALLOC_H
#define CGRPC_TEST_COUNTING_ALLOC_H

#include <cgrpc/common.h>

typedef struct counting_alloc {
  cgrpc_allocator alloc; /* hand this to cgrpc */
  long blocks;           /* live: atomic */
  long bytes;
  long allocs;   /* so far (malloc, calloc, realloc): atomic */
  long fail_nth; /* the allocation that fails (1: the first); 0: none */
} counting_alloc;

void counting_alloc_init(counting_alloc *c);
long counting_alloc_blocks(counting_alloc *c);
long counting_alloc_bytes(counting_alloc *c);

#endif
