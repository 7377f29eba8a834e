/* Internal: randomness -- a fast generator for jitter, and the kernel's source for keys. */
#ifndef CGRPC_RAND_H
#define CGRPC_RAND_H

#include <stddef.h>
#include <stdint.h>

/* A uniform double in [0, 1) from a small fast PRNG (xorshift64*) whose state is *state
 * (never 0).  For jitter, not for secrets. */
double cgrpc_rand_uniform(uint64_t *state);

/* A seed for cgrpc_rand_uniform from the kernel's random source (never 0). */
uint64_t cgrpc_rand_seed(void);

/* len bytes from the kernel's random source (getrandom).  Returns 0 or CGRPC_ERR_SYSTEM. */
int cgrpc_rand_bytes(void *buf, size_t len);

#endif
