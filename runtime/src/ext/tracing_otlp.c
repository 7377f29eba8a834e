/* The OTLP/JSON file exporter: each span as one ExportTraceServiceRequest line, queued to a
 * writer thread (the access log's queue, with a sink that appends to the file). */
#include <stdlib.h>
#include <string.h>

#include <cgrpc/metrics.h>
#include <cgrpc/version.h>

#include "ext/accesslog_internal.h"
#include "ext/tracing_internal.h"

/* A growing text buffer; on allocation failure it stops growing and the line is dropped. */
typedef struct text {
  char *buf;
  size_t len, cap;
  int failed;
} text;

static int text_room(text *t, size_t n)
{
  if (t->failed)
    return 0;
  if (t->len + n <= t->cap)
    return 1;
  size_t cap = t->cap ? t->cap : 4096;
  while (cap < t->len + n)
    cap *= 2;
  char *b = realloc(t->buf, cap);
  if (b == NULL) {
    t->failed = 1;
    return 0;
  }
  t->buf = b;
  t->cap = cap;
  return 1;
}

static void add(text *t, const char *s)
{
  size_t n = strlen(s);
  if (text_room(t, n)) {
    memcpy(t->buf + t->len, s, n);
    t->len += n;
  }
}

static void add_quoted(text *t, const char *s)
{
  size_t n = strlen(s);
  if (text_room(t, 6 * n + 8))
    t->len += cgrpc_json_quote(t->buf + t->len, 6 * n + 8, s, n);
}

static void add_num(text *t, long long v)
{
  char tmp[24];
  size_t n = cgrpc_decimal(tmp, v);
  if (text_room(t, n)) {
    memcpy(t->buf + t->len, tmp, n);
    t->len += n;
  }
}

/* An attribute: key is a constant that needs no escaping. */
static void add_attr_str(text *t, const char *key, const char *value, int first)
{
  add(t, first ? "{\"key\":\"" : ",{\"key\":\"");
  add(t, key);
  add(t, "\",\"value\":{\"stringValue\":");
  add_quoted(t, value);
  add(t, "}}");
}

static void add_attr_int(text *t, const char *key, long long value)
{
  add(t, ",{\"key\":\"");
  add(t, key);
  add(t, "\",\"value\":{\"intValue\":\"");
  add_num(t, value);
  add(t, "\"}}");
}

void cgrpc_tracing_export(cgrpc_tracing *tr, const cgrpc_span *sp)
{
  text t = {0};
  add(&t, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
  add_attr_str(&t, "service.name", tr->service_name != NULL ? tr->service_name : "cgrpc", 1);
  add(&t, "]},\"scopeSpans\":[{\"scope\":{\"name\":\"cgrpc\",\"version\":\"" CGRPC_VERSION
          "\"},\"spans\":[{\"traceId\":\"");
  add(&t, sp->trace_id);
  add(&t, "\",\"spanId\":\"");
  add(&t, sp->span_id);
  add(&t, "\",");
  if (sp->parent_span_id[0] != '\0') {
    add(&t, "\"parentSpanId\":\"");
    add(&t, sp->parent_span_id);
    add(&t, "\",");
  }
  add(&t, "\"name\":");
  add_quoted(&t, sp->name);
  add(&t, sp->server ? ",\"kind\":2" : ",\"kind\":3"); /* SPAN_KIND_SERVER, SPAN_KIND_CLIENT */
  add(&t, ",\"startTimeUnixNano\":\"");
  add_num(&t, sp->start_unix_nano);
  add(&t, "\",\"endTimeUnixNano\":\"");
  add_num(&t, sp->end_unix_nano);
  add(&t, "\",\"attributes\":[");
  /* "Recv.pkg.Service.Method": the service is what lies between the first and the last dot */
  const char *svc = strchr(sp->name, '.'), *method = strrchr(sp->name, '.');
  char service[160] = "";
  if (svc != NULL && method > svc && (size_t)(method - svc - 1) < sizeof service) {
    memcpy(service, svc + 1, (size_t)(method - svc - 1));
    service[method - svc - 1] = '\0';
  }
  add_attr_str(&t, "rpc.system", "grpc", 1);
  add_attr_str(&t, "rpc.service", service, 0);
  add_attr_str(&t, "rpc.method", method != NULL ? method + 1 : "", 0);
  add_attr_int(&t, "rpc.grpc.status_code", sp->code);
  add_attr_str(&t, "net.peer.name", sp->peer, 0);
  add_attr_int(&t, "previous-rpc-attempts", sp->previous_rpc_attempts);
  if (!sp->server) {
    add(&t, sp->transparent_retries > 0
                ? ",{\"key\":\"transparent-retry\",\"value\":{\"boolValue\":true}}"
                : ",{\"key\":\"transparent-retry\",\"value\":{\"boolValue\":false}}");
    add_attr_int(&t, "attempts", sp->attempts);
  }
  add(&t, "],\"events\":[");
  for (size_t i = 0; i < sp->nevents; i++) {
    const cgrpc_span_event *e = &sp->events[i];
    add(&t, i > 0 ? ",{\"timeUnixNano\":\"" : "{\"timeUnixNano\":\"");
    add_num(&t, e->unix_nano);
    add(&t, "\"");
    add(&t, e->outbound ? ",\"name\":\"Outbound message\",\"attributes\":["
                        : ",\"name\":\"Inbound message\",\"attributes\":[");
    add(&t, "{\"key\":\"sequence-number\",\"value\":{\"intValue\":\"");
    add_num(&t, e->sequence);
    add(&t, "\"}}");
    add_attr_int(&t, "message-size", (long long)e->size);
    add(&t, "]}");
  }
  add(&t, "],\"droppedEventsCount\":");
  add_num(&t, (long long)sp->dropped_events);
  add(&t, ",\"status\":{");
  if (sp->code != CGRPC_STATUS_OK) { /* STATUS_CODE_ERROR; OK leaves it unset */
    add(&t, "\"code\":2,\"message\":");
    add_quoted(&t, sp->message);
  }
  add(&t, "}}]}]}]}");
  if (!t.failed)
    cgrpc_access_log_put(tr->exporter, CGRPC_LOG_INFO, t.buf, t.len);
  free(t.buf);
}

static void file_sink(cgrpc_log_level level, const char *line, size_t len, void *ud)
{
  (void)level;
  FILE *f = ud;
  fwrite(line, 1, len, f);
  fputc('\n', f);
}

static void file_flush(void *ud)
{
  fflush(ud);
}

int cgrpc_tracing_export_otlp_file(cgrpc_tracing *t, const char *path, const char *service_name)
{
  if (t == NULL || path == NULL || t->exporter != NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  FILE *f = fopen(path, "a");
  if (f == NULL)
    return CGRPC_ERR_SYSTEM;
  char *name = service_name != NULL ? strdup(service_name) : NULL;
  cgrpc_access_log *q;
  int rv = service_name != NULL && name == NULL ? CGRPC_ERR_NOMEM : cgrpc_access_log_new(&q);
  if (rv != 0) {
    free(name);
    fclose(f);
    return rv;
  }
  cgrpc_access_log_set_sink(q, file_sink, f);
  q->batch_done = file_flush;
  t->exporter = q;
  t->file = f;
  t->service_name = name;
  return 0;
}
