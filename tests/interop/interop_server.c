/* cgrpc interop test server: the unary methods of gRPC's interop TestService,
 * as doc/interop-test-descriptions.md (grpc/grpc) describes the server side.
 *
 * Usage: interop_server [--port N] [--host H]
 * Listens on H:N (default 127.0.0.1, port 0 = a free one), prints exactly one
 * line "LISTENING <port>" on stdout once serving, and on SIGTERM or SIGINT
 * shuts down gracefully, frees everything and exits 0 (so valgrind can check
 * that nothing leaks).
 *
 * Server features: EmptyCall; UnaryCall with response_size, response_type
 * (COMPRESSABLE only), Echo Status and Echo Metadata; CacheableUnaryCall.
 * UnimplementedCall is left NULL in the skeleton (so the runtime answers
 * UNIMPLEMENTED), and grpc.testing.UnimplementedService is not registered.
 * Not supported: compression (response_compressed is ignored; a request with
 * expect_compressed=true is refused with INVALID_ARGUMENT, as the doc wants
 * for an uncompressed one), fill_username/fill_oauth_scope (no auth).
 *
 * cgrpc test extension: request metadata "x-cgrpc-test-sleep-ms: N" makes
 * every method sleep N ms (or until the call is cancelled or its deadline
 * passes) before doing anything else.  Our unary timeout_on_sleeping_server
 * relies on it; grpcio_server.py does the same.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include <cgrpc/cgrpc.h>

#include "grpc/testing/test_unary.cgrpc.h"

#define ECHO_INITIAL_KEY "x-grpc-test-echo-initial"
#define ECHO_TRAILING_KEY "x-grpc-test-echo-trailing-bin"
#define SLEEP_KEY "x-cgrpc-test-sleep-ms"
#define SLEEP_MAX_MS 600000L
#define SHUTDOWN_GRACE_MS 2000

static const char *progname = "interop_server";

/* ---- what every method does first ------------------------------------- */

static void nap_ns(int64_t ns)
{
  struct timespec ts;
  ts.tv_sec = (time_t)(ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* The sleep extension: sleeps in short naps so that a call the client gave
 * up on (deadline, cancellation) frees its handler thread quickly. */
static cgrpc_code sleep_if_asked(cgrpc_server_call *call)
{
  const char *value = cgrpc_metadata_get(cgrpc_server_call_metadata(call), SLEEP_KEY);
  char *end;
  long ms;
  cgrpc_time until;

  if (value == NULL)
    return CGRPC_STATUS_OK;
  errno = 0;
  ms = strtol(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || ms < 0 || ms > SLEEP_MAX_MS)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                        "bad " SLEEP_KEY ": \"%s\"", value);
  until = cgrpc_now() + CGRPC_MS_TO_NS(ms);
  while (!cgrpc_server_call_is_cancelled(call)) {
    cgrpc_time now = cgrpc_now();
    if (now >= until)
      return CGRPC_STATUS_OK;
    nap_ns(until - now < CGRPC_MS_TO_NS(10) ? until - now : CGRPC_MS_TO_NS(10));
  }
  /* Nobody will read this status; it only ends the handler early. */
  if (cgrpc_server_call_remaining_ms(call) == 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_DEADLINE_EXCEEDED,
                                        "deadline passed while sleeping");
  return cgrpc_server_call_set_status(call, CGRPC_STATUS_CANCELLED, "cancelled while sleeping");
}

/* Echo Metadata: the initial key comes back in the response headers, the
 * trailing one in the trailers, whatever status the call ends with. */
static cgrpc_code echo_metadata(cgrpc_server_call *call)
{
  const cgrpc_metadata *md = cgrpc_server_call_metadata(call);
  const cgrpc_metadata_entry *e;
  int rv;

  e = cgrpc_metadata_find(md, ECHO_INITIAL_KEY);
  if (e != NULL) {
    rv = cgrpc_server_call_add_initial_metadata(call, e->key, e->value, e->value_len);
    if (rv != 0)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_INTERNAL, "echo %s: %s", e->key,
                                          cgrpc_strerror(rv));
  }
  e = cgrpc_metadata_find(md, ECHO_TRAILING_KEY);
  if (e != NULL) {
    rv = cgrpc_server_call_add_trailing_metadata(call, e->key, e->value, e->value_len);
    if (rv != 0)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_INTERNAL, "echo %s: %s", e->key,
                                          cgrpc_strerror(rv));
  }
  return CGRPC_STATUS_OK;
}

