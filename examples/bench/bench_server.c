/* cgrpc BenchmarkService server, for run.sh, h2load and the clients to measure.
 * UnaryCall answers with a payload of request.response_size zero bytes;
 * StreamingCall (bidi ping-pong) answers each request with one such response,
 * as grpc's own benchmark server does.  The other methods are UNIMPLEMENTED.
 *
 * Flags: --port N (0 = any free port) --host H (default 127.0.0.1)
 *        --threads T (handler threads; 0 = handlers on the I/O thread;
 *        default: the library's)
 *        --stream_handler async|blocking (how StreamingCall is written:
 *        callbacks on the I/O thread, the default; or a blocking handler
 *        looping on recv and send, which holds a handler thread per open
 *        stream, so that a stream beyond the pool's size waits for one to
 *        end -- and with --threads 0 would hold up the I/O thread it waits on,
 *        so that combination is refused).
 *        --observe none|metrics|all (metrics: the call metrics,
 *        cgrpc_metrics_attach_server, and a /metrics endpoint on a free port;
 *        all: those, an access log line per call and tracing with every call
 *        sampled, both written to /dev/null by their threads; default none)
 *        --trace-ratio R (with --observe all: the share of calls traced, 0..1;
 *        default 1)
 * Prints "LISTENING <port>" once it accepts calls; on SIGTERM or SIGINT it
 * shuts down gracefully, prints "SERVED <n>" (unary calls and streamed
 * messages answered OK), exits 0.  On SIGUSR1 it prints "HEAP <bytes>", the
 * bytes malloc has handed out and not had back (mallinfo2: uordblks + hblkhd,
 * all arenas), for idle_conns to measure what a connection costs. */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask */

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrpc/cgrpc.h>

#include "grpc/testing/benchmark_service.cgrpc.h"

/* Counted so that run.sh can tell h2load's 200s were gRPC successes too:
 * h2load cannot see grpc-status. */
static atomic_ulong served;

static cgrpc_code unary_call(cgrpc_server_call *call, const Grpc__Testing__SimpleRequest *request,
                             Grpc__Testing__SimpleResponse *response, void *user_data)
{
  (void)user_data;
  if (request->response_size < 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                        "negative response_size");
  if (request->response_size > 0) {
    /* Both live until the call ends, when the runtime has encoded the response. */
    Grpc__Testing__Payload *payload = cgrpc_server_call_alloc(call, sizeof *payload);
    uint8_t *body = cgrpc_server_call_alloc(call, (size_t)request->response_size);
    if (payload == NULL || body == NULL)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                                          "out of memory");
    grpc__testing__payload__init(payload);
    payload->type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
    memset(body, 0, (size_t)request->response_size);
    payload->body.data = body;
    payload->body.len = (size_t)request->response_size;
    response->payload = payload;
  }
  atomic_fetch_add_explicit(&served, 1, memory_order_relaxed);
  return CGRPC_STATUS_OK;
}

/* ---- StreamingCall ---------------------------------------------------------------------------- */

/* The response of one stream, reused for each message as grpc's server reuses its
 * response object: the body is zeroed per message, and only grows (in the call's
 * memory) when a request asks for more than before. */
typedef struct pong {
  Grpc__Testing__SimpleResponse response;
  Grpc__Testing__Payload payload;
  uint8_t *body;
  size_t capacity;
  /* Async form only.  Answers owed while the send buffer is full (a client that
   * sends before reading): their sizes, in a ring allocated on first need. */
  int32_t *owed;
  unsigned owed_head, owed_count;
  int recv_done; /* the client closed its side: finish once nothing is owed */
  int finished;  /* cgrpc_server_call_finish was called */
} pong;

/* Answers a client may owe us before we give up on it (callbacks cannot hold the
 * client back: each request is taken as it arrives). */
#define PONG_MAX_OWED 4096

static void pong_init(pong *p)
{
  memset(p, 0, sizeof *p);
  grpc__testing__simple_response__init(&p->response);
  grpc__testing__payload__init(&p->payload);
  p->payload.type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
}

