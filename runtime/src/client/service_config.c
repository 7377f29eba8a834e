/* gRPC service config: methodConfig (name, timeout, retryPolicy, waitForReady),
 * retryThrottling and the load-balancing policy, read
 * with json-c. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cgrpc/status.h>

#include "base/alloc.h"
#include "client/service_config.h"

typedef struct parser {
  cgrpc_service_config *sc;
  const cgrpc_allocator *a;
  char *err;
  size_t errlen;
  int nomem;
} parser;

static int fail(parser *p, const char *fmt, ...) CGRPC_PRINTF(2, 3);
static int fail(parser *p, const char *fmt, ...)
{
  if (p->errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* A protobuf JSON Duration: decimal seconds with an "s", e.g. "1.5s", "0.000001s". */
static int parse_duration_ms(const char *s, int64_t *ms)
{
  int64_t whole = 0, frac_ns = 0;
  size_t i = 0, digits = 0;
  for (; s[i] >= '0' && s[i] <= '9'; i++, digits++) {
    if (whole > 315576000000LL) /* protobuf's limit: 10,000 years */
      return -1;
    whole = whole * 10 + (s[i] - '0');
  }
  if (s[i] == '.') {
    int64_t scale = 100000000;
    for (i++; s[i] >= '0' && s[i] <= '9'; i++, digits++, scale /= 10) {
      if (scale == 0)
        return -1; /* more than 9 decimals */
      frac_ns += (s[i] - '0') * scale;
    }
  }
  if (digits == 0 || s[i] != 's' || s[i + 1] != '\0')
    return -1;
  *ms = whole * 1000 + (frac_ns + 999999) / 1000000; /* rounded up: never shorter */
  return 0;
}

static int get_duration(parser *p, json_object *o, const char *what, int64_t *ms)
{
  if (!json_object_is_type(o, json_type_string) ||
      parse_duration_ms(json_object_get_string(o), ms) != 0)
    return fail(p, "%s: want a duration such as \"1.5s\", got %s", what,
                json_object_to_json_string(o));
  return 0;
}

static int parse_codes(parser *p, json_object *o, uint32_t *codes)
{
  if (!json_object_is_type(o, json_type_array) || json_object_array_length(o) == 0)
    return fail(p, "retryPolicy.retryableStatusCodes: want a non-empty array");
  for (size_t i = 0; i < json_object_array_length(o); i++) {
    json_object *c = json_object_array_get_idx(o, i);
    int code = -1;
    if (json_object_is_type(c, json_type_string))
      code = cgrpc_code_from_name(json_object_get_string(c));
    else if (json_object_is_type(c, json_type_int))
      code = json_object_get_int(c);
    if (code <= 0 || code >= CGRPC_STATUS_CODE_COUNT)
      return fail(p, "retryPolicy.retryableStatusCodes: %s is not a status code a call can "
                     "fail with", json_object_to_json_string(c));
    *codes |= 1u << code;
  }
  return 0;
}

static int parse_retry(parser *p, json_object *o, cgrpc_retry_policy *r)
{
  json_object *v;
  memset(r, 0, sizeof *r);
  r->jitter = 1.0; /* A6: random(0, d) */
  if (!json_object_is_type(o, json_type_object))
    return fail(p, "retryPolicy: want an object");
  if (!json_object_object_get_ex(o, "maxAttempts", &v) || !json_object_is_type(v, json_type_int) ||
      json_object_get_int64(v) < 1)
    return fail(p, "retryPolicy.maxAttempts: want an integer of at least 1 (1: no retries)");
  int64_t n = json_object_get_int64(v);
  r->max_attempts = n > 5 ? 5 : (int)n; /* A6 caps it at 5 */
  if (r->max_attempts == 1)
    return 0;
  if (!json_object_object_get_ex(o, "initialBackoff", &v) ||
      get_duration(p, v, "retryPolicy.initialBackoff", &r->initial_backoff_ms) != 0)
    return v == NULL ? fail(p, "retryPolicy.initialBackoff is required") : -1;
  if (!json_object_object_get_ex(o, "maxBackoff", &v) ||
      get_duration(p, v, "retryPolicy.maxBackoff", &r->max_backoff_ms) != 0)
    return v == NULL ? fail(p, "retryPolicy.maxBackoff is required") : -1;
  if (r->initial_backoff_ms <= 0 || r->max_backoff_ms <= 0)
    return fail(p, "retryPolicy: initialBackoff and maxBackoff must be above 0");
  if (!json_object_object_get_ex(o, "backoffMultiplier", &v) ||
      !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) ||
      !(json_object_get_double(v) > 0))
    return fail(p, "retryPolicy.backoffMultiplier: want a number above 0");
  r->backoff_multiplier = json_object_get_double(v);
  if (!json_object_object_get_ex(o, "retryableStatusCodes", &v))
    return fail(p, "retryPolicy.retryableStatusCodes is required");
  return parse_codes(p, v, &r->retryable_codes);
}

