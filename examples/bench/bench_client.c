/* cgrpc BenchmarkService client: runs N UnaryCalls with C in flight and prints
 * throughput and latency, in the same format as grpcxx_client.
 *
 * --mode async (default): C calls started with the asynchronous stub; each
 * completion callback (on the channel's I/O thread) records the call's latency
 * and starts the next call, so C calls stay in flight with no thread per call.
 * --mode blocking: C threads, each making blocking stub calls one after another.
 *
 * Flags: --target host:port --calls N --concurrency C --req_size B
 *        --resp_size B --warmup N --mode async|blocking; or --write_request FILE
 *        to write one gRPC-framed SimpleRequest for h2load --data, and exit.
 * Output: one line
 *   RESULT impl=cgrpc mode=M calls=N concurrency=C secs=S qps=Q p50_us=X
 *          p99_us=Y mean_us=A max_us=B errors=E
 * Exit status: 0 when every call succeeded, 1 otherwise, 2 on bad usage. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrpc/cgrpc.h>

#include "grpc/testing/benchmark_service.cgrpc.h"

typedef struct options {
  const char *target;
  long calls, concurrency, req_size, resp_size, warmup;
  int blocking;
  const char *write_request;
} options;

/* One phase of the run (warm-up or measurement).  The counters are shared by
 * the main thread and the I/O thread (async) or the caller threads (blocking),
 * so they are only touched under mu. */
typedef struct phase {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  long target;     /* calls to make */
  long started;    /* calls handed to the library */
  long completed;  /* calls ended, successfully or not */
  long errors;
  char first_error[256];
  int64_t *latencies; /* ns, of the calls that succeeded; NULL while warming up */
  long n_latencies;
  cgrpc_time end;     /* when the last call completed */
} phase;

typedef struct bench {
  const options *opt;
  cgrpc_channel *channel;
  ProtobufCAllocator *pb_alloc;
  const Grpc__Testing__SimpleRequest *request;
  phase *phase;
} bench;

/* One call in flight (async mode): reused for the next call when it completes. */
typedef struct slot {
  bench *b;
  cgrpc_time start;
} slot;

/* Counts a failed call; the first failure's description is kept for the report. */
static void phase_error(phase *ph, const char *fmt, ...) CGRPC_PRINTF(2, 3);
static void phase_error(phase *ph, const char *fmt, ...)
{
  pthread_mutex_lock(&ph->mu);
  if (ph->errors++ == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ph->first_error, sizeof ph->first_error, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&ph->mu);
}

/* Checks one call's outcome and frees the response.  Returns 1 if it succeeded. */
static int check_reply(bench *b, cgrpc_code code, const char *message,
                       Grpc__Testing__SimpleResponse *response, phase *ph)
{
  int ok = 0;
  if (code != CGRPC_STATUS_OK) {
    phase_error(ph, "status %s: %s", cgrpc_code_name(code), message != NULL ? message : "");
  } else {
    size_t got = response != NULL && response->payload != NULL ? response->payload->body.len : 0;
    if (got == (size_t)b->opt->resp_size)
      ok = 1;
    else
      phase_error(ph, "payload of %zu bytes, expected %ld", got, b->opt->resp_size);
  }
  if (response != NULL)
    protobuf_c_message_free_unpacked(&response->base, b->pb_alloc);
  return ok;
}

/* ---- async mode ------------------------------------------------------------ */

static void start_call(slot *s);

static void on_done(cgrpc_status *status, Grpc__Testing__SimpleResponse *response,
                    void *user_data)
{
  slot *s = user_data;
  bench *b = s->b;
  phase *ph = b->phase;
  cgrpc_time now = cgrpc_now();
  int ok = check_reply(b, status->code, status->message, response, ph);

  pthread_mutex_lock(&ph->mu);
  if (ok && ph->latencies != NULL)
    ph->latencies[ph->n_latencies++] = now - s->start;
  ph->completed++;
  int again = ph->started < ph->target;
  if (again)
    ph->started++;
  if (ph->completed == ph->target) {
    ph->end = now;
    pthread_cond_signal(&ph->cond);
  }
  pthread_mutex_unlock(&ph->mu);
  if (again)
    start_call(s);
}

/* Starts the call s stands for (already counted in started). */
static void start_call(slot *s)
{
  bench *b = s->b;
  s->start = cgrpc_now();
  int rc = grpc__testing__benchmark_service_client__unary_call_async(b->channel, b->request, NULL,
                                                                    on_done, s, NULL);
  if (rc == 0)
    return;
  /* done will not run: count this call and the ones not started yet as failed,
   * so that the phase ends instead of waiting for them. */
  phase *ph = b->phase;
  phase_error(ph, "cannot start a call: %s", cgrpc_strerror(rc));
  pthread_mutex_lock(&ph->mu);
  ph->errors += ph->target - ph->started;
  ph->completed += 1 + ph->target - ph->started;
  ph->started = ph->target;
  if (ph->completed == ph->target) {
    ph->end = cgrpc_now();
    pthread_cond_signal(&ph->cond);
  }
  pthread_mutex_unlock(&ph->mu);
}

