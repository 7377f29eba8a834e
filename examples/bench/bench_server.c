/* cgrpc BenchmarkService server: answers UnaryCall with a payload of
 * request.response_size zero bytes, for run.sh and h2load to measure.
 *
 * Flags: --port N (0 = any free port) --host H (default 127.0.0.1)
 *        --threads T (handler threads; 0 = handlers on the I/O thread;
 *        default: the library's).
 * Prints "LISTENING <port>" once it accepts calls; on SIGTERM or SIGINT it
 * shuts down gracefully, prints "SERVED <n>" (calls answered OK), exits 0. */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrpc/cgrpc.h>

#include "grpc/testing/bench_unary.cgrpc.h"

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

static void usage(const char *argv0)
{
  fprintf(stderr, "usage: %s [--port N] [--host H] [--threads T]\n", argv0);
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

int main(int argc, char **argv)
{
  int port = 0;
  int threads = -1; /* the library's default */
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
    else
      usage(argv[0]);
  }

  /* Block the shutdown signals before the server starts its threads, so that
   * they inherit the mask and only sigwait below sees the signals. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);

  cgrpc_server_options *opts = NULL;
  cgrpc_server *server = NULL;
  int rc = cgrpc_server_options_new(&opts);
  if (rc == 0) {
    cgrpc_server_options_set_max_recv_message_size(opts, -1);
    if (threads >= 0)
      cgrpc_server_options_set_handler_threads(opts, threads);
    rc = cgrpc_server_new(&server, opts);
  }
  cgrpc_server_options_free(opts);
  if (rc != 0) {
    fprintf(stderr, "bench_server: cgrpc_server_new: %s\n", cgrpc_strerror(rc));
    return 1;
  }

  static const Grpc__Testing__BenchmarkService_Server impl = {
    .unary_call = unary_call,
  };
  char address[300];
  int bound_port = 0;
  snprintf(address, sizeof address, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
  if ((rc = grpc__testing__benchmark_service_server__register(server, &impl, NULL)) != 0 ||
      (rc = cgrpc_server_add_listener(server, address, &bound_port)) != 0 ||
      (rc = cgrpc_server_start(server)) != 0) {
    fprintf(stderr, "bench_server: cannot serve on %s: %s\n", address, cgrpc_strerror(rc));
    cgrpc_server_free(server);
    return 1;
  }

  printf("LISTENING %d\n", bound_port);
  fflush(stdout);

  int sig;
  while (sigwait(&signals, &sig) != 0)
    ;

  cgrpc_server_shutdown(server, 2000);
  cgrpc_server_free(server);
  printf("SERVED %lu\n", atomic_load(&served));
  fflush(stdout);
  return 0;
}