static char *dup_string(parser *p, json_object *o)
{
  const char *s = json_object_get_string(o);
  if (s == NULL || s[0] == '\0')
    return NULL;
  char *d = cgrpc_strdup(p->a, s);
  if (d == NULL)
    p->nomem = 1;
  return d;
}

static int parse_method_config(parser *p, json_object *mc)
{
  json_object *names, *v;
  if (!json_object_is_type(mc, json_type_object))
    return fail(p, "methodConfig: want an array of objects");
  if (!json_object_object_get_ex(mc, "name", &names) ||
      !json_object_is_type(names, json_type_array) || json_object_array_length(names) == 0)
    return fail(p, "methodConfig: every entry needs a non-empty \"name\" array");
  cgrpc_method_config proto;
  memset(&proto, 0, sizeof proto);
  proto.wait_for_ready = -1;
  if (json_object_object_get_ex(mc, "waitForReady", &v)) {
    if (!json_object_is_type(v, json_type_boolean))
      return fail(p, "methodConfig.waitForReady: want true or false");
    proto.wait_for_ready = json_object_get_boolean(v) ? 1 : 0;
  }
  if (json_object_object_get_ex(mc, "timeout", &v)) {
    if (get_duration(p, v, "methodConfig.timeout", &proto.timeout_ms) != 0)
      return -1;
    proto.has_timeout = 1;
  }
  if (json_object_object_get_ex(mc, "retryPolicy", &v)) {
    if (parse_retry(p, v, &proto.retry) != 0)
      return -1;
    proto.has_retry = 1;
  }
  size_t n = json_object_array_length(names);
  cgrpc_method_config *grown =
      cgrpc_realloc(p->a, p->sc->entries, (p->sc->n + n) * sizeof *grown);
  if (grown == NULL) {
    p->nomem = 1;
    return -1;
  }
  p->sc->entries = grown;
  for (size_t i = 0; i < n; i++) {
    json_object *name = json_object_array_get_idx(names, i), *svc = NULL, *m = NULL;
    if (!json_object_is_type(name, json_type_object))
      return fail(p, "methodConfig.name: want objects with \"service\" and \"method\"");
    json_object_object_get_ex(name, "service", &svc);
    json_object_object_get_ex(name, "method", &m);
    cgrpc_method_config *e = &p->sc->entries[p->sc->n++];
    *e = proto;
    e->service = svc != NULL ? dup_string(p, svc) : NULL;
    e->method = m != NULL ? dup_string(p, m) : NULL;
    if (p->nomem)
      return -1;
    if (e->method != NULL && e->service == NULL)
      return fail(p, "methodConfig.name: a method needs its service");
  }
  return 0;
}

static int parse_throttling(parser *p, json_object *o)
{
  json_object *v;
  if (!json_object_is_type(o, json_type_object))
    return fail(p, "retryThrottling: want an object");
  if (!json_object_object_get_ex(o, "maxTokens", &v) || !json_object_is_type(v, json_type_int) ||
      json_object_get_int64(v) <= 0 || json_object_get_int64(v) > 1000)
    return fail(p, "retryThrottling.maxTokens: want an integer in 1..1000");
  p->sc->throttle_max_tokens = json_object_get_int(v);
  if (!json_object_object_get_ex(o, "tokenRatio", &v) ||
      !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) ||
      !(json_object_get_double(v) > 0) || json_object_get_double(v) > 1000)
    return fail(p, "retryThrottling.tokenRatio: want a number above 0 and at most 1000");
  p->sc->throttle_token_ratio = json_object_get_double(v);
  return 0;
}

static const char *known_policy(const char *name)
{
  if (strcmp(name, "pick_first") == 0)
    return "pick_first";
  if (strcmp(name, "round_robin") == 0)
    return "round_robin";
  return NULL;
}