static void run_async(bench *b, slot *slots)
{
  phase *ph = b->phase;
  for (long i = 0; i < b->opt->concurrency; i++) {
    pthread_mutex_lock(&ph->mu);
    int go = ph->started < ph->target;
    if (go)
      ph->started++;
    pthread_mutex_unlock(&ph->mu);
    if (!go)
      break;
    slots[i].b = b;
    start_call(&slots[i]);
  }
  pthread_mutex_lock(&ph->mu);
  while (ph->completed < ph->target)
    pthread_cond_wait(&ph->cond, &ph->mu);
  pthread_mutex_unlock(&ph->mu);
}

/* ---- blocking mode ----------------------------------------------------------- */

static void *blocking_worker(void *arg)
{
  bench *b = arg;
  phase *ph = b->phase;
  for (;;) {
    pthread_mutex_lock(&ph->mu);
    int go = ph->started < ph->target;
    if (go)
      ph->started++;
    pthread_mutex_unlock(&ph->mu);
    if (!go)
      return NULL;

    cgrpc_status status = CGRPC_STATUS_INIT;
    Grpc__Testing__SimpleResponse *response = NULL;
    cgrpc_time start = cgrpc_now();
    cgrpc_code code = grpc__testing__benchmark_service_client__unary_call(
        b->channel, b->request, &response, NULL, &status);
    cgrpc_time now = cgrpc_now();
    int ok = check_reply(b, code, status.message, response, ph);
    cgrpc_status_clear(&status);

    pthread_mutex_lock(&ph->mu);
    if (ok && ph->latencies != NULL)
      ph->latencies[ph->n_latencies++] = now - start;
    if (++ph->completed == ph->target)
      ph->end = now;
    pthread_mutex_unlock(&ph->mu);
  }
}

static int run_blocking(bench *b)
{
  long n = b->opt->concurrency;
  if (n == 1) {
    blocking_worker(b);
    return 0;
  }
  pthread_t *threads = calloc((size_t)n, sizeof *threads);
  if (threads == NULL)
    return -1;
  long made = 0;
  for (; made < n; made++)
    if (pthread_create(&threads[made], NULL, blocking_worker, b) != 0)
      break;
  for (long i = 0; i < made; i++)
    pthread_join(threads[i], NULL);
  free(threads);
  return made > 0 ? 0 : -1;
}

/* ---- the run ----------------------------------------------------------------- */

/* Makes n calls; returns the phase's duration in seconds, or -1 on a local
 * failure (no memory, no threads). */
