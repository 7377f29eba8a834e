/* The access log: settings, the queue of lines and the thread that hands them to the sink. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ext/accesslog_internal.h"

#define ACCESS_LOG_QUEUE (1 << 20) /* bytes of queued lines, per buffer */
/* The writer wakes when this much is queued, or every ACCESS_LOG_PERIOD_MS: a line costs its
 * call no wake-up of another thread (a futex call and a context switch). */
#define ACCESS_LOG_WAKE (64 << 10)
#define ACCESS_LOG_PERIOD_MS 50

/* go-grpc-middleware's DefaultServerCodeToLevel. */
static const unsigned char default_levels[CGRPC_STATUS_CODE_COUNT] = {
    [CGRPC_STATUS_OK] = CGRPC_LOG_INFO,
    [CGRPC_STATUS_CANCELLED] = CGRPC_LOG_INFO,
    [CGRPC_STATUS_UNKNOWN] = CGRPC_LOG_ERROR,
    [CGRPC_STATUS_INVALID_ARGUMENT] = CGRPC_LOG_INFO,
    [CGRPC_STATUS_DEADLINE_EXCEEDED] = CGRPC_LOG_WARNING,
    [CGRPC_STATUS_NOT_FOUND] = CGRPC_LOG_INFO,
    [CGRPC_STATUS_ALREADY_EXISTS] = CGRPC_LOG_INFO,
    [CGRPC_STATUS_PERMISSION_DENIED] = CGRPC_LOG_WARNING,
    [CGRPC_STATUS_RESOURCE_EXHAUSTED] = CGRPC_LOG_WARNING,
    [CGRPC_STATUS_FAILED_PRECONDITION] = CGRPC_LOG_WARNING,
    [CGRPC_STATUS_ABORTED] = CGRPC_LOG_WARNING,
    [CGRPC_STATUS_OUT_OF_RANGE] = CGRPC_LOG_WARNING,
    [CGRPC_STATUS_UNIMPLEMENTED] = CGRPC_LOG_ERROR,
    [CGRPC_STATUS_INTERNAL] = CGRPC_LOG_ERROR,
    [CGRPC_STATUS_UNAVAILABLE] = CGRPC_LOG_WARNING,
    [CGRPC_STATUS_DATA_LOSS] = CGRPC_LOG_ERROR,
    [CGRPC_STATUS_UNAUTHENTICATED] = CGRPC_LOG_INFO,
};

/* ---- the writer thread ----------------------------------------------------------------- */

typedef struct sink_ref {
  cgrpc_access_log_sink fn;
  void *ud;
} sink_ref;

static void sink_line(sink_ref sink, cgrpc_log_level level, const char *line, size_t len)
{
  if (sink.fn != NULL) {
    sink.fn(level, line, len, sink.ud);
    return;
  }
  fwrite(line, 1, len, stderr);
  fputc('\n', stderr);
}

static void *access_log_main(void *arg)
{
  cgrpc_access_log *log = arg;
  pthread_mutex_lock(&log->mu);
  for (;;) {
    if (log->front.len < ACCESS_LOG_WAKE && !log->stop) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += ACCESS_LOG_PERIOD_MS * 1000000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&log->cond, &log->mu, &until);
    }
    if (log->front.len == 0 && log->untold == 0) {
      if (log->stop)
        break; /* everything written */
      continue;
    }
    line_buf batch = log->front; /* swap: producers go on into the other buffer */
    log->front = log->back;
    log->front.len = 0;
    unsigned long untold = log->untold;
    log->untold = 0;
    int format = __atomic_load_n(&log->format, __ATOMIC_RELAXED);
    sink_ref sink = {log->sink, log->sink_ud}; /* as set when the batch was taken */
    pthread_mutex_unlock(&log->mu);
    if (untold > 0) {
      logline l;
      logline_begin(&l, format, CGRPC_LOG_WARNING, "access log lines dropped: the sink is slow");
      logline_str(&l, "grpc.component", "accesslog");
      logline_int(&l, "dropped", (long long)untold);
      sink_line(sink, CGRPC_LOG_WARNING, l.buf, logline_end(&l));
    }
    for (size_t at = 0; at < batch.len;) {
      cgrpc_log_level level = (cgrpc_log_level)(unsigned char)batch.data[at];
      uint32_t len;
      memcpy(&len, batch.data + at + 1, sizeof len);
      sink_line(sink, level, batch.data + at + 5, len);
      at += 5 + len;
    }
    if (sink.fn == NULL)
      fflush(stderr);
    else if (log->batch_done != NULL)
      log->batch_done(sink.ud);
    pthread_mutex_lock(&log->mu);
    log->back = batch;
  }
  pthread_mutex_unlock(&log->mu);
  return NULL;
}

