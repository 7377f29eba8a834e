/* cgrpc interop test server: gRPC's interop TestService (grpc/testing/test.proto),
 * as doc/interop-test-descriptions.md (grpc/grpc) describes the server side.
 *
 * Usage: interop_server [--port N] [--host H]
 *                       [--use_tls[=true|false] --tls_cert_file F --tls_key_file F
 *                        [--tls_client_ca_file F]]
 * Listens on H:N (default 127.0.0.1, port 0 = a free one), prints exactly one
 * line "LISTENING <port>" on stdout once serving, and on SIGTERM or SIGINT
 * shuts down gracefully, frees everything and exits 0 (so valgrind can check
 * that nothing leaks).
 *
 * Server features: EmptyCall; UnaryCall with response_size, response_type
 * (COMPRESSABLE only) and fill_server_id; CacheableUnaryCall;
 * StreamingOutputCall and FullDuplexCall with ResponseParameters.size and
 * .interval_us; StreamingInputCall (aggregated payload size); HalfDuplexCall
 * (buffers every request until the client half-closes, then answers them in
 * order); Echo Status on every method whose request has response_status, and
 * Echo Metadata on every method.  UnaryCall, FullDuplexCall and
 * HalfDuplexCall end the call with a request's response_status before
 * answering that request; StreamingOutputCall sends its responses first,
 * then ends with it (as grpcio_server.py and grpcjs_server.js do).
 * UnimplementedCall is left NULL in the skeleton (so the runtime answers
 * UNIMPLEMENTED), and grpc.testing.UnimplementedService is not registered.
 *
 * Compression, message by message: CompressedRequest -- a request (each
 * request of StreamingInputCall) with expect_compressed set must have arrived
 * compressed if it is true and uncompressed if it is false, or the call ends
 * with INVALID_ARGUMENT; CompressedResponse -- UnaryCall compresses its
 * response with gzip when response_compressed is true, and the streaming
 * methods send each response whose ResponseParameters.compressed is true
 * with gzip and every other one uncompressed.  The response headers name
 * gzip once a request asks for a compressed response, so a stream whose
 * response headers went out before any request asked ends with
 * FAILED_PRECONDITION when a later one does.
 *
 * TLS: --use_tls (alone, or =true; =false and absent: plaintext) with the
 * certificate chain and key in --tls_cert_file and --tls_key_file (PEM), as
 * grpc's interop servers spell them (there is no built-in test certificate,
 * so both are required).  mTLS: --tls_client_ca_file F requires a client
 * certificate chaining to the roots in F (a client without one fails its
 * handshake).
 *
 * Not supported: fill_username and fill_oauth_scope (no auth).
 *
 * cgrpc test extension: request metadata "x-cgrpc-test-sleep-ms: N" makes
 * every method sleep N ms (or until the call is cancelled or its deadline
 * passes) before doing anything else.  The extra case
 * timeout_on_sleeping_server_unary relies on it; grpcio_server.py and
 * grpcjs_server.js do the same.
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

#include "grpc/testing/test.cgrpc.h"

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

/* Why the handler stops early: the call was cancelled, or its deadline passed.
 * Nobody reads this status (the call is over); it only ends the handler. */
static cgrpc_code call_gone(cgrpc_server_call *call, const char *while_doing)
{
  if (cgrpc_server_call_remaining_ms(call) == 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_DEADLINE_EXCEEDED,
                                        "deadline passed while %s", while_doing);
  return cgrpc_server_call_set_status(call, CGRPC_STATUS_CANCELLED, "cancelled while %s",
                                      while_doing);
}

/* Sleeps for ns nanoseconds, in short naps so that a call the client gave up
 * on (deadline, cancellation) frees its handler thread quickly.  Returns 0,
 * or -1 if the call ended meanwhile. */
static int sleep_on_call(cgrpc_server_call *call, int64_t ns)
{
  cgrpc_time until = cgrpc_now() + ns;

  while (!cgrpc_server_call_is_cancelled(call)) {
    cgrpc_time now = cgrpc_now();
    if (now >= until)
      return 0;
    nap_ns(until - now < CGRPC_MS_TO_NS(10) ? until - now : CGRPC_MS_TO_NS(10));
  }
  return -1;
}

