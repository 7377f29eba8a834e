/* Status codes, their names, cgrpc_status, and the HTTP/2 to gRPC mappings. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "base/alloc.h"
#include "wire/status_map.h"

static const char *const code_names[CGRPC_STATUS_CODE_COUNT] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *cgrpc_code_name(int code)
{
  if (code < 0 || code >= CGRPC_STATUS_CODE_COUNT)
    return "UNKNOWN_CODE";
  return code_names[code];
}

int cgrpc_code_from_name(const char *name)
{
  if (name == NULL)
    return -1;
  for (int i = 0; i < CGRPC_STATUS_CODE_COUNT; i++)
    if (strcasecmp(name, code_names[i]) == 0)
      return i;
  return -1;
}

void cgrpc_status_init(cgrpc_status *st)
{
  static const cgrpc_status init = CGRPC_STATUS_INIT;
  *st = init;
}

void cgrpc_status_clear(cgrpc_status *st)
{
  if (st == NULL)
    return;
  if (st->message == NULL && st->initial_metadata == NULL && st->trailing_metadata == NULL) {
    st->code = CGRPC_STATUS_OK; /* nothing to free: the common case of every call */
    st->attempts = st->transparent_retries = 0;
    return;
  }
  if (st->message != NULL) {
    cgrpc_allocator a;
    cgrpc_alloc_init(&a, &st->alloc_);
    cgrpc_free(&a, st->message);
  }
  cgrpc_metadata_free(st->initial_metadata);
  cgrpc_metadata_free(st->trailing_metadata);
  cgrpc_status_init(st);
}

void cgrpc_status_move(cgrpc_status *dst, cgrpc_status *src)
{
  if (dst == src)
    return;
  cgrpc_status_clear(dst);
  *dst = *src;
  cgrpc_status_init(src);
}

int cgrpc_status_set(cgrpc_status *st, const cgrpc_allocator *a, cgrpc_code code,
                     const char *message)
{
  cgrpc_allocator al;
  cgrpc_alloc_init(&al, a);
  if (st->message != NULL) {
    cgrpc_allocator old;
    cgrpc_alloc_init(&old, &st->alloc_);
    cgrpc_free(&old, st->message);
  }
  st->alloc_ = al;
  st->code = code;
  st->message = cgrpc_strdup(&al, message != NULL ? message : "");
  return st->message != NULL ? 0 : CGRPC_ERR_NOMEM;
}

int cgrpc_status_setv(cgrpc_status *st, const cgrpc_allocator *a, cgrpc_code code,
                      const char *fmt, va_list ap)
{
  char buf[512];
  if (fmt == NULL)
    return cgrpc_status_set(st, a, code, NULL);
  vsnprintf(buf, sizeof buf, fmt, ap);
  return cgrpc_status_set(st, a, code, buf);
}

int cgrpc_status_setf(cgrpc_status *st, const cgrpc_allocator *a, cgrpc_code code,
                      const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rv = cgrpc_status_setv(st, a, code, fmt, ap);
  va_end(ap);
  return rv;
}

cgrpc_code cgrpc_code_from_http_status(int http_status)
{
  switch (http_status) {
  case 400:
    return CGRPC_STATUS_INTERNAL;
  case 401:
    return CGRPC_STATUS_UNAUTHENTICATED;
  case 403:
    return CGRPC_STATUS_PERMISSION_DENIED;
  case 404:
    return CGRPC_STATUS_UNIMPLEMENTED;
  case 429:
  case 502:
  case 503:
  case 504:
    return CGRPC_STATUS_UNAVAILABLE;
  default:
    return CGRPC_STATUS_UNKNOWN;
  }
}

cgrpc_code cgrpc_code_from_rst_stream(uint32_t h2_error)
{
  switch (h2_error) {
  case NGHTTP2_REFUSED_STREAM:
    return CGRPC_STATUS_UNAVAILABLE;
  case NGHTTP2_CANCEL:
    return CGRPC_STATUS_CANCELLED;
  case NGHTTP2_ENHANCE_YOUR_CALM:
    return CGRPC_STATUS_RESOURCE_EXHAUSTED;
  case NGHTTP2_INADEQUATE_SECURITY:
    return CGRPC_STATUS_PERMISSION_DENIED;
  default:
    return CGRPC_STATUS_INTERNAL;
  }
}

int cgrpc_code_parse(const char *s, size_t len)
{
  if (len == 0 || len > 9)
    return -1;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v < CGRPC_STATUS_CODE_COUNT ? v : CGRPC_STATUS_UNKNOWN;
}
