/* Call options: per-call deadline, request metadata, compression, retry policy and
 * idempotency key. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "client/options.h"
#include "wire/compress.h"
#include "wire/metadata_internal.h"

int cgrpc_call_options_new(cgrpc_call_options **out)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_call_options *o = calloc(1, sizeof *o);
  if (o == NULL)
    return CGRPC_ERR_NOMEM;
  *out = o; /* nothing set: the method's and the service config's policy apply */
  return 0;
}

void cgrpc_call_options_free(cgrpc_call_options *o)
{
  if (o == NULL)
    return;
  cgrpc_metadata_free(o->md);
  free(o->idempotency_key);
  free(o);
}

void cgrpc_call_options_set_timeout_ms(cgrpc_call_options *o, int64_t ms)
{
  if (o == NULL)
    return;
  o->timeout_ms = ms;
  o->set = (o->set | CGRPC_CALL_OPT_TIMEOUT) & ~(unsigned)CGRPC_CALL_OPT_DEADLINE;
}

void cgrpc_call_options_set_deadline(cgrpc_call_options *o, cgrpc_time deadline)
{
  if (o == NULL)
    return;
  o->deadline = deadline;
  o->set |= CGRPC_CALL_OPT_DEADLINE;
}

int cgrpc_call_options_set_compression(cgrpc_call_options *o, const char *encoding)
{
  cgrpc_encoding e = encoding != NULL ? cgrpc_encoding_parse(encoding, strlen(encoding))
                                      : CGRPC_ENCODING_IDENTITY;
  if (o == NULL || e == CGRPC_ENCODING_UNKNOWN)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->compression = e;
  o->set |= CGRPC_CALL_OPT_COMPRESSION;
  return 0;
}

cgrpc_metadata *cgrpc_call_options_metadata(cgrpc_call_options *o)
{
  if (o == NULL || cgrpc_metadata_ensure(&o->md, NULL) != 0)
    return NULL;
  return o->md;
}

int cgrpc_call_options_add_metadata(cgrpc_call_options *o, const char *key, const void *value,
                                    size_t len)
{
  cgrpc_metadata *md = cgrpc_call_options_metadata(o);
  if (md == NULL)
    return o == NULL ? CGRPC_ERR_INVALID_ARGUMENT : CGRPC_ERR_NOMEM;
  return cgrpc_metadata_add(md, key, value, len);
}

int cgrpc_call_options_set_retry_policy(cgrpc_call_options *o, const cgrpc_retry_policy *policy)
{
  if (o == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  o->set |= CGRPC_CALL_OPT_RETRY;
  memset(&o->retry, 0, sizeof o->retry);
  if (policy != NULL)
    o->retry = *policy;
  return 0;
}

int cgrpc_call_options_set_idempotency_key(cgrpc_call_options *o, const char *key)
{
  if (o == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (key != NULL) {
    size_t n = strlen(key);
    if (n == 0 || n > 128)
      return CGRPC_ERR_BAD_VALUE;
    for (size_t i = 0; i < n; i++)
      if (key[i] < 0x20 || key[i] > 0x7e)
        return CGRPC_ERR_BAD_VALUE;
  }
  return cgrpc_replace_string(&o->idempotency_key, key);
}

void cgrpc_call_options_set_wait_for_ready(cgrpc_call_options *o, int wait)
{
  if (o == NULL)
    return;
  o->set |= CGRPC_CALL_OPT_WAIT_FOR_READY;
  o->wait_for_ready = wait != 0;
}

void cgrpc_call_options_set_call_credentials(cgrpc_call_options *o, cgrpc_call_credentials_fn fn,
                                             void *user_data, int allow_insecure)
{
  if (o == NULL)
    return;
  cgrpc_call_creds c = {fn, user_data, allow_insecure != 0};
  o->creds = c;
  o->set |= CGRPC_CALL_OPT_CREDENTIALS;
}

void cgrpc_call_options_set_parent(cgrpc_call_options *o, const cgrpc_server_call *parent)
{
  if (o != NULL)
    o->parent = parent;
}
