/* The JWT server interceptor: per-method rules (open, or a token with required claim values),
 * the bearer token of each call, and its verified claims handed to the handler. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cgrpc/extension.h>

#include "base/alloc.h"
#include "ext/jwt_internal.h"

#define AUTH_HEADER "authorization"
#define AUTH_SCHEME "Bearer"

/* Tags the claims this module attaches to a call. */
static const char auth_kind = 'J';

typedef struct auth_need {
  char *claim;
  char *value;
} auth_need;

typedef struct auth_rule {
  char *name; /* "/pkg.Service/Method", "pkg.Service" or "*" */
  int open;
  auth_need *needs;
  size_t nneeds;
} auth_rule;

struct cgrpc_jwt_auth {
  cgrpc_allocator alloc;
  const cgrpc_jwt_verifier *verifier;
  auth_rule *rules;
  size_t nrules;
};

int cgrpc_jwt_auth_new(cgrpc_jwt_auth **out, const cgrpc_jwt_verifier *verifier,
                       const cgrpc_allocator *alloc)
{
  if (out == NULL || verifier == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_allocator a;
  cgrpc_alloc_init(&a, alloc);
  cgrpc_jwt_auth *auth = cgrpc_calloc(&a, 1, sizeof *auth);
  if (auth == NULL)
    return CGRPC_ERR_NOMEM;
  auth->alloc = a;
  auth->verifier = verifier;
  *out = auth;
  return 0;
}

void cgrpc_jwt_auth_free(cgrpc_jwt_auth *auth)
{
  if (auth == NULL)
    return;
  for (size_t i = 0; i < auth->nrules; i++) {
    auth_rule *r = &auth->rules[i];
    for (size_t j = 0; j < r->nneeds; j++) {
      cgrpc_free(&auth->alloc, r->needs[j].claim);
      cgrpc_free(&auth->alloc, r->needs[j].value);
    }
    cgrpc_free(&auth->alloc, r->needs);
    cgrpc_free(&auth->alloc, r->name);
  }
  cgrpc_free(&auth->alloc, auth->rules);
  cgrpc_free(&auth->alloc, auth);
}

/* ---- rules ---------------------------------------------------------------------------------- */

/* "*", "pkg.Service" or "/pkg.Service/Method": no spaces, no empty part. */
static int auth_rule_valid(const char *name)
{
  if (name == NULL || name[0] == '\0' || strpbrk(name, " \t\r\n") != NULL)
    return 0;
  if (strcmp(name, "*") == 0)
    return 1;
  if (name[0] != '/')
    return strchr(name, '/') == NULL && strchr(name, '*') == NULL;
  const char *slash = strchr(name + 1, '/');
  return slash != NULL && slash > name + 1 && slash[1] != '\0' && strchr(slash + 1, '/') == NULL;
}

static auth_rule *auth_rule_find(const cgrpc_jwt_auth *auth, const char *name, size_t len)
{
  for (size_t i = 0; i < auth->nrules; i++)
    if (strlen(auth->rules[i].name) == len && memcmp(auth->rules[i].name, name, len) == 0)
      return &auth->rules[i];
  return NULL;
}

/* The rule called name, made (neither open nor requiring anything) if there is none. */
static auth_rule *auth_rule_get(cgrpc_jwt_auth *auth, const char *name)
{
  auth_rule *r = auth_rule_find(auth, name, strlen(name));
  if (r != NULL)
    return r;
  auth_rule *rules = cgrpc_realloc(&auth->alloc, auth->rules, (auth->nrules + 1) * sizeof *rules);
  if (rules == NULL)
    return NULL;
  auth->rules = rules;
  r = &rules[auth->nrules];
  memset(r, 0, sizeof *r);
  if ((r->name = cgrpc_strdup(&auth->alloc, name)) == NULL)
    return NULL;
  auth->nrules++;
  return r;
}

int cgrpc_jwt_auth_add_open(cgrpc_jwt_auth *auth, const char *rule)
{
  if (auth == NULL || !auth_rule_valid(rule))
    return CGRPC_ERR_INVALID_ARGUMENT;
  auth_rule *r = auth_rule_get(auth, rule);
  if (r == NULL)
    return CGRPC_ERR_NOMEM;
  if (r->nneeds > 0)
    return CGRPC_ERR_EXISTS;
  r->open = 1;
  return 0;
}

static int auth_add_need(cgrpc_jwt_auth *auth, auth_rule *r, const char *claim, const char *value,
                         size_t len)
{
  auth_need *needs = cgrpc_realloc(&auth->alloc, r->needs, (r->nneeds + 1) * sizeof *needs);
  if (needs == NULL)
    return CGRPC_ERR_NOMEM;
  r->needs = needs;
  auth_need *n = &needs[r->nneeds];
  n->claim = cgrpc_strdup(&auth->alloc, claim);
  n->value = cgrpc_strndup(&auth->alloc, value, len);
  if (n->claim == NULL || n->value == NULL) {
    cgrpc_free(&auth->alloc, n->claim);
    cgrpc_free(&auth->alloc, n->value);
    return CGRPC_ERR_NOMEM;
  }
  r->nneeds++;
  return 0;
}

int cgrpc_jwt_auth_add_required(cgrpc_jwt_auth *auth, const char *rule, const char *claim,
                                const char *values)
{
  if (auth == NULL || !auth_rule_valid(rule) ||
      (claim != NULL && (claim[0] == '\0' || values == NULL || strspn(values, " ") == strlen(values))))
    return CGRPC_ERR_INVALID_ARGUMENT;
  auth_rule *r = auth_rule_get(auth, rule);
  if (r == NULL)
    return CGRPC_ERR_NOMEM;
  if (r->open)
    return CGRPC_ERR_EXISTS;
  for (const char *p = claim != NULL ? values : ""; *p != '\0';) {
    size_t n = strcspn(p, " ");
    int rv = n > 0 ? auth_add_need(auth, r, claim, p, n) : 0;
    if (rv != 0)
      return rv;
    p += n + strspn(p + n, " ");
  }
  return 0;
}

/* The rule a method follows: its own, its service's, "*"'s, or none (token required). */
static const auth_rule *auth_rule_for(const cgrpc_jwt_auth *auth, const char *path)
{
  const auth_rule *r = auth_rule_find(auth, path, strlen(path));
  const char *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
  if (r == NULL && slash != NULL)
    r = auth_rule_find(auth, path + 1, (size_t)(slash - path - 1));
  return r != NULL ? r : auth_rule_find(auth, "*", 1);
}

/* ---- the interceptor ------------------------------------------------------------------------ */

/* The call's bearer token: 0 and the token, 1 when there is no authorization header, -1 when
 * it is not one bearer token. */
static int auth_bearer(const cgrpc_server_call *call, const char **token, size_t *len)
{
  const cgrpc_metadata *md = cgrpc_server_call_metadata(call);
  const cgrpc_metadata_entry *found = NULL;
  for (size_t i = 0; i < cgrpc_metadata_count(md); i++) {
    const cgrpc_metadata_entry *e = cgrpc_metadata_at(md, i);
    if (strcmp(e->key, AUTH_HEADER) != 0)
      continue;
    if (found != NULL)
      return -1; /* which one would count? */
    found = e;
  }
  if (found == NULL)
    return 1;
  const char *v = (const char *)found->value;
  size_t n = found->value_len, scheme = strlen(AUTH_SCHEME), i = scheme;
  if (n <= scheme || strncasecmp(v, AUTH_SCHEME, scheme) != 0 || v[scheme] != ' ')
    return -1;
  while (i < n && v[i] == ' ')
    i++;
  if (i == n)
    return -1;
  *token = v + i;
  *len = n - i;
  return 0;
}

/* Ends the call PERMISSION_DENIED (returning 1) when claims lack a value the rule needs. */
static int auth_check_needs(cgrpc_server_call *call, const auth_rule *rule,
                            const cgrpc_jwt_claims *claims)
{
  for (size_t i = 0; rule != NULL && i < rule->nneeds; i++) {
    if (!cgrpc_jwt_claims_has(claims, rule->needs[i].claim, rule->needs[i].value)) {
      cgrpc_server_call_set_status(call, CGRPC_STATUS_PERMISSION_DENIED,
                                   "token lacks \"%s\" in claim \"%s\"", rule->needs[i].value,
                                   rule->needs[i].claim);
      return 1;
    }
  }
  return 0;
}

static void auth_claims_free(void *claims)
{
  cgrpc_jwt_claims_free(claims);
}

void cgrpc_jwt_auth_interceptor(cgrpc_server_call *call, void *user_data)
{
  const cgrpc_jwt_auth *auth = user_data;
  const auth_rule *rule = auth_rule_for(auth, cgrpc_server_call_path(call));
  int open = rule != NULL && rule->open;
  const char *token = NULL;
  size_t len = 0;
  cgrpc_jwt_claims *claims = NULL;
  int found = auth_bearer(call, &token, &len);
  int rv = found == 0 ? cgrpc_jwt_verify(auth->verifier, token, len, &claims) : 0;
  int refused = 0;
  /* On an open method the claims of a valid token are welcome, and no token or a bad one
   * is no reason to refuse. */
  if (!open && found != 0) {
    cgrpc_server_call_set_status(call, CGRPC_STATUS_UNAUTHENTICATED, "%s",
                                 found > 0 ? "missing bearer token (authorization: Bearer <jwt>)"
                                           : "authorization is not one bearer token");
    refused = 1;
  } else if (!open && rv != 0) {
    cgrpc_server_call_set_status(call, rv < 0 ? CGRPC_STATUS_INTERNAL : CGRPC_STATUS_UNAUTHENTICATED,
                                 "%s: %s", rv < 0 ? "cannot verify token" : "invalid token",
                                 cgrpc_jwt_reason(rv));
    refused = 1;
  } else if (!open) {
    refused = auth_check_needs(call, rule, claims);
  }
  if (refused) {
    cgrpc_jwt_claims_free(claims);
    cgrpc_server_call_finish(call);
    return;
  }
  if (claims != NULL)
    cgrpc_server_call_attach(call, &auth_kind, claims, auth_claims_free);
  cgrpc_server_call_proceed(call, NULL, NULL);
}

const cgrpc_jwt_claims *cgrpc_jwt_call_claims(const cgrpc_server_call *call)
{
  return cgrpc_server_call_attachment(call, &auth_kind);
}

const char *cgrpc_jwt_claim(const cgrpc_server_call *call, const char *name)
{
  return cgrpc_jwt_claims_string(cgrpc_jwt_call_claims(call), name);
}
