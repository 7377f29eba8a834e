/* cgrpc BenchmarkService client: runs N UnaryCalls with C in flight, or N
 * StreamingCall messages over C ping-pong streams, and prints throughput and
 * latency, in the same format as grpcxx_client.
 *
 * --rpc unary (default): N UnaryCalls, C in flight.
 * --rpc streaming: C bidi StreamingCall streams, opened once before the warm-up
 * and kept for the whole run; each sends one request and waits for its answer
 * before sending the next (grpc's "streaming ping-pong"), N messages in all.
 * A latency is one message's round trip.
 *
 * --mode async (default): the asynchronous API; each completion (a unary
 * call's done callback, a stream's on_message, on the channel's I/O thread)
 * records the latency and starts the next call or message, so no thread hand-off
 * is measured beyond the library's own and nothing is allocated per call here.
 * --mode blocking: C threads, each making blocking calls one after another
 * (streaming: sending and receiving on its own stream).
 *
 * Flags: --target host:port --calls N --concurrency C --req_size B
 *        --resp_size B --warmup N --mode async|blocking --rpc unary|streaming;
 *        or --write_request FILE to write one gRPC-framed SimpleRequest for
 *        h2load --data, and exit.
 * Output: one line
 *   RESULT impl=cgrpc mode=M rpc=R calls=N concurrency=C secs=S qps=Q p50_us=X
 *          p99_us=Y mean_us=A max_us=B errors=E
 * (for streaming, calls and qps count messages).
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
  int streaming;
  const char *write_request;
} options;

/* One phase of the run (warm-up or measurement).  Its counters are shared by the
 * main thread and the I/O thread (async) or the caller threads (blocking), so
 * they are only touched under the bench's mu. */
typedef struct phase {
  long target;     /* calls (messages) to make */
  long started;    /* handed to the library */
  long completed;  /* ended, successfully or not */
  long errors;
  char first_error[256];
  int64_t *latencies; /* ns, of the calls that succeeded; NULL while warming up */
  long n_latencies;
  cgrpc_time end;     /* when the last call completed */
} phase;

struct stream;

typedef struct bench {
  const options *opt;
  cgrpc_channel *channel;
  ProtobufCAllocator *pb_alloc;
  const Grpc__Testing__SimpleRequest *request;
  pthread_mutex_t mu;
  pthread_cond_t cond; /* a phase completed, or a stream ended */
  phase *phase;        /* the current one */
  struct stream *streams; /* --rpc streaming: opt->concurrency of them */
  long live_streams;      /* not ended yet */
  int closing;            /* the streams were closed on purpose */
} bench;

/* One call in flight (unary, async mode): reused for the next call when it completes. */
typedef struct slot {
  bench *b;
  cgrpc_time start;
} slot;

/* One ping-pong stream.  busy, unsent and ended are under the bench's mu. */
typedef struct stream {
  bench *b;
  Grpc__Testing__BenchmarkService_StreamingCallCall *call;
  cgrpc_time start; /* when the request in flight was sent */
  int busy;         /* a request is out and its answer not in */
  int unsent;       /* async: that request waits for on_send_ready */
  int ended;        /* the call is over (async: on_done ran) */
} stream;

/* Counts a failure in the current phase, under mu; the first one's description
 * is kept for the report. */
static void phase_error_locked(bench *b, const char *fmt, ...) CGRPC_PRINTF(2, 3);
static void phase_error_locked(bench *b, const char *fmt, ...)
{
  phase *ph = b->phase;
  if (ph->errors++ == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ph->first_error, sizeof ph->first_error, fmt, ap);
    va_end(ap);
  }
}

/* Checks one reply and frees it.  Returns NULL if it is as expected, else what is
 * wrong (in buf). */
static const char *check_reply(bench *b, cgrpc_code code, const char *message,
                               Grpc__Testing__SimpleResponse *response, char *buf, size_t size)
{
  const char *err = NULL;
  if (code != CGRPC_STATUS_OK) {
    snprintf(buf, size, "status %s: %s", cgrpc_code_name(code), message != NULL ? message : "");
    err = buf;
  } else {
    size_t got = response != NULL && response->payload != NULL ? response->payload->body.len : 0;
    if (got != (size_t)b->opt->resp_size) {
      snprintf(buf, size, "payload of %zu bytes, expected %ld", got, b->opt->resp_size);
      err = buf;
    }
  }
  if (response != NULL)
    protobuf_c_message_free_unpacked(&response->base, b->pb_alloc);
  return err;
}