/* "loadBalancingConfig": [{"round_robin": {}}, ...]: the first policy we know (gRPC's rule);
 * else "loadBalancingPolicy": "round_robin". */
static int parse_lb(parser *p, json_object *root)
{
  json_object *v;
  if (json_object_object_get_ex(root, "loadBalancingConfig", &v)) {
    if (!json_object_is_type(v, json_type_array))
      return fail(p, "loadBalancingConfig: want an array");
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      json_object *e = json_object_array_get_idx(v, i);
      if (!json_object_is_type(e, json_type_object) || json_object_object_length(e) != 1)
        return fail(p, "loadBalancingConfig: want objects with one policy each");
      json_object_object_foreach(e, name, conf)
      {
        (void)conf;
        p->sc->lb_policy = known_policy(name);
      }
      if (p->sc->lb_policy != NULL)
        return 0;
    }
    return fail(p, "loadBalancingConfig: no policy we support (pick_first, round_robin)");
  }
  if (json_object_object_get_ex(root, "loadBalancingPolicy", &v)) {
    const char *name = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    char lower[32];
    size_t i = 0;
    for (; name[i] != 0 && i + 1 < sizeof lower; i++)
      lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    lower[i] = 0;
    p->sc->lb_policy = known_policy(lower);
    if (p->sc->lb_policy == NULL)
      return fail(p, "loadBalancingPolicy: want \"pick_first\" or \"round_robin\"");
  }
  return 0;
}

int cgrpc_service_config_parse(cgrpc_service_config *out, const cgrpc_allocator *a,
                               const char *json, char *err, size_t errlen)
{
  memset(out, 0, sizeof *out);
  parser p = {out, a, err, errlen, 0};
  if (errlen > 0)
    err[0] = '\0';
  enum json_tokener_error jerr;
  json_object *root = json_tokener_parse_verbose(json, &jerr);
  int rv = 0;
  json_object *v;
  if (root == NULL) {
    rv = fail(&p, "not JSON: %s", json_tokener_error_desc(jerr));
  } else if (!json_object_is_type(root, json_type_object)) {
    rv = fail(&p, "want a JSON object");
  } else {
    if (json_object_object_get_ex(root, "methodConfig", &v)) {
      if (!json_object_is_type(v, json_type_array))
        rv = fail(&p, "methodConfig: want an array");
      for (size_t i = 0; rv == 0 && i < json_object_array_length(v); i++)
        rv = parse_method_config(&p, json_object_array_get_idx(v, i));
    }
    if (rv == 0 && json_object_object_get_ex(root, "retryThrottling", &v))
      rv = parse_throttling(&p, v);
    if (rv == 0)
      rv = parse_lb(&p, root);
  }
  json_object_put(root);
  if (rv == 0)
    return 0;
  cgrpc_service_config_clear(out, a);
  return p.nomem ? CGRPC_ERR_NOMEM : CGRPC_ERR_PROTO;
}

void cgrpc_service_config_clear(cgrpc_service_config *sc, const cgrpc_allocator *a)
{
  for (size_t i = 0; i < sc->n; i++) {
    cgrpc_free(a, sc->entries[i].service);
    cgrpc_free(a, sc->entries[i].method);
  }
  cgrpc_free(a, sc->entries);
  memset(sc, 0, sizeof *sc);
}

const cgrpc_method_config *cgrpc_service_config_find(const cgrpc_service_config *sc,
                                                     const char *path)
{
  if (sc == NULL || sc->n == 0 || path == NULL || path[0] != '/')
    return NULL;
  const char *svc = path + 1;
  const char *slash = strrchr(svc, '/');
  if (slash == NULL)
    return NULL;
  size_t svc_len = (size_t)(slash - svc);
  const char *method = slash + 1;
  const cgrpc_method_config *of_service = NULL, *fallback = NULL;
  for (size_t i = 0; i < sc->n; i++) {
    const cgrpc_method_config *e = &sc->entries[i];
    if (e->service == NULL) {
      if (fallback == NULL)
        fallback = e;
    } else if (strlen(e->service) == svc_len && memcmp(e->service, svc, svc_len) == 0) {
      if (e->method == NULL) {
        if (of_service == NULL)
          of_service = e;
      } else if (strcmp(e->method, method) == 0) {
        return e;
      }
    }
  }
  return of_service != NULL ? of_service : fallback;
}
