/* The access log's interceptors: one line per finished call, server and client. */
#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>

#include <cgrpc/interceptor.h>
#include <cgrpc/metrics.h>
#include <cgrpc/tracing.h>

#include "ext/accesslog_internal.h"
#include "ext/traceparent.h"

static const char *const method_types[] = {"unary", "client_stream", "server_stream",
                                           "bidi_stream"};

/* What a line says about a call, from either side. */
typedef struct call_facts {
  const char *component;
  const cgrpc_method_desc *desc;
  const char *path;
  const char *peer;
  cgrpc_time start, deadline;
  cgrpc_code code;
  const char *error;
  int attempts;
  const char *key; /* idempotency key, or NULL */
  char trace_id[33], span_id[17]; /* "" without tracing */
} call_facts;

static void put_key_hash(logline *l, const char *key)
{
  unsigned char digest[32];
  const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
  if (md == NULL || mbedtls_md(md, (const unsigned char *)key, strlen(key), digest) != 0)
    return;
  char hex[17];
  for (int i = 0; i < 8; i++)
    snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  logline_str(l, "idempotency_key_hash", hex);
}

static void log_call(cgrpc_access_log *log, const call_facts *f)
{
  cgrpc_code code = (unsigned)f->code < CGRPC_STATUS_CODE_COUNT ? f->code : CGRPC_STATUS_UNKNOWN;
  cgrpc_log_level level =
      (cgrpc_log_level)__atomic_load_n(&log->code_level[code], __ATOMIC_RELAXED);
  if ((int)level < __atomic_load_n(&log->min_level, __ATOMIC_RELAXED))
    return;
  cgrpc_time now = cgrpc_now();
  logline l;
  logline_begin(&l, __atomic_load_n(&log->format, __ATOMIC_RELAXED), level, "finished call");
  logline_str(&l, "grpc.component", f->component);
  const char *path = f->path != NULL ? f->path : "";
  const char *slash = path[0] == '/' ? strrchr(path, '/') : NULL;
  if (slash != NULL && slash != path) {
    logline_strn(&l, "grpc.service", path + 1, (size_t)(slash - path - 1));
    logline_str(&l, "grpc.method", slash + 1);
  } else {
    logline_str(&l, "grpc.service", "");
    logline_str(&l, "grpc.method", path);
  }
  if (f->desc != NULL && (unsigned)f->desc->kind <= CGRPC_METHOD_BIDI_STREAMING)
    logline_str(&l, "grpc.method_type", method_types[f->desc->kind]);
  if (f->peer != NULL)
    logline_str(&l, "peer.address", f->peer);
  logline_time(&l, "grpc.start_time", f->start);
  if (f->deadline != CGRPC_TIME_INFINITE)
    logline_time(&l, "grpc.request.deadline", f->deadline);
  logline_str(&l, "grpc.code", cgrpc_code_camel_name(f->code));
  if (f->code != CGRPC_STATUS_OK)
    logline_str(&l, "grpc.error", f->error != NULL ? f->error : "");
  logline_num(&l, "grpc.time_ms", (double)(now - f->start) / 1e6, 3);
  if (f->trace_id[0] != '\0') {
    logline_str(&l, "trace_id", f->trace_id);
    logline_str(&l, "span_id", f->span_id);
  }
  logline_int(&l, "attempts", f->attempts);
  if (f->key != NULL && f->key[0] != '\0')
    put_key_hash(&l, f->key);
  size_t len = logline_end(&l);
  cgrpc_access_log_put(log, level, l.buf, len);
}

/* ---- server ------------------------------------------------------------------------------ */


static void server_on_done(cgrpc_server_call *call, cgrpc_code code, const char *message,
                           void *ud)
{
  call_facts f = {
      .component = "server",
      .desc = cgrpc_server_call_method(call),
      .path = cgrpc_server_call_path(call),
      .peer = cgrpc_go_peer_address(cgrpc_server_call_peer(call)),
      .start = cgrpc_server_call_start_time(call),
      .deadline = cgrpc_server_call_deadline(call),
      .code = code,
      .error = message,
      .attempts = cgrpc_server_call_previous_attempts(call) + 1,
      .key = cgrpc_server_call_idempotency_key(call),
  };
  cgrpc_tracing_server_ids(call, f.trace_id, f.span_id, NULL);
  log_call(ud, &f);
}

int cgrpc_access_log_attach_server(cgrpc_access_log *log, cgrpc_server_options *opts)
{
  if (log == NULL || opts == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  static const cgrpc_server_interceptor_hooks hooks = {.on_done = server_on_done};
  return cgrpc_server_options_add_interceptor_hooks(opts, &hooks, log);
}

/* ---- client ------------------------------------------------------------------------------ */

static void client_on_done(cgrpc_client_ctx *ctx, const cgrpc_status *status, void *ud)
{
  const cgrpc_method_desc *desc = cgrpc_client_ctx_method(ctx);
  const cgrpc_metadata *md = cgrpc_client_ctx_request_metadata(ctx);
  const char *header = desc != NULL && desc->policy != NULL &&
                               desc->policy->idempotency_key_header != NULL
                           ? desc->policy->idempotency_key_header
                           : CGRPC_IDEMPOTENCY_KEY_HEADER;
  call_facts f = {
      .component = "client",
      .desc = desc,
      .path = desc != NULL ? desc->path : NULL,
      .peer = cgrpc_channel_authority(cgrpc_client_ctx_channel(ctx)),
      .start = cgrpc_client_ctx_start_time(ctx),
      .deadline = cgrpc_client_ctx_deadline(ctx),
      .code = status->code,
      .error = status->message,
      .attempts = status->attempts,
      .key = cgrpc_metadata_get(md, header),
  };
  /* With tracing on, the traceparent the call sent: its trace, and its span as the parent. */
  const char *tp = cgrpc_metadata_get(md, "traceparent");
  cgrpc_traceparent ids;
  if (tp != NULL && cgrpc_traceparent_parse(tp, strlen(tp), &ids)) {
    cgrpc_hex(ids.trace_id, sizeof ids.trace_id, f.trace_id);
    cgrpc_hex(ids.parent_id, sizeof ids.parent_id, f.span_id);
  }
  log_call(ud, &f);
}

int cgrpc_access_log_attach_channel(cgrpc_access_log *log, cgrpc_channel_options *opts)
{
  if (log == NULL || opts == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  static const cgrpc_client_interceptor_hooks hooks = {.on_done = client_on_done};
  return cgrpc_channel_options_add_interceptor_hooks(opts, &hooks, log);
}
