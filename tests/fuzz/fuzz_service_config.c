/* Feeds JSON to the service-config parser, then looks up every entry it made, resolves a
 * call's policy from it and computes its backoffs; aborts on values outside their ranges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "client/policy.h"
#include "client/retry_policy.h"
#include "client/service_config.h"

static void fail(const char *what, const char *json)
{
  fprintf(stderr, "service config: %s\n%s\n", what, json);
  abort();
}

/* What a call of path would run with, and the delays of its retries. */
static void check_policy(const cgrpc_service_config *sc, const char *path, const char *json)
{
  static const cgrpc_method_policy baked = {
      .timeout_ms = 1000,
      .retry = {3, 10, 100, 2.0, 0.2, 1u << CGRPC_STATUS_UNAVAILABLE},
  };
  const cgrpc_method_config *e = cgrpc_service_config_find(sc, path);
  if (e != NULL && (e->timeout_ms < 0 || (e->has_retry && e->retry.max_attempts > 5)))
    fail("an entry out of range", json);
  cgrpc_call_policy p;
  cgrpc_policy_resolve(&p, &baked, e, NULL, 0, 1000000000);
  cgrpc_retry_policy_sanitize(&p.retry);
  if (p.retry.max_attempts < 0 || p.retry.max_attempts > 5)
    fail("max_attempts out of range after sanitising", json);
  if (p.retry.max_attempts == 0)
    return;
  static const double draws[] = {0.0, 0.5, 0.999999};
  for (int n = 1; n < p.retry.max_attempts; n++) {
    for (size_t i = 0; i < sizeof draws / sizeof draws[0]; i++) {
      int64_t ns = cgrpc_retry_policy_backoff_ns(&p.retry, n, draws[i]);
      if (ns < 0 || ns > (int64_t)(CGRPC_RETRY_MAX_DELAY_MS * 1e6))
        fail("a backoff out of range", json);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *json = malloc(size + 1);
  if (json == NULL)
    abort();
  memcpy(json, data, size);
  json[size] = '\0';
  cgrpc_allocator alloc;
  cgrpc_alloc_init(&alloc, NULL);
  cgrpc_service_config sc;
  char err[256];
  int rv = cgrpc_service_config_parse(&sc, &alloc, json, err, sizeof err);
  if (rv == CGRPC_ERR_PROTO && err[0] == '\0')
    fail("rejected without saying why", json);
  if (rv != 0 && (sc.n != 0 || sc.entries != NULL))
    fail("rejected but left entries", json);
  if (rv == 0) {
    if (sc.throttle_max_tokens < 0 || sc.throttle_max_tokens > 1000 ||
        (sc.throttle_max_tokens > 0 &&
         !(sc.throttle_token_ratio > 0 && sc.throttle_token_ratio <= 1000)))
      fail("retryThrottling out of range", json);
    for (size_t i = 0; i < sc.n; i++) {
      const cgrpc_method_config *e = &sc.entries[i];
      char path[512];
      int n = snprintf(path, sizeof path, "/%s/%s",
                       e->service != NULL ? e->service : "any.Service",
                       e->method != NULL ? e->method : "Any");
      if (n < 0 || (size_t)n >= sizeof path)
        continue;
      /* An entry's own path finds it, or one of its service ('/' in the names aside). */
      const cgrpc_method_config *found = cgrpc_service_config_find(&sc, path);
      int plain = (e->service == NULL || strchr(e->service, '/') == NULL) &&
                  (e->method == NULL || strchr(e->method, '/') == NULL);
      int same = found != NULL && (e->service == NULL || (found->service != NULL &&
                                                          strcmp(found->service, e->service) == 0));
      if (plain && !same)
        fail("an entry's own path finds another service's entry, or none", json);
      check_policy(&sc, path, json);
    }
    check_policy(&sc, "/fuzz.Fuzz/Unary", json);
  }
  cgrpc_service_config_clear(&sc, &alloc);
  free(json);
  return 0;
}