/* Makes p->response an answer of size bytes (size >= 0). */
static cgrpc_code pong_fill(cgrpc_server_call *call, pong *p, int32_t size)
{
  if ((size_t)size > p->capacity) {
    if ((p->body = cgrpc_server_call_alloc(call, (size_t)size)) == NULL)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                                          "out of memory");
    p->capacity = (size_t)size;
  }
  if (size > 0) {
    memset(p->body, 0, (size_t)size);
    p->payload.body.data = p->body;
    p->payload.body.len = (size_t)size;
    p->response.payload = &p->payload;
  } else {
    p->response.payload = NULL;
  }
  return CGRPC_STATUS_OK;
}

static cgrpc_code negative_size(cgrpc_server_call *call)
{
  return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                      "negative response_size");
}

/* The blocking form, as most users write it: read a request, write its answer. */
static cgrpc_code streaming_call_blocking(
    Grpc__Testing__BenchmarkService_StreamingCallServerCall *call)
{
  cgrpc_server_call *untyped = grpc__testing__benchmark_service_server__streaming_call_call(call);
  pong p;
  pong_init(&p);
  const Grpc__Testing__SimpleRequest *request;
  int rv;
  while ((rv = grpc__testing__benchmark_service_server__streaming_call_recv(call, &request)) == 1) {
    if (request->response_size < 0)
      return negative_size(untyped);
    cgrpc_code code = pong_fill(untyped, &p, request->response_size);
    if (code != CGRPC_STATUS_OK)
      return code;
    if (grpc__testing__benchmark_service_server__streaming_call_send(call, &p.response) != 0)
      return CGRPC_STATUS_CANCELLED;
    atomic_fetch_add_explicit(&served, 1, memory_order_relaxed);
  }
  return rv < 0 ? CGRPC_STATUS_CANCELLED : CGRPC_STATUS_OK;
}

/* The asynchronous form: every step is a callback on the I/O thread, so no handler
 * thread waits and nothing changes threads per message.  A ping-pong client never
 * fills the send buffer; the owed ring is for clients that send ahead. */
static void pong_finish(Grpc__Testing__BenchmarkService_StreamingCallServerCall *call, pong *p,
                        cgrpc_code code)
{
  if (!p->finished) {
    p->finished = 1;
    /* No callback starts after this; p goes with the call. */
    grpc__testing__benchmark_service_server__streaming_call_finish(call, code);
  }
}

/* Sends an answer of size bytes.  Returns 0, CGRPC_ERR_AGAIN (nothing sent), or
 * -1 after finishing the call. */
static int pong_send(Grpc__Testing__BenchmarkService_StreamingCallServerCall *call, pong *p,
                     int32_t size)
{
  cgrpc_server_call *untyped = grpc__testing__benchmark_service_server__streaming_call_call(call);
  cgrpc_code code = pong_fill(untyped, p, size);
  if (code != CGRPC_STATUS_OK) {
    pong_finish(call, p, code);
    return -1;
  }
  int rv = grpc__testing__benchmark_service_server__streaming_call_try_send(call, &p->response);
  if (rv == 0) {
    atomic_fetch_add_explicit(&served, 1, memory_order_relaxed);
    return 0;
  }
  if (rv == CGRPC_ERR_AGAIN)
    return rv;
  cgrpc_server_call_set_status(untyped, CGRPC_STATUS_CANCELLED, "send: %s", cgrpc_strerror(rv));
  pong_finish(call, p, CGRPC_STATUS_CANCELLED);
  return -1;
}