static double run_phase(bench *b, phase *ph, long n, slot *slots)
{
  ph->target = n;
  ph->started = ph->completed = ph->errors = ph->n_latencies = 0;
  ph->first_error[0] = '\0';
  b->phase = ph;
  cgrpc_time start = cgrpc_now();
  ph->end = start;
  if (b->opt->blocking) {
    if (run_blocking(b) != 0)
      return -1;
  } else {
    run_async(b, slots);
  }
  return (double)(ph->end - start) / 1e9;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile, in microseconds, of sorted values. */
static double percentile_us(const int64_t *sorted, long n, double p)
{
  if (n == 0)
    return 0;
  long rank = (long)(p / 100.0 * (double)n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return (double)sorted[rank - 1] / 1000.0;
}

static int write_request(const Grpc__Testing__SimpleRequest *request, const char *path)
{
  size_t len = protobuf_c_message_get_packed_size(&request->base);
  uint8_t *buf = malloc(5 + len);
  if (buf == NULL)
    return 1;
  buf[0] = 0;
  buf[1] = (uint8_t)(len >> 24);
  buf[2] = (uint8_t)(len >> 16);
  buf[3] = (uint8_t)(len >> 8);
  buf[4] = (uint8_t)len;
  protobuf_c_message_pack(&request->base, buf + 5);
  FILE *f = fopen(path, "wb");
  int rc = f != NULL && fwrite(buf, 1, 5 + len, f) == 5 + len ? 0 : 1;
  if (f != NULL && fclose(f) != 0)
    rc = 1;
  if (rc != 0)
    perror(path);
  free(buf);
  return rc;
}

static void usage(const char *argv0)
{
  fprintf(stderr,
          "usage: %s --target host:port [--calls N] [--concurrency C] [--req_size B]\n"
          "          [--resp_size B] [--warmup N] [--mode async|blocking]\n"
          "       %s [--req_size B] [--resp_size B] --write_request FILE\n",
          argv0, argv0);
  exit(2);
}

static long parse_count(const char *argv0, const char *s, long min, long max)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
    usage(argv0);
  return v;
}

int main(int argc, char **argv)
{
  options opt = {NULL, 10000, 1, 0, 0, 1000, 0, NULL};
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc)
      usage(argv[0]);
    const char *arg = argv[i], *value = argv[++i];
    if (strcmp(arg, "--target") == 0)
      opt.target = value;
    else if (strcmp(arg, "--calls") == 0)
      opt.calls = parse_count(argv[0], value, 1, 1L << 40);
    else if (strcmp(arg, "--concurrency") == 0)
      opt.concurrency = parse_count(argv[0], value, 1, 100000);
    else if (strcmp(arg, "--req_size") == 0)
      opt.req_size = parse_count(argv[0], value, 0, INT32_MAX);
    else if (strcmp(arg, "--resp_size") == 0)
      opt.resp_size = parse_count(argv[0], value, 0, INT32_MAX);
    else if (strcmp(arg, "--warmup") == 0)
      opt.warmup = parse_count(argv[0], value, 0, 1L << 40);
    else if (strcmp(arg, "--mode") == 0 && strcmp(value, "async") == 0)
      opt.blocking = 0;
    else if (strcmp(arg, "--mode") == 0 && strcmp(value, "blocking") == 0)
      opt.blocking = 1;
    else if (strcmp(arg, "--write_request") == 0)
      opt.write_request = value;
    else
      usage(argv[0]);
  }

  /* The request grpc's benchmark client sends: a payload only when there are
   * bytes for it. */
  uint8_t *body = calloc(1, (size_t)opt.req_size + 1);
  if (body == NULL) {
    fprintf(stderr, "bench_client: out of memory\n");
    return 1;
  }
  Grpc__Testing__Payload payload = GRPC__TESTING__PAYLOAD__INIT;
  payload.body.data = body;
  payload.body.len = (size_t)opt.req_size;
  Grpc__Testing__SimpleRequest request = GRPC__TESTING__SIMPLE_REQUEST__INIT;
  request.response_size = (int32_t)opt.resp_size;
  if (opt.req_size > 0)
    request.payload = &payload;

  if (opt.write_request != NULL) {
    int rc = write_request(&request, opt.write_request);
    free(body);
    return rc;
  }
  if (opt.target == NULL)
    usage(argv[0]);

  cgrpc_channel_options *copts = NULL;
  cgrpc_channel *channel = NULL;
  int rc = cgrpc_channel_options_new(&copts);
  if (rc == 0) {
    cgrpc_channel_options_set_max_recv_message_size(copts, -1);
    rc = cgrpc_channel_new(&channel, opt.target, copts);
  }
  cgrpc_channel_options_free(copts);
  if (rc != 0) {
    fprintf(stderr, "bench_client: cannot create a channel to %s: %s\n", opt.target,
            cgrpc_strerror(rc));
    free(body);
    return 1;
  }

  bench b = {&opt, channel, cgrpc_channel_protobuf_allocator(channel), &request, NULL};
  phase warm, measured;
  memset(&warm, 0, sizeof warm);
  memset(&measured, 0, sizeof measured);
  pthread_mutex_init(&warm.mu, NULL);
  pthread_cond_init(&warm.cond, NULL);
  pthread_mutex_init(&measured.mu, NULL);
  pthread_cond_init(&measured.cond, NULL);
  slot *slots = calloc((size_t)opt.concurrency, sizeof *slots);
  measured.latencies = malloc((size_t)opt.calls * sizeof *measured.latencies);
  if (slots == NULL || measured.latencies == NULL) {
    fprintf(stderr, "bench_client: out of memory\n");
    return 1;
  }

  double secs = 0;
  if (opt.warmup > 0 && run_phase(&b, &warm, opt.warmup, slots) < 0)
    secs = -1;
  if (secs == 0)
    secs = run_phase(&b, &measured, opt.calls, slots);
  cgrpc_channel_free(channel);
  if (secs < 0) {
    fprintf(stderr, "bench_client: cannot run the calls (threads or memory)\n");
    return 1;
  }

  long errors = warm.errors + measured.errors;
  if (errors > 0)
    fprintf(stderr, "bench_client: %ld calls failed; first: %s\n", errors,
            warm.errors > 0 ? warm.first_error : measured.first_error);

  long n = measured.n_latencies;
  int64_t *lat = measured.latencies;
  qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
  double sum = 0;
  for (long i = 0; i < n; i++)
    sum += (double)lat[i];
  printf("RESULT impl=cgrpc mode=%s calls=%ld concurrency=%ld secs=%.3f qps=%.1f p50_us=%.1f "
         "p99_us=%.1f mean_us=%.1f max_us=%.1f errors=%ld\n",
         opt.blocking ? "blocking" : "async", opt.calls, opt.concurrency, secs,
         secs > 0 ? (double)n / secs : 0.0, percentile_us(lat, n, 50), percentile_us(lat, n, 99),
         n > 0 ? sum / (double)n / 1000.0 : 0.0, n > 0 ? (double)lat[n - 1] / 1000.0 : 0.0,
         errors);
  free(lat);
  free(slots);
  free(body);
  pthread_mutex_destroy(&warm.mu);
  pthread_cond_destroy(&warm.cond);
  pthread_mutex_destroy(&measured.mu);
  pthread_cond_destroy(&measured.cond);
  return errors == 0 ? 0 : 1;
}