/* The sleep extension. */
static cgrpc_code sleep_if_asked(cgrpc_server_call *call)
{
  const char *value = cgrpc_metadata_get(cgrpc_server_call_metadata(call), SLEEP_KEY);
  char *end;
  long ms;

  if (value == NULL)
    return CGRPC_STATUS_OK;
  errno = 0;
  ms = strtol(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || ms < 0 || ms > SLEEP_MAX_MS)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                        "bad " SLEEP_KEY ": \"%s\"", value);
  if (sleep_on_call(call, CGRPC_MS_TO_NS(ms)) != 0)
    return call_gone(call, "sleeping");
  return CGRPC_STATUS_OK;
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

/* Echo Status: if the request asks for a status (a non-zero code), sets it
 * on the call, puts it in *code and returns 1; otherwise returns 0. */
static int echo_status(cgrpc_server_call *call, const Grpc__Testing__EchoStatus *echo,
                       cgrpc_code *code)
{
  if (echo == NULL || echo->code == 0)
    return 0;
  /* The message goes through "%s": it may hold '%' signs. */
  if (echo->code < 0 || echo->code >= CGRPC_STATUS_CODE_COUNT)
    *code = cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                         "response_status.code %d is not a status code",
                                         (int)echo->code);
  else
    *code = cgrpc_server_call_set_status(call, (cgrpc_code)echo->code, "%s",
                                         echo->message != NULL ? echo->message : "");
  return 1;
}

/* CompressedRequest: a request with expect_compressed set must have come
 * compressed (true) or uncompressed (false); the runtime says how the
 * request -- for streams, the one recv gave last -- arrived. */
static cgrpc_code check_request_compression(cgrpc_server_call *call,
                                            const Grpc__Testing__BoolValue *expect_compressed)
{
  int compressed = cgrpc_server_call_request_compressed(call);

  if (expect_compressed == NULL || (expect_compressed->value != 0) == (compressed != 0))
    return CGRPC_STATUS_OK;
  return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                      "expect_compressed is %s but the request arrived %s",
                                      expect_compressed->value ? "true" : "false",
                                      compressed ? "compressed" : "uncompressed");
}

static int is_true(const Grpc__Testing__BoolValue *value)
{
  return value != NULL && value->value;
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

/* ---- answering a StreamingOutputCallRequest ----------------------------- */

/* What StreamingOutputCall, FullDuplexCall and HalfDuplexCall keep across
 * the requests of a call. */
typedef struct output_state {
  int compressing; /* the call's responses may go compressed (gzip) */
} output_state;

static cgrpc_code check_output_request(cgrpc_server_call *call,
                                       const Grpc__Testing__StreamingOutputCallRequest *request)
{
  if (request->response_type != GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                        "unsupported response_type %d",
                                        (int)request->response_type);
  for (size_t i = 0; i < request->n_response_parameters; i++) {
    const Grpc__Testing__ResponseParameters *p = request->response_parameters[i];
    if (p->size < 0 || p->interval_us < 0)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                          "response_parameters[%zu]: size %d, interval_us %d", i,
                                          (int)p->size, (int)p->interval_us);
  }
  return CGRPC_STATUS_OK;
}

/* CompressedResponse: the call's responses go with gzip from the first
 * request that wants one of them compressed on; send_responses then sends
 * the others with CGRPC_SEND_NO_COMPRESS.  Possible only until the response
 * headers are out. */
static cgrpc_code enable_response_compression(
    cgrpc_server_call *call, const Grpc__Testing__StreamingOutputCallRequest *request,
    output_state *state)
{
  int wanted = 0;
  int rv;

  for (size_t i = 0; i < request->n_response_parameters; i++)
    wanted |= is_true(request->response_parameters[i]->compressed);
  if (!wanted || state->compressing)
    return CGRPC_STATUS_OK;
  rv = cgrpc_server_call_set_compression(call, "gzip");
  if (rv == CGRPC_ERR_STATE)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_FAILED_PRECONDITION,
                                        "a compressed response was asked for after the response "
                                        "headers went out uncompressed");
  if (rv != 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INTERNAL, "compressing: %s",
                                        cgrpc_strerror(rv));
  state->compressing = 1;
  return CGRPC_STATUS_OK;
}