/* Counts one finished call or message, under mu: its latency when it succeeded. */
static void phase_count_locked(bench *b, const char *err, cgrpc_time start, cgrpc_time now)
{
  phase *ph = b->phase;
  if (err != NULL)
    phase_error_locked(b, "%s", err);
  else if (ph->latencies != NULL)
    ph->latencies[ph->n_latencies++] = now - start;
  if (++ph->completed == ph->target) {
    ph->end = now;
    pthread_cond_broadcast(&b->cond);
  }
}

/* Claims the next call or message of the phase, under mu.  Returns 1 if there is one. */
static int phase_claim_locked(bench *b)
{
  phase *ph = b->phase;
  if (ph->started >= ph->target)
    return 0;
  ph->started++;
  return 1;
}

/* Counts the calls not started yet as failed, under mu, so that the phase ends
 * instead of waiting for them. */
static void phase_abandon_locked(bench *b)
{
  phase *ph = b->phase;
  long rest = ph->target - ph->started;
  if (rest <= 0)
    return;
  ph->errors += rest;
  ph->completed += rest;
  ph->started = ph->target;
  if (ph->completed == ph->target) {
    ph->end = cgrpc_now();
    pthread_cond_broadcast(&b->cond);
  }
}

static void phase_wait(bench *b)
{
  pthread_mutex_lock(&b->mu);
  while (b->phase->completed < b->phase->target)
    pthread_cond_wait(&b->cond, &b->mu);
  pthread_mutex_unlock(&b->mu);
}

/* ---- unary, async mode ------------------------------------------------------ */

static void start_call(slot *s);

static void on_done(cgrpc_status *status, Grpc__Testing__SimpleResponse *response,
                    void *user_data)
{
  slot *s = user_data;
  bench *b = s->b;
  cgrpc_time now = cgrpc_now();
  char buf[256];
  const char *err = check_reply(b, status->code, status->message, response, buf, sizeof buf);

  pthread_mutex_lock(&b->mu);
  phase_count_locked(b, err, s->start, now);
  int again = phase_claim_locked(b);
  pthread_mutex_unlock(&b->mu);
  if (again)
    start_call(s);
}

/* Starts the call s stands for (already claimed). */
static void start_call(slot *s)
{
  bench *b = s->b;
  s->start = cgrpc_now();
  int rc = grpc__testing__benchmark_service_client__unary_call_async(b->channel, b->request, NULL,
                                                                    on_done, s, NULL);
  if (rc == 0)
    return;
  /* done will not run: count this call and the ones not started yet as failed. */
  pthread_mutex_lock(&b->mu);
  phase_count_locked(b, cgrpc_strerror(rc), s->start, cgrpc_now());
  phase_abandon_locked(b);
  pthread_mutex_unlock(&b->mu);
}

static void run_unary_async(bench *b, slot *slots)
{
  for (long i = 0; i < b->opt->concurrency; i++) {
    pthread_mutex_lock(&b->mu);
    int go = phase_claim_locked(b);
    pthread_mutex_unlock(&b->mu);
    if (!go)
      break;
    slots[i].b = b;
    start_call(&slots[i]);
  }
  phase_wait(b);
}

/* ---- streaming, async mode ---------------------------------------------------- */

/* Sends the request the stream has claimed (s->busy is set).  A failure needs no
 * counting here: the call is (or is made) over, and on_done counts the message in
 * flight. */
static void stream_ping(stream *s)
{
  int rc = grpc__testing__benchmark_service_client__streaming_call_try_send(s->call, s->b->request);
  if (rc == CGRPC_ERR_AGAIN) {
    /* The send buffer is full (never seen with one message out): on_send_ready
     * sends it. */
    pthread_mutex_lock(&s->b->mu);
    s->unsent = 1;
    pthread_mutex_unlock(&s->b->mu);
  } else if (rc != 0) {
    grpc__testing__benchmark_service_client__streaming_call_cancel(s->call);
  }
}

static void stream_on_message(Grpc__Testing__BenchmarkService_StreamingCallCall *call,
                              Grpc__Testing__SimpleResponse *response, void *user_data)
{
  (void)call;
  stream *s = user_data;
  bench *b = s->b;
  cgrpc_time now = cgrpc_now();
  char buf[256];
  const char *err = check_reply(b, CGRPC_STATUS_OK, NULL, response, buf, sizeof buf);
  pthread_mutex_lock(&b->mu);
  int again = 0;
  if (!s->busy) {
    phase_error_locked(b, "an answer to no request");
  } else {
    s->busy = 0;
    phase_count_locked(b, err, s->start, now);
    again = s->busy = phase_claim_locked(b);
  }
  pthread_mutex_unlock(&b->mu);
  if (again) {
    s->start = cgrpc_now();
    stream_ping(s);
  }
}

