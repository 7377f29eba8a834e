/* Internal: the policy a client call runs with, resolved in one place from its three sources.
 * For each setting the later source wins where it says something:
 *     the .proto's options (baked into the method)  <  the channel's service config  <  the
 *     call's options.
 * Pure: no I/O, no allocation; unit-tested over the whole precedence matrix. */
#ifndef CGRPC_POLICY_H
#define CGRPC_POLICY_H

#include <cgrpc/method.h>

#include "client/options.h"
#include "client/service_config.h"

typedef struct cgrpc_call_policy {
  cgrpc_time deadline;      /* absolute; CGRPC_TIME_INFINITE: none */
  cgrpc_retry_policy retry; /* as given (sanitised later); max_attempts < 2: no retries */
  int wait_for_ready;
  int send_enc;             /* the requests' cgrpc_encoding */
  /* The idempotency key: its header (NULL: the call carries none) and the caller's key
   * (NULL: a fresh one per call). */
  const char *key_header;
  const char *key;
} cgrpc_call_policy;

/* Resolves the policy of a call starting at now.  proto: the method's baked policy, or NULL;
 * sc: the service config's entry for the method, or NULL; call: the call's options, or NULL;
 * channel_enc: the channel's request compression. */
void cgrpc_policy_resolve(cgrpc_call_policy *out, const cgrpc_method_policy *proto,
                          const cgrpc_method_config *sc, const cgrpc_call_options *call,
                          int channel_enc, cgrpc_time now);

#endif