/* One response per ResponseParameters, each after its interval_us (counted
 * from the previous response). */
static cgrpc_code send_responses(cgrpc_server_call *call,
                                 const Grpc__Testing__StreamingOutputCallRequest *request)
{
  size_t largest = 0;
  uint8_t *zeros;
  cgrpc_code code = CGRPC_STATUS_OK;

  for (size_t i = 0; i < request->n_response_parameters; i++)
    if ((size_t)request->response_parameters[i]->size > largest)
      largest = (size_t)request->response_parameters[i]->size;
  zeros = calloc(1, largest > 0 ? largest : 1);
  if (zeros == NULL)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                                        "no memory for a %zu-byte payload", largest);
  for (size_t i = 0; i < request->n_response_parameters; i++) {
    const Grpc__Testing__ResponseParameters *p = request->response_parameters[i];
    Grpc__Testing__Payload payload = GRPC__TESTING__PAYLOAD__INIT;
    Grpc__Testing__StreamingOutputCallResponse response =
        GRPC__TESTING__STREAMING_OUTPUT_CALL_RESPONSE__INIT;
    unsigned flags = is_true(p->compressed) ? 0 : CGRPC_SEND_NO_COMPRESS;
    int rv;

    if (p->interval_us > 0 && sleep_on_call(call, (int64_t)p->interval_us * 1000) != 0) {
      code = call_gone(call, "waiting for interval_us");
      break;
    }
    payload.type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
    payload.body.data = zeros;
    payload.body.len = (size_t)p->size;
    response.payload = &payload;
    rv = cgrpc_server_call_send_flags(call, &response.base, flags);
    if (rv != 0) {
      code = cgrpc_server_call_set_status(call, CGRPC_STATUS_CANCELLED, "sending response %zu: %s",
                                          i, cgrpc_strerror(rv));
      break;
    }
  }
  free(zeros);
  return code;
}

/* Answers one request: its responses and, when it asks for one, its status
 * (before the responses if status_first, else after them). */
static cgrpc_code answer_output_request(cgrpc_server_call *call,
                                        const Grpc__Testing__StreamingOutputCallRequest *request,
                                        output_state *state, int status_first)
{
  cgrpc_code code;

  if (status_first && echo_status(call, request->response_status, &code))
    return code;
  if ((code = check_output_request(call, request)) != CGRPC_STATUS_OK)
    return code;
  if ((code = enable_response_compression(call, request, state)) != CGRPC_STATUS_OK)
    return code;
  if ((code = send_responses(call, request)) != CGRPC_STATUS_OK)
    return code;
  if (!status_first && echo_status(call, request->response_status, &code))
    return code;
  return CGRPC_STATUS_OK;
}

static cgrpc_code recv_failed(cgrpc_server_call *call, int rv)
{
  return cgrpc_server_call_set_status(call, CGRPC_STATUS_CANCELLED, "receiving: %s",
                                      cgrpc_strerror(rv));
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

  (void)user_data;
  if (code != CGRPC_STATUS_OK)
    return code;
  if (echo_status(call, request->response_status, &code))
    return code;
  if (request->response_type != GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                        "unsupported response_type %d",
                                        (int)request->response_type);
  if ((code = check_request_compression(call, request->expect_compressed)) != CGRPC_STATUS_OK)
    return code;
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
  /* The one response goes with the call's encoding: gzip, or none. */
  if (is_true(request->response_compressed)) {
    int rv = cgrpc_server_call_set_compression(call, "gzip");
    if (rv != 0)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_INTERNAL, "compressing: %s",
                                          cgrpc_strerror(rv));
  }
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

/* One request, then a response per ResponseParameters; Echo Status last. */
static cgrpc_code streaming_output_call(
    Grpc__Testing__TestService_StreamingOutputCallServerCall *typed,
    const Grpc__Testing__StreamingOutputCallRequest *request, void *user_data)
{
  cgrpc_server_call *call = grpc__testing__test_service_server__streaming_output_call_call(typed);
  output_state state = {0};
  cgrpc_code code = prologue(call);

  (void)user_data;
  if (code != CGRPC_STATUS_OK)
    return code;
  return answer_output_request(call, request, &state, 0);
}