static void stream_on_send_ready(Grpc__Testing__BenchmarkService_StreamingCallCall *call,
                                 void *user_data)
{
  (void)call;
  stream *s = user_data;
  pthread_mutex_lock(&s->b->mu);
  int unsent = s->unsent;
  s->unsent = 0;
  pthread_mutex_unlock(&s->b->mu);
  if (unsent)
    stream_ping(s);
}

/* Called under mu when a stream is over: its message in flight failed, and if it
 * was the last stream, so did every message not started yet. */
static void stream_ended_locked(stream *s, cgrpc_code code, const char *message)
{
  bench *b = s->b;
  s->ended = 1;
  b->live_streams--;
  char buf[300];
  snprintf(buf, sizeof buf, "stream ended with %s: %s", cgrpc_code_name(code),
           message != NULL ? message : "");
  if (s->busy) {
    s->busy = 0;
    phase_count_locked(b, buf, s->start, cgrpc_now());
  } else if (!b->closing || code != CGRPC_STATUS_OK) {
    phase_error_locked(b, "%s%s", buf, b->closing ? "" : " (before the client closed it)");
  }
  if (b->live_streams == 0)
    phase_abandon_locked(b);
  pthread_cond_broadcast(&b->cond);
}

static void stream_on_done(Grpc__Testing__BenchmarkService_StreamingCallCall *call,
                           cgrpc_status *status, void *user_data)
{
  (void)call;
  stream *s = user_data;
  pthread_mutex_lock(&s->b->mu);
  stream_ended_locked(s, status->code, status->message);
  pthread_mutex_unlock(&s->b->mu);
}

static void run_streaming_async(bench *b)
{
  for (long i = 0; i < b->opt->concurrency; i++) {
    stream *s = &b->streams[i];
    pthread_mutex_lock(&b->mu);
    int go = !s->ended && phase_claim_locked(b);
    s->busy = go;
    pthread_mutex_unlock(&b->mu);
    if (go) {
      s->start = cgrpc_now();
      stream_ping(s);
    }
  }
  pthread_mutex_lock(&b->mu);
  if (b->live_streams == 0)
    phase_abandon_locked(b);
  pthread_mutex_unlock(&b->mu);
  phase_wait(b);
}

/* ---- blocking mode ----------------------------------------------------------- */

typedef struct worker {
  bench *b;
  stream *s; /* streaming: this worker's stream */
} worker;

static void unary_blocking(bench *b)
{
  for (;;) {
    pthread_mutex_lock(&b->mu);
    int go = phase_claim_locked(b);
    pthread_mutex_unlock(&b->mu);
    if (!go)
      return;

    cgrpc_status status = CGRPC_STATUS_INIT;
    Grpc__Testing__SimpleResponse *response = NULL;
    cgrpc_time start = cgrpc_now();
    cgrpc_code code = grpc__testing__benchmark_service_client__unary_call(
        b->channel, b->request, &response, NULL, &status);
    cgrpc_time now = cgrpc_now();
    char buf[256];
    const char *err = check_reply(b, code, status.message, response, buf, sizeof buf);
    cgrpc_status_clear(&status);

    pthread_mutex_lock(&b->mu);
    phase_count_locked(b, err, start, now);
    pthread_mutex_unlock(&b->mu);
  }
}

/* Ends a blocking stream that failed, under mu, with the status it ended with. */
static void stream_fail_blocking(stream *s)
{
  cgrpc_status status = CGRPC_STATUS_INIT;
  /* Cancelled, so that finish does not wait on a stream still open. */
  grpc__testing__benchmark_service_client__streaming_call_cancel(s->call);
  cgrpc_code code =
      grpc__testing__benchmark_service_client__streaming_call_finish(s->call, &status);
  pthread_mutex_lock(&s->b->mu);
  stream_ended_locked(s, code, status.message);
  pthread_mutex_unlock(&s->b->mu);
  cgrpc_status_clear(&status);
}