static cgrpc_code prologue(cgrpc_server_call *call)
{
  cgrpc_code code = sleep_if_asked(call);

  if (code != CGRPC_STATUS_OK)
    return code;
  return echo_metadata(call);
}

/* A payload of size zero bytes in call memory, or NULL when out of memory. */
static Grpc__Testing__Payload *zero_payload(cgrpc_server_call *call, size_t size)
{
  Grpc__Testing__Payload *payload = cgrpc_server_call_alloc(call, sizeof *payload);

  if (payload == NULL)
    return NULL;
  grpc__testing__payload__init(payload);
  payload->type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
  if (size > 0) {
    payload->body.data = cgrpc_server_call_alloc(call, size);
    if (payload->body.data == NULL)
      return NULL;
    memset(payload->body.data, 0, size);
    payload->body.len = size;
  }
  return payload;
}

/* ---- the methods -------------------------------------------------------- */

static cgrpc_code empty_call(cgrpc_server_call *call, const Grpc__Testing__Empty *request,
                             Grpc__Testing__Empty *response, void *user_data)
{
  (void)request;
  (void)response;
  (void)user_data;
  return prologue(call);
}

static cgrpc_code unary_call(cgrpc_server_call *call, const Grpc__Testing__SimpleRequest *request,
                             Grpc__Testing__SimpleResponse *response, void *user_data)
{
  cgrpc_code code = prologue(call);
  const Grpc__Testing__EchoStatus *echo = request->response_status;

  (void)user_data;
  if (code != CGRPC_STATUS_OK)
    return code;
  /* Echo Status.  The message goes through "%s": it may hold '%' signs. */
  if (echo != NULL && echo->code != 0) {
    if (echo->code < 0 || echo->code >= CGRPC_STATUS_CODE_COUNT)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                          "response_status.code %d is not a status code",
                                          (int)echo->code);
    return cgrpc_server_call_set_status(call, (cgrpc_code)echo->code, "%s",
                                        echo->message != NULL ? echo->message : "");
  }
  if (request->response_type != GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                        "unsupported response_type %d",
                                        (int)request->response_type);
  if (request->expect_compressed != NULL && request->expect_compressed->value)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                        "this server does not take compressed requests");
  if (request->response_size < 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                        "negative response_size %d",
                                        (int)request->response_size);
  if (request->response_size > 0) {
    response->payload = zero_payload(call, (size_t)request->response_size);
    if (response->payload == NULL)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                                          "no memory for a %d-byte payload",
                                          (int)request->response_size);
  }
  if (request->fill_server_id)
    response->server_id = cgrpc_server_call_strdup(call, "cgrpc-interop-server");
  return CGRPC_STATUS_OK;
}

/* Not part of the matrix: it needs a caching proxy.  Answers with the
 * current time as payload and lets proxies cache it for 60 s. */
static cgrpc_code cacheable_unary_call(cgrpc_server_call *call,
                                       const Grpc__Testing__SimpleRequest *request,
                                       Grpc__Testing__SimpleResponse *response, void *user_data)
{
  static const char cache_control[] = "max-age=60";
  cgrpc_code code = prologue(call);
  Grpc__Testing__Payload *payload;
  struct timespec ts;
  char *stamp;
  int rv;

  (void)request;
  (void)user_data;
  if (code != CGRPC_STATUS_OK)
    return code;
  rv = cgrpc_server_call_add_initial_metadata(call, "cache-control", cache_control,
                                              sizeof cache_control - 1);
  if (rv != 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INTERNAL, "cache-control: %s",
                                        cgrpc_strerror(rv));
  clock_gettime(CLOCK_REALTIME, &ts);
  payload = zero_payload(call, 0);
  stamp = cgrpc_server_call_printf(call, "%lld%09ld", (long long)ts.tv_sec, ts.tv_nsec);
  if (payload == NULL || stamp == NULL)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "no memory");
  payload->body.data = (uint8_t *)stamp;
  payload->body.len = strlen(stamp);
  response->payload = payload;
  return CGRPC_STATUS_OK;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
  fprintf(stderr, "usage: %s [--port N] [--host H]\n", progname);
  exit(2);
}

