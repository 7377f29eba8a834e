/* Internal: a gRPC service config (JSON, doc/service_config.md in gRPC): the methodConfig
 * entries (name, timeout, retryPolicy, waitForReady) and retryThrottling a channel applies
 * over the policy baked into generated code, and the load-balancing policy. */
#ifndef CGRPC_SERVICE_CONFIG_H
#define CGRPC_SERVICE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <cgrpc/common.h>
#include <cgrpc/method.h>

typedef struct cgrpc_method_config {
  char *service; /* NULL: every service (the default entry) */
  char *method;  /* NULL: every method of service */
  int has_timeout;
  int64_t timeout_ms;
  int has_retry;
  cgrpc_retry_policy retry; /* max_attempts 1 (or less): no retries */
  int wait_for_ready; /* -1: not set, else 0 or 1 */
} cgrpc_method_config;

typedef struct cgrpc_service_config {
  cgrpc_method_config *entries; /* one per name of each methodConfig */
  size_t n;
  int throttle_max_tokens; /* 0: no retryThrottling */
  double throttle_token_ratio;
  const char *lb_policy; /* "pick_first", "round_robin" or NULL (not set); static */
} cgrpc_service_config;

/* Parses json into *out (which the caller frees with cgrpc_service_config_clear).  Returns
 * 0, CGRPC_ERR_PROTO with a reason in err (if errlen > 0) when the config is malformed, or
 * CGRPC_ERR_NOMEM. */
int cgrpc_service_config_parse(cgrpc_service_config *out, const cgrpc_allocator *a,
                               const char *json, char *err, size_t errlen);
void cgrpc_service_config_clear(cgrpc_service_config *sc, const cgrpc_allocator *a);

/* The entry for path ("/pkg.Service/Method"): the exact method, else the service's, else
 * the default one; NULL if none. */
const cgrpc_method_config *cgrpc_service_config_find(const cgrpc_service_config *sc,
                                                     const char *path);

#endif
