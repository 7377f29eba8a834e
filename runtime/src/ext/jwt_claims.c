/* Verified JWT claims, read without json-c in sight: strings, numbers, arrays, scopes. */
#include <string.h>

#include "base/alloc.h"
#include "ext/jwt_internal.h"

void cgrpc_jwt_claims_free(cgrpc_jwt_claims *claims)
{
  if (claims == NULL)
    return;
  json_object_put(claims->payload);
  cgrpc_free(&claims->alloc, claims->json);
  cgrpc_free(&claims->alloc, claims);
}

const char *cgrpc_jwt_claims_json(const cgrpc_jwt_claims *claims)
{
  return claims != NULL ? claims->json : NULL;
}

static json_object *claims_get(const cgrpc_jwt_claims *claims, const char *name)
{
  json_object *m = NULL;
  if (claims == NULL || name == NULL || !json_object_object_get_ex(claims->payload, name, &m))
    return NULL;
  return m;
}

/* A string without NUL inside, so that C sees all of it. */
static const char *claims_cstring(json_object *o)
{
  if (o == NULL || !json_object_is_type(o, json_type_string))
    return NULL;
  const char *s = json_object_get_string(o);
  return strlen(s) == (size_t)json_object_get_string_len(o) ? s : NULL;
}

const char *cgrpc_jwt_claims_string(const cgrpc_jwt_claims *claims, const char *name)
{
  return claims_cstring(claims_get(claims, name));
}

int cgrpc_jwt_claims_int(const cgrpc_jwt_claims *claims, const char *name, int64_t *value)
{
  json_object *m = claims_get(claims, name);
  if (m == NULL || value == NULL ||
      !(json_object_is_type(m, json_type_int) || json_object_is_type(m, json_type_double)))
    return CGRPC_ERR_NOT_FOUND;
  *value = json_object_get_int64(m); /* saturates; doubles truncate */
  return 0;
}

size_t cgrpc_jwt_claims_array_size(const cgrpc_jwt_claims *claims, const char *name)
{
  json_object *m = claims_get(claims, name);
  return m != NULL && json_object_is_type(m, json_type_array) ? json_object_array_length(m) : 0;
}

const char *cgrpc_jwt_claims_array_string(const cgrpc_jwt_claims *claims, const char *name,
                                          size_t i)
{
  if (i >= cgrpc_jwt_claims_array_size(claims, name))
    return NULL;
  return claims_cstring(json_object_array_get_idx(claims_get(claims, name), i));
}

/* Nonzero when value is one of the space-separated words of s. */
static int claims_has_word(const char *s, const char *value)
{
  size_t n = strlen(value);
  while (*s != '\0') {
    while (*s == ' ')
      s++;
    size_t w = strcspn(s, " ");
    if (w == n && w > 0 && memcmp(s, value, n) == 0)
      return 1;
    s += w;
  }
  return 0;
}

int cgrpc_jwt_claims_has(const cgrpc_jwt_claims *claims, const char *name, const char *value)
{
  json_object *m = claims_get(claims, name);
  if (m == NULL || value == NULL || value[0] == '\0')
    return 0;
  if (json_object_is_type(m, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(m); i++) {
      const char *s = claims_cstring(json_object_array_get_idx(m, i));
      if (s != NULL && strcmp(s, value) == 0)
        return 1;
    }
    return 0;
  }
  const char *s = claims_cstring(m);
  return s != NULL && claims_has_word(s, value);
}