static void streaming_blocking(stream *s)
{
  bench *b = s->b;
  for (;;) {
    pthread_mutex_lock(&b->mu);
    int go = !s->ended && phase_claim_locked(b);
    s->busy = go;
    pthread_mutex_unlock(&b->mu);
    if (!go)
      return;

    Grpc__Testing__SimpleResponse *response = NULL;
    cgrpc_time start = cgrpc_now();
    if (grpc__testing__benchmark_service_client__streaming_call_send(s->call, b->request) != 0 ||
        grpc__testing__benchmark_service_client__streaming_call_recv(s->call, &response) != 1) {
      stream_fail_blocking(s); /* counts the message in flight */
      return;
    }
    cgrpc_time now = cgrpc_now();
    char buf[256];
    const char *err = check_reply(b, CGRPC_STATUS_OK, NULL, response, buf, sizeof buf);
    pthread_mutex_lock(&b->mu);
    s->busy = 0;
    phase_count_locked(b, err, start, now);
    pthread_mutex_unlock(&b->mu);
  }
}

static void *blocking_worker(void *arg)
{
  worker *w = arg;
  if (w->s != NULL)
    streaming_blocking(w->s);
  else
    unary_blocking(w->b);
  return NULL;
}

static int run_blocking(bench *b)
{
  long n = b->opt->concurrency;
  worker *workers = calloc((size_t)n, sizeof *workers);
  pthread_t *threads = calloc((size_t)n, sizeof *threads);
  if (workers == NULL || threads == NULL) {
    free(workers);
    free(threads);
    return -1;
  }
  for (long i = 0; i < n; i++) {
    workers[i].b = b;
    workers[i].s = b->streams != NULL ? &b->streams[i] : NULL;
  }
  long made = 0;
  if (n == 1) {
    blocking_worker(&workers[0]);
    made = 1;
  } else {
    for (; made < n; made++)
      if (pthread_create(&threads[made], NULL, blocking_worker, &workers[made]) != 0)
        break;
    for (long i = 0; i < made; i++)
      pthread_join(threads[i], NULL);
  }
  /* Every worker is done: what nobody started (all streams failed) failed. */
  pthread_mutex_lock(&b->mu);
  phase_abandon_locked(b);
  pthread_mutex_unlock(&b->mu);
  free(workers);
  free(threads);
  return made > 0 ? 0 : -1;
}

/* ---- streams: open and close ----------------------------------------------------- */

/* Opens opt->concurrency streams.  Returns 0, or -1 (reported) when one cannot start. */
static int streams_open(bench *b)
{
  static const Grpc__Testing__BenchmarkService_StreamingCallCallbacks callbacks = {
    .on_message = stream_on_message,
    .on_send_ready = stream_on_send_ready,
    .on_done = stream_on_done,
  };
  b->streams = calloc((size_t)b->opt->concurrency, sizeof *b->streams);
  if (b->streams == NULL)
    return -1;
  for (long i = 0; i < b->opt->concurrency; i++) {
    stream *s = &b->streams[i];
    s->b = b;
    int rc = b->opt->blocking
                 ? grpc__testing__benchmark_service_client__streaming_call(b->channel, NULL,
                                                                           &s->call)
                 : grpc__testing__benchmark_service_client__streaming_call_async(
                       b->channel, NULL, &callbacks, s, &s->call);
    if (rc != 0) {
      fprintf(stderr, "bench_client: cannot start a stream: %s\n", cgrpc_strerror(rc));
      return -1;
    }
    pthread_mutex_lock(&b->mu);
    b->live_streams++;
    pthread_mutex_unlock(&b->mu);
  }
  return 0;
}

/* Half-closes every stream and waits for them to end; a status other than OK
 * counts as an error of the last phase. */