static void pong_on_message(Grpc__Testing__BenchmarkService_StreamingCallServerCall *call,
                            const Grpc__Testing__SimpleRequest *request, void *user_data)
{
  pong *p = user_data;
  cgrpc_server_call *untyped = grpc__testing__benchmark_service_server__streaming_call_call(call);
  if (p->finished)
    return;
  if (request->response_size < 0) {
    pong_finish(call, p, negative_size(untyped));
    return;
  }
  if (p->owed_count == 0 && pong_send(call, p, request->response_size) != CGRPC_ERR_AGAIN)
    return;
  if (p->owed == NULL &&
      (p->owed = cgrpc_server_call_alloc(untyped, PONG_MAX_OWED * sizeof *p->owed)) == NULL) {
    cgrpc_server_call_set_status(untyped, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    pong_finish(call, p, CGRPC_STATUS_RESOURCE_EXHAUSTED);
    return;
  }
  if (p->owed_count == PONG_MAX_OWED) {
    cgrpc_server_call_set_status(untyped, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                                 "%d answers waiting: the client does not read", PONG_MAX_OWED);
    pong_finish(call, p, CGRPC_STATUS_RESOURCE_EXHAUSTED);
    return;
  }
  p->owed[(p->owed_head + p->owed_count++) % PONG_MAX_OWED] = request->response_size;
}

static void pong_on_send_ready(Grpc__Testing__BenchmarkService_StreamingCallServerCall *call,
                               void *user_data)
{
  pong *p = user_data;
  while (!p->finished && p->owed_count > 0) {
    int rv = pong_send(call, p, p->owed[p->owed_head]);
    if (rv != 0)
      return;
    p->owed_head = (p->owed_head + 1) % PONG_MAX_OWED;
    p->owed_count--;
  }
  if (p->recv_done)
    pong_finish(call, p, CGRPC_STATUS_OK);
}

static void pong_on_recv_done(Grpc__Testing__BenchmarkService_StreamingCallServerCall *call,
                              void *user_data)
{
  pong *p = user_data;
  p->recv_done = 1;
  if (p->owed_count == 0)
    pong_finish(call, p, CGRPC_STATUS_OK);
}

static void pong_on_cancel(Grpc__Testing__BenchmarkService_StreamingCallServerCall *call,
                           void *user_data)
{
  pong_finish(call, user_data, CGRPC_STATUS_CANCELLED);
}

static cgrpc_code streaming_call_async(
    Grpc__Testing__BenchmarkService_StreamingCallServerCall *call)
{
  static const Grpc__Testing__BenchmarkService_StreamingCallServerCallbacks callbacks = {
    .on_message = pong_on_message,
    .on_recv_done = pong_on_recv_done,
    .on_send_ready = pong_on_send_ready,
    .on_cancel = pong_on_cancel,
  };
  cgrpc_server_call *untyped = grpc__testing__benchmark_service_server__streaming_call_call(call);
  pong *p = cgrpc_server_call_alloc(untyped, sizeof *p); /* freed with the call */
  if (p == NULL)
    return cgrpc_server_call_set_status(untyped, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  pong_init(p);
  grpc__testing__benchmark_service_server__streaming_call_defer(call);
  grpc__testing__benchmark_service_server__streaming_call_set_callbacks(call, &callbacks, p);
  return CGRPC_STATUS_OK; /* ignored: pong_finish answers */
}

static cgrpc_code streaming_call(Grpc__Testing__BenchmarkService_StreamingCallServerCall *call,
                                 void *user_data)
{
  const int *async = user_data;
  return *async ? streaming_call_async(call) : streaming_call_blocking(call);
}

static void usage(const char *argv0)
{
  fprintf(stderr,
          "usage: %s [--port N] [--host H] [--threads T] [--stream_handler async|blocking]\n"
          "          [--observe none|metrics|all] [--trace-ratio R]\n",
          argv0);
  exit(2);
}

static int parse_int(const char *argv0, const char *s, int min, int max)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
    usage(argv0);
  return (int)v;
}

/* --observe all: an access log and tracing, their lines written to /dev/null. */
static cgrpc_access_log *access_log;
static cgrpc_tracing *tracing;
static FILE *devnull;
static double trace_ratio = 1;

static void devnull_sink(cgrpc_log_level level, const char *line, size_t len, void *ud)
{
  (void)level;
  fwrite(line, 1, len, ud);
  fputc('\n', ud);
}

static int observe_all(cgrpc_server_options *opts)
{
  devnull = fopen("/dev/null", "w");
  if (devnull == NULL)
    return CGRPC_ERR_SYSTEM;
  int rc = cgrpc_access_log_new(&access_log);
  if (rc == 0) {
    cgrpc_access_log_set_sink(access_log, devnull_sink, devnull);
    rc = cgrpc_access_log_attach_server(access_log, opts);
  }
  if (rc == 0)
    rc = cgrpc_tracing_new(&tracing);
  if (rc == 0)
    rc = cgrpc_tracing_set_sample_ratio(tracing, trace_ratio);
  if (rc == 0)
    rc = cgrpc_tracing_export_otlp_file(tracing, "/dev/null", "bench_server");
  if (rc == 0)
    rc = cgrpc_tracing_attach_server(tracing, opts);
  return rc;
}

static void observe_stop(void)
{
  cgrpc_access_log_free(access_log);
  cgrpc_tracing_free(tracing);
  if (devnull != NULL)
    fclose(devnull);
}

int main(int argc, char **argv)
{
  int port = 0;
  int threads = -1; /* the library's default */
  int async_streams = 1;
  int metrics = 0, logs_and_traces = 0;
  const char *host = "127.0.0.1";
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc)
      usage(argv[0]);
    const char *arg = argv[i], *value = argv[++i];
    if (strcmp(arg, "--port") == 0)
      port = parse_int(argv[0], value, 0, 65535);
    else if (strcmp(arg, "--threads") == 0)
      threads = parse_int(argv[0], value, 0, 1024);
    else if (strcmp(arg, "--host") == 0)
      host = value;
    else if (strcmp(arg, "--stream_handler") == 0 && strcmp(value, "blocking") == 0)
      async_streams = 0;
    else if (strcmp(arg, "--stream_handler") == 0 && strcmp(value, "async") == 0)
      async_streams = 1;
    else if (strcmp(arg, "--observe") == 0 && strcmp(value, "none") == 0)
      metrics = logs_and_traces = 0;
    else if (strcmp(arg, "--observe") == 0 && strcmp(value, "metrics") == 0)
      metrics = 1, logs_and_traces = 0;
    else if (strcmp(arg, "--observe") == 0 && strcmp(value, "all") == 0)
      metrics = logs_and_traces = 1;
    else if (strcmp(arg, "--trace-ratio") == 0)
      trace_ratio = atof(value);
    else
      usage(argv[0]);
  }
  if (threads == 0 && !async_streams)
    usage(argv[0]); /* the blocking handler would wait on its own thread */

  /* Block the shutdown signals before the server starts its threads, so that
   * they inherit the mask and only sigwait below sees the signals. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);

  cgrpc_server_options *opts = NULL;
  cgrpc_server *server = NULL;
  int rc = cgrpc_server_options_new(&opts);
  if (rc == 0) {
    cgrpc_server_options_set_max_recv_message_size(opts, -1);
    if (threads >= 0)
      cgrpc_server_options_set_handler_threads(opts, threads);
    if (metrics) /* the call metrics, and an endpoint a scrape could read them from */
      rc = cgrpc_metrics_attach_server(cgrpc_metrics_default(), opts);
    if (rc == 0 && logs_and_traces)
      rc = observe_all(opts);
    if (rc == 0)
      rc = cgrpc_server_new(&server, opts);
  }
  cgrpc_metrics_http *metrics_http = NULL;
  if (rc == 0 && metrics)
    rc = cgrpc_metrics_http_start(&metrics_http, cgrpc_metrics_default(), "127.0.0.1:0", NULL);
  cgrpc_server_options_free(opts);
  if (rc != 0) {
    fprintf(stderr, "bench_server: cgrpc_server_new: %s\n", cgrpc_strerror(rc));
    cgrpc_server_free(server);
    return 1;
  }

  static const Grpc__Testing__BenchmarkService_Server impl = {
    .unary_call = unary_call,
    .streaming_call = streaming_call,
  };
  char address[300];
  int bound_port = 0;
  snprintf(address, sizeof address, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
  if ((rc = grpc__testing__benchmark_service_server__register(server, &impl, &async_streams)) != 0 ||
      (rc = cgrpc_server_add_listener(server, address, &bound_port)) != 0 ||
      (rc = cgrpc_server_start(server)) != 0) {
    fprintf(stderr, "bench_server: cannot serve on %s: %s\n", address, cgrpc_strerror(rc));
    cgrpc_server_free(server);
    cgrpc_metrics_http_stop(metrics_http);
    return 1;
  }

  printf("LISTENING %d\n", bound_port);
  fflush(stdout);

  int sig;
  while (sigwait(&signals, &sig) != 0 || sig == SIGUSR1) {
    if (sig == SIGUSR1) {
      struct mallinfo2 mi = mallinfo2();
      printf("HEAP %zu\n", mi.uordblks + mi.hblkhd);
      fflush(stdout);
      sig = 0;
    }
  }

  cgrpc_server_shutdown(server, 2000);
  cgrpc_server_free(server);
  cgrpc_metrics_http_stop(metrics_http);
  observe_stop();
  printf("SERVED %lu\n", atomic_load(&served));
  fflush(stdout);
  return 0;
}
