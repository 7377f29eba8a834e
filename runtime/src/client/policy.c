/* A call's policy from the .proto, the service config and the call's options. */
#include <string.h>

#include "client/policy.h"

/* now + ms, saturating at "no deadline". */
static cgrpc_time policy_after_ms(cgrpc_time now, int64_t ms)
{
  if (ms >= (CGRPC_TIME_INFINITE - now) / 1000000)
    return CGRPC_TIME_INFINITE;
  return now + CGRPC_MS_TO_NS(ms);
}

void cgrpc_policy_resolve(cgrpc_call_policy *out, const cgrpc_method_policy *proto,
                          const cgrpc_method_config *sc, const cgrpc_call_options *call,
                          int channel_enc, cgrpc_time now)
{
  unsigned set = call != NULL ? call->set : 0;
  memset(out, 0, sizeof *out);

  /* Deadline: a timeout counts from now; 0 (or less) means none. */
  int64_t timeout_ms = proto != NULL ? proto->timeout_ms : 0;
  if (sc != NULL && sc->has_timeout)
    timeout_ms = sc->timeout_ms;
  if (set & CGRPC_CALL_OPT_TIMEOUT)
    timeout_ms = call->timeout_ms;
  out->deadline = timeout_ms > 0 ? policy_after_ms(now, timeout_ms) : CGRPC_TIME_INFINITE;
  if (set & CGRPC_CALL_OPT_DEADLINE)
    out->deadline = call->deadline;

  if (proto != NULL)
    out->retry = proto->retry;
  if (sc != NULL && sc->has_retry)
    out->retry = sc->retry;
  if (set & CGRPC_CALL_OPT_RETRY)
    out->retry = call->retry;

  if (sc != NULL && sc->wait_for_ready >= 0)
    out->wait_for_ready = sc->wait_for_ready;
  if (set & CGRPC_CALL_OPT_WAIT_FOR_READY)
    out->wait_for_ready = call->wait_for_ready;

  out->send_enc = set & CGRPC_CALL_OPT_COMPRESSION ? call->compression : channel_enc;

  /* One key per logical call, the same on every attempt: for idempotent methods, and for any
   * call whose caller chose one. */
  out->key = call != NULL ? call->idempotency_key : NULL;
  if (out->key != NULL || (proto != NULL && proto->idempotent))
    out->key_header = proto != NULL && proto->idempotency_key_header != NULL
                          ? proto->idempotency_key_header
                          : CGRPC_IDEMPOTENCY_KEY_HEADER;
}