static void streams_close(bench *b)
{
  if (b->streams == NULL)
    return;
  pthread_mutex_lock(&b->mu);
  b->closing = 1;
  pthread_mutex_unlock(&b->mu);
  for (long i = 0; i < b->opt->concurrency; i++) {
    stream *s = &b->streams[i];
    pthread_mutex_lock(&b->mu);
    int ended = s->ended;
    pthread_mutex_unlock(&b->mu);
    if (s->call == NULL || ended)
      continue;
    grpc__testing__benchmark_service_client__streaming_call_close_send(s->call);
    if (!b->opt->blocking)
      continue; /* on_done ends it */
    Grpc__Testing__SimpleResponse *extra = NULL;
    if (grpc__testing__benchmark_service_client__streaming_call_recv(s->call, &extra) == 1) {
      protobuf_c_message_free_unpacked(&extra->base, b->pb_alloc);
      pthread_mutex_lock(&b->mu);
      phase_error_locked(b, "an answer to no request");
      pthread_mutex_unlock(&b->mu);
      grpc__testing__benchmark_service_client__streaming_call_cancel(s->call);
    }
    cgrpc_status status = CGRPC_STATUS_INIT;
    cgrpc_code code =
        grpc__testing__benchmark_service_client__streaming_call_finish(s->call, &status);
    pthread_mutex_lock(&b->mu);
    stream_ended_locked(s, code, status.message);
    pthread_mutex_unlock(&b->mu);
    cgrpc_status_clear(&status);
  }
  pthread_mutex_lock(&b->mu);
  while (b->live_streams > 0)
    pthread_cond_wait(&b->cond, &b->mu);
  pthread_mutex_unlock(&b->mu);
  for (long i = 0; i < b->opt->concurrency; i++)
    grpc__testing__benchmark_service_client__streaming_call_free(b->streams[i].call);
  free(b->streams);
  b->streams = NULL;
}

/* ---- the run ----------------------------------------------------------------- */

/* Makes n calls (messages); returns the phase's duration in seconds, or -1 on a
 * local failure (no memory, no threads). */
static double run_phase(bench *b, phase *ph, long n, slot *slots)
{
  pthread_mutex_lock(&b->mu);
  ph->target = n;
  ph->started = ph->completed = ph->errors = ph->n_latencies = 0;
  ph->first_error[0] = '\0';
  b->phase = ph;
  pthread_mutex_unlock(&b->mu);
  cgrpc_time start = cgrpc_now();
  ph->end = start;
  if (b->opt->blocking) {
    if (run_blocking(b) != 0)
      return -1;
  } else if (b->opt->streaming) {
    run_streaming_async(b);
  } else {
    run_unary_async(b, slots);
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
          "          [--resp_size B] [--warmup N] [--mode async|blocking] [--rpc unary|streaming]\n"
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
  options opt = {NULL, 10000, 1, 0, 0, 1000, 0, 0, NULL};
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
    else if (strcmp(arg, "--rpc") == 0 && strcmp(value, "unary") == 0)
      opt.streaming = 0;
    else if (strcmp(arg, "--rpc") == 0 && strcmp(value, "streaming") == 0)
      opt.streaming = 1;
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

  bench b;
  memset(&b, 0, sizeof b);
  b.opt = &opt;
  b.channel = channel;
  b.pb_alloc = cgrpc_channel_protobuf_allocator(channel);
  b.request = &request;
  pthread_mutex_init(&b.mu, NULL);
  pthread_cond_init(&b.cond, NULL);
  phase warm, measured;
  memset(&warm, 0, sizeof warm);
  memset(&measured, 0, sizeof measured);
  b.phase = &warm; /* where errors of opening streams go */
  slot *slots = calloc((size_t)opt.concurrency, sizeof *slots);
  measured.latencies = malloc((size_t)opt.calls * sizeof *measured.latencies);
  if (slots == NULL || measured.latencies == NULL) {
    fprintf(stderr, "bench_client: out of memory\n");
    return 1;
  }

  double secs = 0;
  if (opt.streaming && streams_open(&b) != 0)
    secs = -1;
  if (secs == 0 && opt.warmup > 0 && run_phase(&b, &warm, opt.warmup, slots) < 0)
    secs = -1;
  if (secs == 0)
    secs = run_phase(&b, &measured, opt.calls, slots);
  streams_close(&b);
  cgrpc_channel_free(channel);
  if (secs < 0) {
    fprintf(stderr, "bench_client: cannot run the calls (streams, threads or memory)\n");
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
  printf("RESULT impl=cgrpc mode=%s rpc=%s calls=%ld concurrency=%ld secs=%.3f qps=%.1f "
         "p50_us=%.1f p99_us=%.1f mean_us=%.1f max_us=%.1f errors=%ld\n",
         opt.blocking ? "blocking" : "async", opt.streaming ? "streaming" : "unary", opt.calls,
         opt.concurrency, secs,
         secs > 0 ? (double)n / secs : 0.0, percentile_us(lat, n, 50), percentile_us(lat, n, 99),
         n > 0 ? sum / (double)n / 1000.0 : 0.0, n > 0 ? (double)lat[n - 1] / 1000.0 : 0.0,
         errors);
  free(lat);
  free(slots);
  free(body);
  pthread_mutex_destroy(&b.mu);
  pthread_cond_destroy(&b.cond);
  return errors == 0 ? 0 : 1;
}