void cgrpc_access_log_put(cgrpc_access_log *log, cgrpc_log_level level, const char *line,
                          size_t len)
{
  pthread_mutex_lock(&log->mu);
  if (log->front.len + 5 + len > log->cap) {
    log->untold++;
    __atomic_fetch_add(&log->dropped, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&log->mu);
    return;
  }
  char *p = log->front.data + log->front.len;
  p[0] = (char)level;
  uint32_t n = (uint32_t)len;
  memcpy(p + 1, &n, sizeof n);
  memcpy(p + 5, line, len);
  size_t before = log->front.len;
  log->front.len += 5 + len;
  int wake = before < ACCESS_LOG_WAKE && log->front.len >= ACCESS_LOG_WAKE;
  pthread_mutex_unlock(&log->mu);
  if (wake)
    pthread_cond_signal(&log->cond);
}

/* ---- the object ------------------------------------------------------------------------- */

int cgrpc_access_log_new(cgrpc_access_log **out)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_access_log *log = calloc(1, sizeof *log);
  if (log == NULL)
    return CGRPC_ERR_NOMEM;
  log->cap = ACCESS_LOG_QUEUE;
  log->front.data = malloc(log->cap);
  log->back.data = malloc(log->cap);
  if (log->front.data == NULL || log->back.data == NULL) {
    free(log->front.data);
    free(log->back.data);
    free(log);
    return CGRPC_ERR_NOMEM;
  }
  log->format = CGRPC_ACCESS_LOG_JSON;
  log->min_level = CGRPC_LOG_INFO;
  memcpy(log->code_level, default_levels, sizeof default_levels);
  pthread_mutex_init(&log->mu, NULL);
  pthread_cond_init(&log->cond, NULL);
  if (pthread_create(&log->thread, NULL, access_log_main, log) != 0) {
    pthread_cond_destroy(&log->cond);
    pthread_mutex_destroy(&log->mu);
    free(log->front.data);
    free(log->back.data);
    free(log);
    return CGRPC_ERR_SYSTEM;
  }
  pthread_setname_np(log->thread, "cgrpc-accesslog");
  *out = log;
  return 0;
}

void cgrpc_access_log_free(cgrpc_access_log *log)
{
  if (log == NULL)
    return;
  if (log->captured) {
    cgrpc_log_set_handler(NULL, NULL);
    cgrpc_log_set_level(CGRPC_LOG_WARNING);
  }
  pthread_mutex_lock(&log->mu);
  log->stop = 1;
  pthread_mutex_unlock(&log->mu);
  pthread_cond_signal(&log->cond);
  pthread_join(log->thread, NULL);
  pthread_cond_destroy(&log->cond);
  pthread_mutex_destroy(&log->mu);
  free(log->front.data);
  free(log->back.data);
  free(log);
}

void cgrpc_access_log_set_format(cgrpc_access_log *log, cgrpc_access_log_format format)
{
  if (log != NULL && (format == CGRPC_ACCESS_LOG_JSON || format == CGRPC_ACCESS_LOG_LOGFMT))
    __atomic_store_n(&log->format, (int)format, __ATOMIC_RELAXED);
}

void cgrpc_access_log_set_sink(cgrpc_access_log *log, cgrpc_access_log_sink sink, void *user_data)
{
  if (log == NULL)
    return;
  pthread_mutex_lock(&log->mu); /* the writer takes them with each batch */
  log->sink = sink;
  log->sink_ud = user_data;
  pthread_mutex_unlock(&log->mu);
}

int cgrpc_access_log_set_code_level(cgrpc_access_log *log, cgrpc_code code, cgrpc_log_level level)
{
  if (log == NULL || (unsigned)code >= CGRPC_STATUS_CODE_COUNT || (unsigned)level > CGRPC_LOG_ERROR)
    return CGRPC_ERR_INVALID_ARGUMENT;
  __atomic_store_n(&log->code_level[code], (unsigned char)level, __ATOMIC_RELAXED);
  return 0;
}

void cgrpc_access_log_set_min_level(cgrpc_access_log *log, cgrpc_log_level min)
{
  if (log != NULL)
    __atomic_store_n(&log->min_level, (int)min, __ATOMIC_RELAXED);
}

unsigned long cgrpc_access_log_dropped(const cgrpc_access_log *log)
{
  return log != NULL ? __atomic_load_n(&log->dropped, __ATOMIC_RELAXED) : 0;
}

/* ---- the runtime's own lines ------------------------------------------------------------ */

static void runtime_line(cgrpc_log_level level, const char *message, void *ud)
{
  cgrpc_access_log *log = ud;
  if ((int)level < __atomic_load_n(&log->min_level, __ATOMIC_RELAXED))
    return;
  logline l;
  logline_begin(&l, __atomic_load_n(&log->format, __ATOMIC_RELAXED), level, message);
  logline_str(&l, "grpc.component", "runtime");
  size_t len = logline_end(&l);
  cgrpc_access_log_put(log, level, l.buf, len);
}

void cgrpc_access_log_capture_runtime(cgrpc_access_log *log)
{
  if (log == NULL)
    return;
  log->captured = 1;
  cgrpc_log_set_handler(runtime_line, log);
  /* The runtime's routine events (connections up and down, GOAWAY) are info lines, which
   * the runtime drops by default: let them through, for this log's own minimum to filter. */
  cgrpc_log_set_level(CGRPC_LOG_DEBUG);
}