/* Requests until the half-close, then the sum of their payload sizes. */
static cgrpc_code streaming_input_call(
    Grpc__Testing__TestService_StreamingInputCallServerCall *typed,
    Grpc__Testing__StreamingInputCallResponse *response, void *user_data)
{
  cgrpc_server_call *call = grpc__testing__test_service_server__streaming_input_call_call(typed);
  cgrpc_code code = prologue(call);
  int64_t total = 0;

  (void)user_data;
  if (code != CGRPC_STATUS_OK)
    return code;
  for (;;) {
    const Grpc__Testing__StreamingInputCallRequest *request = NULL;
    int rv = grpc__testing__test_service_server__streaming_input_call_recv(typed, &request);
    if (rv == 0)
      break;
    if (rv < 0)
      return recv_failed(call, rv);
    if ((code = check_request_compression(call, request->expect_compressed)) != CGRPC_STATUS_OK)
      return code;
    if (request->payload != NULL)
      total += (int64_t)request->payload->body.len;
    if (total > INT32_MAX)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_OUT_OF_RANGE,
                                          "aggregated payload size over 2^31");
  }
  response->aggregated_payload_size = (int32_t)total;
  return CGRPC_STATUS_OK;
}

/* Each request answered as it comes; OK after the half-close. */
static cgrpc_code full_duplex_call(Grpc__Testing__TestService_FullDuplexCallServerCall *typed,
                                   void *user_data)
{
  cgrpc_server_call *call = grpc__testing__test_service_server__full_duplex_call_call(typed);
  output_state state = {0};
  cgrpc_code code = prologue(call);

  (void)user_data;
  if (code != CGRPC_STATUS_OK)
    return code;
  for (;;) {
    const Grpc__Testing__StreamingOutputCallRequest *request = NULL;
    int rv = grpc__testing__test_service_server__full_duplex_call_recv(typed, &request);
    if (rv == 0)
      return CGRPC_STATUS_OK;
    if (rv < 0)
      return recv_failed(call, rv);
    code = answer_output_request(call, request, &state, 1);
    if (code != CGRPC_STATUS_OK)
      return code;
  }
}

/* A request held by HalfDuplexCall until the half-close, serialised (a
 * received message only lives until the next recv), in call memory. */
typedef struct held_request {
  struct held_request *next;
  size_t len;
  uint8_t *data;
} held_request;

/* Every request is held until the client half-closes; then they are
 * answered in order. */
static cgrpc_code half_duplex_call(Grpc__Testing__TestService_HalfDuplexCallServerCall *typed,
                                   void *user_data)
{
  cgrpc_server_call *call = grpc__testing__test_service_server__half_duplex_call_call(typed);
  output_state state = {0};
  cgrpc_code code = prologue(call);
  held_request *first = NULL, **last = &first;

  (void)user_data;
  if (code != CGRPC_STATUS_OK)
    return code;
  for (;;) {
    const Grpc__Testing__StreamingOutputCallRequest *request = NULL;
    held_request *held;
    int rv = grpc__testing__test_service_server__half_duplex_call_recv(typed, &request);
    if (rv == 0)
      break;
    if (rv < 0)
      return recv_failed(call, rv);
    held = cgrpc_server_call_alloc(call, sizeof *held);
    if (held != NULL) {
      held->next = NULL;
      held->len = protobuf_c_message_get_packed_size(&request->base);
      held->data = cgrpc_server_call_alloc(call, held->len > 0 ? held->len : 1);
    }
    if (held == NULL || held->data == NULL)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                                          "no memory to hold a request");
    protobuf_c_message_pack(&request->base, held->data);
    *last = held;
    last = &held->next;
  }
  for (held_request *held = first; held != NULL; held = held->next) {
    Grpc__Testing__StreamingOutputCallRequest *request =
        grpc__testing__streaming_output_call_request__unpack(NULL, held->len, held->data);
    if (request == NULL)
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_INTERNAL,
                                          "cannot decode a held request");
    code = answer_output_request(call, request, &state, 1);
    grpc__testing__streaming_output_call_request__free_unpacked(request, NULL);
    if (code != CGRPC_STATUS_OK)
      return code;
  }
  return CGRPC_STATUS_OK;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
  fprintf(stderr,
          "usage: %s [--port N] [--host H]\n"
          "       [--use_tls[=true|false] --tls_cert_file F --tls_key_file F\n"
          "        [--tls_client_ca_file F]]\n",
          progname);
  exit(2);
}

