/* Internal: idempotency keys. */
#ifndef CGRPC_IDEMPOTENCY_H
#define CGRPC_IDEMPOTENCY_H

/* A fresh idempotency key: 128 bits from the kernel's random source (getrandom),
 * as 32 lowercase hex digits.  Returns 0 or CGRPC_ERR_SYSTEM. */
#define CGRPC_IDEMPOTENCY_KEY_LEN 32
int cgrpc_idempotency_key_new(char out[CGRPC_IDEMPOTENCY_KEY_LEN + 1]);

#endif