/* "--name=value" or "--name value": the value, advancing *i past it; NULL
 * when argv[*i] is another flag. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
  size_t n = strlen(name);

  if (strncmp(argv[*i], name, n) != 0)
    return NULL;
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (argv[*i][n] != '\0')
    return NULL;
  if (*i + 1 >= argc)
    usage();
  return argv[++*i];
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1";
  long port = 0;
  char address[300];
  const char *value;
  cgrpc_server_options *opts = NULL;
  cgrpc_server *server = NULL;
  Grpc__Testing__TestService_Server impl = GRPC__TESTING__TEST_SERVICE__SERVER_INIT;
  sigset_t stop_signals;
  int bound_port = 0;
  int rv, sig, i;

  for (i = 1; i < argc; i++) {
    char *end;
    if ((value = flag_value(argc, argv, &i, "--port")) != NULL) {
      errno = 0;
      port = strtol(value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || port < 0 || port > 65535)
        usage();
    } else if ((value = flag_value(argc, argv, &i, "--host")) != NULL) {
      host = value;
    } else if ((value = flag_value(argc, argv, &i, "--use_tls")) != NULL) {
      if (strcmp(value, "false") != 0) {
        fprintf(stderr, "%s: TLS is not supported\n", progname);
        return 2;
      }
    } else {
      usage();
    }
  }
  if (strchr(host, ':') != NULL && host[0] != '[')
    rv = snprintf(address, sizeof address, "[%s]:%ld", host, port);
  else
    rv = snprintf(address, sizeof address, "%s:%ld", host, port);
  if (rv < 0 || (size_t)rv >= sizeof address)
    usage();

  /* Block the stop signals before the runtime starts its threads, so they
   * all inherit the mask and only sigwait below sees the signals. */
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  rv = pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  if (rv != 0) {
    fprintf(stderr, "%s: pthread_sigmask: %s\n", progname, strerror(rv));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);

  impl.empty_call = empty_call;
  impl.unary_call = unary_call;
  impl.cacheable_unary_call = cacheable_unary_call;
  /* impl.unimplemented_call stays NULL: the runtime answers UNIMPLEMENTED. */

  if ((rv = cgrpc_server_options_new(&opts)) != 0 ||
      (rv = cgrpc_server_new(&server, opts)) != 0 ||
      (rv = grpc__testing__test_service_server__register(server, &impl, NULL)) != 0) {
    fprintf(stderr, "%s: setting up the server: %s\n", progname, cgrpc_strerror(rv));
    goto fail;
  }
  if ((rv = cgrpc_server_add_listener(server, address, &bound_port)) != 0) {
    fprintf(stderr, "%s: listening on %s: %s\n", progname, address, cgrpc_strerror(rv));
    goto fail;
  }
  if ((rv = cgrpc_server_start(server)) != 0) {
    fprintf(stderr, "%s: starting: %s\n", progname, cgrpc_strerror(rv));
    goto fail;
  }
  if (printf("LISTENING %d\n", bound_port) < 0 || fflush(stdout) != 0) {
    fprintf(stderr, "%s: cannot write to stdout\n", progname);
    goto fail;
  }

  do {
    rv = sigwait(&stop_signals, &sig);
  } while (rv == EINTR);
  if (rv != 0)
    fprintf(stderr, "%s: sigwait: %s\n", progname, strerror(rv));

  cgrpc_server_shutdown(server, SHUTDOWN_GRACE_MS);
  cgrpc_server_free(server);
  cgrpc_server_options_free(opts);
  return rv == 0 ? 0 : 1;

fail:
  cgrpc_server_free(server);
  cgrpc_server_options_free(opts);
  return 1;
}