/* A boolean flag as grpc's programs spell it: "--name" (true), "--name=B",
 * or "--name B" when B is true or false.  B: true/false, 1/0, yes/no.
 * Returns 1 and sets *out when argv[*i] is the flag, advancing *i past a
 * separate value; 0 when it is another flag. */
static int bool_flag(int argc, char **argv, int *i, const char *name, int *out)
{
  size_t n = strlen(name);
  const char *v;

  if (strncmp(argv[*i], name, n) != 0)
    return 0;
  if (argv[*i][n] == '=') {
    v = argv[*i] + n + 1;
  } else if (argv[*i][n] != '\0') {
    return 0;
  } else if (*i + 1 < argc &&
             (strcmp(argv[*i + 1], "true") == 0 || strcmp(argv[*i + 1], "false") == 0)) {
    v = argv[++*i];
  } else {
    *out = 1;
    return 1;
  }
  if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
    *out = 1;
  else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
    *out = 0;
  else
    usage();
  return 1;
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
  const char *cert_file = NULL, *key_file = NULL, *client_ca_file = NULL;
  cgrpc_tls_options *tls = NULL;
  char tls_err[256] = "";
  int use_tls = 0;
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
    } else if (bool_flag(argc, argv, &i, "--use_tls", &use_tls)) {
    } else if ((value = flag_value(argc, argv, &i, "--tls_cert_file")) != NULL) {
      cert_file = value;
    } else if ((value = flag_value(argc, argv, &i, "--tls_key_file")) != NULL) {
      key_file = value;
    } else if ((value = flag_value(argc, argv, &i, "--tls_client_ca_file")) != NULL) {
      client_ca_file = value;
    } else {
      usage();
    }
  }
  if (use_tls && (cert_file == NULL || key_file == NULL)) {
    fprintf(stderr, "%s: --use_tls needs --tls_cert_file and --tls_key_file\n", progname);
    return 2;
  }
  if (!use_tls && (cert_file != NULL || key_file != NULL || client_ca_file != NULL)) {
    fprintf(stderr, "%s: the --tls_*_file flags need --use_tls\n", progname);
    return 2;
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
  impl.streaming_output_call = streaming_output_call;
  impl.streaming_input_call = streaming_input_call;
  impl.full_duplex_call = full_duplex_call;
  impl.half_duplex_call = half_duplex_call;
  /* impl.unimplemented_call stays NULL: the runtime answers UNIMPLEMENTED. */

  if ((rv = cgrpc_server_options_new(&opts)) != 0 ||
      (rv = cgrpc_server_new(&server, opts)) != 0 ||
      (rv = grpc__testing__test_service_server__register(server, &impl, NULL)) != 0) {
    fprintf(stderr, "%s: setting up the server: %s\n", progname, cgrpc_strerror(rv));
    goto fail;
  }
  if (use_tls) {
    if ((rv = cgrpc_tls_options_new(&tls)) == 0 &&
        (rv = cgrpc_tls_options_set_cert_key_files(tls, cert_file, key_file)) == 0 &&
        (client_ca_file == NULL || (rv = cgrpc_tls_options_set_ca_file(tls, client_ca_file)) == 0)) {
      cgrpc_tls_options_require_client_cert(tls, client_ca_file != NULL);
      rv = cgrpc_server_add_tls_listener(server, address, tls, &bound_port, tls_err,
                                         sizeof tls_err);
    }
    cgrpc_tls_options_free(tls);
  } else {
    rv = cgrpc_server_add_listener(server, address, &bound_port);
  }
  if (rv != 0) {
    fprintf(stderr, "%s: listening on %s%s: %s%s%s\n", progname, address, use_tls ? " (TLS)" : "",
            cgrpc_strerror(rv), tls_err[0] ? ": " : "", tls_err);
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
