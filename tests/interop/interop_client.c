/* cgrpc interop test client: gRPC's interop test cases
 * (doc/interop-test-descriptions.md in grpc/grpc) with cgrpc's generated
 * blocking stubs, unary and streaming.
 *
 * Usage: interop_client --server_port N [--server_host H]
 *                       [--server_host_override NAME] [--test_case CASES]
 *                       [--use_tls[=true|false] [--ca_file F] [--use_test_ca[=B]]
 *                        [--tls_client_cert_file F --tls_client_key_file F]]
 * CASES is a comma-separated list of case names and groups: "all" (the
 * default; the official cases that need no cloud credentials),
 * "compression" (the four compression cases among them), "extra" (our own
 * cases) or "everything".  The cases run in the order given.  Prints one line
 * per case, "PASS <case>" or "FAIL <case>: <why>", and exits 0 only if every
 * case passed (2 on bad usage).
 *
 * --server_host_override NAME is the :authority; with TLS also the name the
 * server's certificate must carry (and the SNI), as grpc's interop clients
 * use it (ssl_target_name_override).  --use_tls (alone, or =true; =false and
 * absent: plaintext) turns TLS on: the server's chain must lead to the roots
 * in --ca_file (default: the system's).  --use_test_ca is accepted for
 * grpc's spelling, but there is no built-in test CA: =true needs --ca_file.
 * mTLS: --tls_client_cert_file and --tls_client_key_file (PEM; both or
 * neither) are the certificate chain and key the client presents.  The TLS
 * file flags need --use_tls.
 *
 * The cases are those of interop_cases.py, run exactly as grpcio_client.py
 * and grpcjs_client.js run them:
 * - empty_unary, large_unary, client_streaming, server_streaming, ping_pong,
 *   empty_stream, custom_metadata (UnaryCall and FullDuplexCall),
 *   special_status_message, unimplemented_method, unimplemented_service,
 *   cancel_after_begin, cancel_after_first_response,
 *   timeout_on_sleeping_server (FullDuplexCall, 1 ms deadline): as described.
 * - status_code_and_message: besides "test status message", both parts (the
 *   UnaryCall and the FullDuplexCall one) also send the special_status_message
 *   text and a message full of '%' signs (percent-encoding and printf-style
 *   misuse).
 * - client_compressed_unary, client_compressed_streaming: as described, the
 *   probe included (it must fail with INVALID_ARGUMENT); "compressed" is gzip
 *   by call options, and the uncompressed second request of the stream goes
 *   with CGRPC_SEND_NO_COMPRESS.
 * - server_compressed_unary, server_compressed_streaming: as described; the
 *   compressed flag of each response is checked (cgrpc_call_response_compressed),
 *   so UnaryCall goes through the streaming API to keep the call.
 * - extra: half_duplex (HalfDuplexCall: four requests, half-close, four
 *   responses), server_streaming_with_interval (three responses 100 ms
 *   apart: the server must observe interval_us), timeout_on_sleeping_server_unary
 *   (UnaryCall with metadata "x-cgrpc-test-sleep-ms: 2000", the test
 *   servers' extension, and a 100 ms deadline: DEADLINE_EXCEEDED within
 *   bounds, then the server must still answer).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrpc/cgrpc.h>

#include "grpc/testing/test.cgrpc.h"

#define ECHO_INITIAL_KEY "x-grpc-test-echo-initial"
#define ECHO_INITIAL_VALUE "test_initial_metadata_value"
#define ECHO_TRAILING_KEY "x-grpc-test-echo-trailing-bin"
#define SLEEP_KEY "x-cgrpc-test-sleep-ms"

#define LARGE_REQUEST_SIZE 271828
#define LARGE_RESPONSE_SIZE 314159

/* timeout_on_sleeping_server_unary: deadline, server sleep, and the bounds
 * on how long the call may take to fail. */
#define SLEEP_DEADLINE_MS 100
#define SLEEP_SERVER_MS "2000"
#define SLEEP_MIN_MS 50
#define SLEEP_MAX_MS 1500

/* server_streaming_with_interval: the interval, and how much earlier than
 * (i + 1) intervals response i may arrive (clock granularity). */
#define INTERVAL_US 100000
#define INTERVAL_SLACK_MS 5

/* Most response_parameters a request of ours has. */
#define MAX_PARAMS 4

static const uint8_t echo_trailing_value[3] = {0xab, 0xab, 0xab};

static const char status_message[] = "test status message";
static const char special_status_message[] =
    "\t\ntest with whitespace\r\nand Unicode BMP \xe2\x98\xba and non-BMP \xf0\x9f\x98\x88\t\n";
static const char percent_status_message[] =
    "100% sure: %25 stays %25, %s %d %n %% and %zz are literal, as is a final %";
static const char *const status_messages[] = {status_message, special_status_message,
                                              percent_status_message};
#define N_STATUS_MESSAGES (sizeof status_messages / sizeof status_messages[0])

static const char *progname = "interop_client";

typedef struct test_ctx {
  cgrpc_channel *channel;
  uint8_t *zeros;  /* LARGE_REQUEST_SIZE zero bytes, for request payloads */
  char why[1024]; /* why the case failed */
} test_ctx;

/* Records why the case failed; returns -1 for `return fail(...)`. */
static int fail(test_ctx *t, const char *fmt, ...) CGRPC_PRINTF(2, 3);

static int fail(test_ctx *t, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(t->why, sizeof t->why, fmt, ap);
  va_end(ap);
  return -1;
}

/* Puts "what: " in front of why the case failed; returns -1. */
static int fail_in(test_ctx *t, const char *what)
{
  char why[sizeof t->why];

  memcpy(why, t->why, sizeof why);
  return fail(t, "%s: %.900s", what, why);
}

/* s (len bytes) as a one-line C string literal body, in buf. */
static const char *escape(char *buf, size_t size, const void *s, size_t len)
{
  const unsigned char *p = s;
  size_t n = 0;

  for (size_t i = 0; i < len && n + 5 < size; i++) {
    unsigned char c = p[i];
    if (c == '\\' || c == '"')
      n += (size_t)snprintf(buf + n, size - n, "\\%c", c);
    else if (c == '\t')
      n += (size_t)snprintf(buf + n, size - n, "\\t");
    else if (c == '\n')
      n += (size_t)snprintf(buf + n, size - n, "\\n");
    else if (c == '\r')
      n += (size_t)snprintf(buf + n, size - n, "\\r");
    else if (c < 0x20 || c > 0x7e)
      n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
    else
      buf[n++] = (char)c;
  }
  buf[n] = '\0';
  return buf;
}

static const char *escape_str(char *buf, size_t size, const char *s)
{
  if (s == NULL)
    return "(null)";
  return escape(buf, size, s, strlen(s));
}

static void free_message(test_ctx *t, void *message)
{
  if (message != NULL)
    protobuf_c_message_free_unpacked(message, cgrpc_channel_protobuf_allocator(t->channel));
}

/* Fails unless the call ended with want (and, if want_message is not NULL,
 * with exactly that message). */
static int expect_status(test_ctx *t, cgrpc_code got, const cgrpc_status *status, cgrpc_code want,
                         const char *want_message)
{
  char a[300], b[300];

  if (got != want || status->code != want)
    return fail(t, "status %s (\"%s\"), want %s", cgrpc_code_name((int)status->code),
                escape_str(a, sizeof a, status->message), cgrpc_code_name((int)want));
  if (want_message != NULL && (status->message == NULL || strcmp(status->message, want_message) != 0))
    return fail(t, "status message \"%s\", want \"%s\"", escape_str(a, sizeof a, status->message),
                escape_str(b, sizeof b, want_message));
  return 0;
}

/* What is wrong with a response payload, in buf; 0 if nothing, else -1. */
static int payload_problem(char *buf, size_t size, const Grpc__Testing__Payload *payload,
                           size_t want, const char *what)
{
  if (payload == NULL) {
    snprintf(buf, size, "%s has no payload, want %zu bytes", what, want);
    return -1;
  }
  if (payload->type != GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE) {
    snprintf(buf, size, "%s payload type %d", what, (int)payload->type);
    return -1;
  }
  if (payload->body.len != want) {
    snprintf(buf, size, "%s payload is %zu bytes, want %zu", what, payload->body.len, want);
    return -1;
  }
  for (size_t i = 0; i < want; i++) {
    if (payload->body.data[i] != 0) {
      snprintf(buf, size, "%s payload byte %zu is 0x%02x, want zero", what, i,
               payload->body.data[i]);
      return -1;
    }
  }
  return 0;
}

static int check_payload(test_ctx *t, const Grpc__Testing__Payload *payload, size_t size)
{
  char why[300];

  if (payload_problem(why, sizeof why, payload, size, "response") != 0)
    return fail(t, "%s", why);
  return 0;
}

static int check_metadata(test_ctx *t, const char *where, const cgrpc_metadata *md,
                          const char *key, const void *want, size_t want_len)
{
  const cgrpc_metadata_entry *e = cgrpc_metadata_find(md, key);
  char a[100], b[100];

  if (e == NULL)
    return fail(t, "no %s in the %s metadata", key, where);
  if (e->value_len != want_len || memcmp(e->value, want, want_len) != 0)
    return fail(t, "%s metadata %s is \"%s\", want \"%s\"", where, key,
                escape(a, sizeof a, e->value, e->value_len), escape(b, sizeof b, want, want_len));
  return 0;
}

static int check_echoed_metadata(test_ctx *t, const cgrpc_status *status)
{
  if (check_metadata(t, "initial", status->initial_metadata, ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE,
                     strlen(ECHO_INITIAL_VALUE)) != 0 ||
      check_metadata(t, "trailing", status->trailing_metadata, ECHO_TRAILING_KEY,
                     echo_trailing_value, sizeof echo_trailing_value) != 0)
    return -1;
  return 0;
}

/* Call options with the custom_metadata case's metadata, or NULL (then why
 * is set). */
static cgrpc_call_options *echo_metadata_options(test_ctx *t)
{
  cgrpc_call_options *opts = NULL;
  int rv;

  if ((rv = cgrpc_call_options_new(&opts)) != 0 ||
      (rv = cgrpc_call_options_add_metadata(opts, ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE,
                                            strlen(ECHO_INITIAL_VALUE))) != 0 ||
      (rv = cgrpc_call_options_add_metadata(opts, ECHO_TRAILING_KEY, echo_trailing_value,
                                            sizeof echo_trailing_value)) != 0) {
    cgrpc_call_options_free(opts);
    fail(t, "call options: %s", cgrpc_strerror(rv));
    return NULL;
  }
  return opts;
}

/* The large_unary request. */
static void large_request(test_ctx *t, Grpc__Testing__SimpleRequest *request,
                          Grpc__Testing__Payload *payload)
{
  grpc__testing__payload__init(payload);
  payload->type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
  payload->body.data = t->zeros;
  payload->body.len = LARGE_REQUEST_SIZE;
  grpc__testing__simple_request__init(request);
  request->response_type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
  request->response_size = LARGE_RESPONSE_SIZE;
  request->payload = payload;
}

/* ---- streaming helpers -------------------------------------------------- */

/* A StreamingOutputCallRequest with everything it points to. */
typedef struct output_request {
  Grpc__Testing__StreamingOutputCallRequest msg;
  Grpc__Testing__ResponseParameters params[MAX_PARAMS];
  Grpc__Testing__ResponseParameters *param_ptrs[MAX_PARAMS];
  Grpc__Testing__Payload payload;
  Grpc__Testing__EchoStatus status;
} output_request;

/* Asks for n responses of sizes[i] bytes, each interval_us after the
 * previous one, with a request payload of request_size zero bytes (none if 0). */
static void output_request_init(test_ctx *t, output_request *r, const size_t *sizes, size_t n,
                                int32_t interval_us, size_t request_size)
{
  grpc__testing__streaming_output_call_request__init(&r->msg);
  r->msg.response_type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
  for (size_t i = 0; i < n && i < MAX_PARAMS; i++) {
    grpc__testing__response_parameters__init(&r->params[i]);
    r->params[i].size = (int32_t)sizes[i];
    r->params[i].interval_us = interval_us;
    r->param_ptrs[i] = &r->params[i];
  }
  r->msg.n_response_parameters = n < MAX_PARAMS ? n : MAX_PARAMS;
  r->msg.response_parameters = r->param_ptrs;
  if (request_size > 0) {
    grpc__testing__payload__init(&r->payload);
    r->payload.type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
    r->payload.body.data = t->zeros;
    r->payload.body.len = request_size;
    r->msg.payload = &r->payload;
  }
}

/* Echo Status in the request: the call must end with code and message. */
static void output_request_set_status(output_request *r, int code, const char *message)
{
  grpc__testing__echo_status__init(&r->status);
  r->status.code = code;
  r->status.message = (char *)message;
  r->msg.response_status = &r->status;
}

/* The generated functions of StreamingOutputCall, FullDuplexCall or
 * HalfDuplexCall that finish_stream reads a call with (they all receive
 * StreamingOutputCallResponse), each on its method's typed handle. */
typedef struct output_fns {
  int (*recv)(void *call, Grpc__Testing__StreamingOutputCallResponse **response);
  cgrpc_code (*finish)(void *call, cgrpc_status *status);
} output_fns;

static int streaming_output_recv(void *call, Grpc__Testing__StreamingOutputCallResponse **response)
{
  return grpc__testing__test_service_client__streaming_output_call_recv(call, response);
}

static cgrpc_code streaming_output_finish(void *call, cgrpc_status *status)
{
  return grpc__testing__test_service_client__streaming_output_call_finish(call, status);
}

static int full_duplex_recv(void *call, Grpc__Testing__StreamingOutputCallResponse **response)
{
  return grpc__testing__test_service_client__full_duplex_call_recv(call, response);
}

static cgrpc_code full_duplex_finish(void *call, cgrpc_status *status)
{
  return grpc__testing__test_service_client__full_duplex_call_finish(call, status);
}

static int half_duplex_recv(void *call, Grpc__Testing__StreamingOutputCallResponse **response)
{
  return grpc__testing__test_service_client__half_duplex_call_recv(call, response);
}

static cgrpc_code half_duplex_finish(void *call, cgrpc_status *status)
{
  return grpc__testing__test_service_client__half_duplex_call_finish(call, status);
}

static const output_fns streaming_output_fns = {streaming_output_recv, streaming_output_finish};
static const output_fns full_duplex_fns = {full_duplex_recv, full_duplex_finish};
static const output_fns half_duplex_fns = {half_duplex_recv, half_duplex_finish};

/*
 * Receives every remaining response of call, then finishes it into status.
 * Fails unless the call ended with want (and want_message, if not NULL) and,
 * when want is OK, the responses were exactly n of sizes[i] zero bytes.  With
 * arrivals not NULL, the arrival time of response i goes to arrivals[i] (for
 * i < n).  first is the index of the first response to come (for messages).
 */
static int finish_stream(test_ctx *t, void *call, const output_fns *fns, const size_t *sizes,
                         size_t n, size_t first, cgrpc_code want, const char *want_message,
                         cgrpc_status *status, cgrpc_time *arrivals)
{
  char problem[400] = "";
  size_t got = first;
  cgrpc_code code;
  int rv;

  for (;;) {
    Grpc__Testing__StreamingOutputCallResponse *response = NULL;
    rv = fns->recv(call, &response);
    if (rv != 1) {
      if (rv < 0 && problem[0] == '\0')
        snprintf(problem, sizeof problem, "recv after %zu responses: %s", got,
                 cgrpc_strerror(rv));
      break;
    }
    if (arrivals != NULL && got < n)
      arrivals[got] = cgrpc_now();
    if (problem[0] == '\0' && got < n) {
      char what[40];
      snprintf(what, sizeof what, "response %zu", got);
      payload_problem(problem, sizeof problem, response->payload, sizes[got], what);
    }
    got++;
    free_message(t, response);
  }
  code = fns->finish(call, status);
  if (expect_status(t, code, status, want, want_message) != 0)
    return -1;
  if (got != n)
    return fail(t, "%zu responses, want %zu", got, n);
  if (problem[0] != '\0')
    return fail(t, "%s", problem);
  return 0;
}

/*
 * Gives up on a call after a failure, adding its status to why.  With
 * cancel, the call is cancelled first (for failures while it may still be
 * running); without, it has ended and the status is the server's.
 */
static int give_up(test_ctx *t, cgrpc_call *call, int cancel)
{
  cgrpc_status status = CGRPC_STATUS_INIT;
  char why[sizeof t->why], msg[200];

  if (cancel)
    cgrpc_call_cancel(call);
  cgrpc_call_finish(call, &status);
  memcpy(why, t->why, sizeof why);
  fail(t, "%.700s (call status %s \"%s\")", why, cgrpc_code_name((int)status.code),
       escape_str(msg, sizeof msg, status.message));
  cgrpc_status_clear(&status);
  return -1;
}

/* One ping-pong exchange on a FullDuplexCall: a request of request_size
 * bytes asking for one response of response_size bytes, which must come.
 * On failure the call is finished (see give_up). */
static int exchange(test_ctx *t, Grpc__Testing__TestService_FullDuplexCallCall *call,
                    size_t request_size, size_t response_size, size_t index)
{
  output_request request;
  Grpc__Testing__StreamingOutputCallResponse *response = NULL;
  char what[40];
  int rv;

  output_request_init(t, &request, &response_size, 1, 0, request_size);
  rv = grpc__testing__test_service_client__full_duplex_call_send(call, &request.msg);
  if (rv != 0) {
    fail(t, "sending request %zu: %s", index, cgrpc_strerror(rv));
    return give_up(t, grpc__testing__test_service_client__full_duplex_call_call(call), 0);
  }
  rv = grpc__testing__test_service_client__full_duplex_call_recv(call, &response);
  if (rv != 1) {
    fail(t, "no response %zu: recv returned %d", index, rv);
    return give_up(t, grpc__testing__test_service_client__full_duplex_call_call(call), rv < 0);
  }
  snprintf(what, sizeof what, "response %zu", index);
  rv = payload_problem(t->why, sizeof t->why, response->payload, response_size, what);
  free_message(t, response);
  if (rv != 0)
    return give_up(t, grpc__testing__test_service_client__full_duplex_call_call(call), 1);
  return 0;
}

/* Starts a FullDuplexCall (or fails, setting why). */
static int start_full_duplex(test_ctx *t, const cgrpc_call_options *opts,
                             Grpc__Testing__TestService_FullDuplexCallCall **call)
{
  int rv = grpc__testing__test_service_client__full_duplex_call(t->channel, opts, call);

  if (rv != 0)
    return fail(t, "starting FullDuplexCall: %s", cgrpc_strerror(rv));
  return 0;
}

/* ---- the official cases ------------------------------------------------- */

static int empty_unary(test_ctx *t)
{
  Grpc__Testing__Empty request = GRPC__TESTING__EMPTY__INIT;
  Grpc__Testing__Empty *response = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_code code;
  int rv;

  code = grpc__testing__test_service_client__empty_call(t->channel, &request, &response, NULL,
                                                        &status);
  rv = expect_status(t, code, &status, CGRPC_STATUS_OK, NULL);
  if (rv == 0 && response == NULL)
    rv = fail(t, "call succeeded without a response");
  free_message(t, response);
  cgrpc_status_clear(&status);
  return rv;
}

/* large_unary, and with opts the unary part of custom_metadata. */
static int large_unary_with(test_ctx *t, const cgrpc_call_options *opts, cgrpc_status *status)
{
  Grpc__Testing__SimpleRequest request;
  Grpc__Testing__Payload payload;
  Grpc__Testing__SimpleResponse *response = NULL;
  cgrpc_code code;
  int rv;

  large_request(t, &request, &payload);
  code = grpc__testing__test_service_client__unary_call(t->channel, &request, &response, opts,
                                                        status);
  rv = expect_status(t, code, status, CGRPC_STATUS_OK, NULL);
  if (rv == 0 && response == NULL)
    rv = fail(t, "call succeeded without a response");
  if (rv == 0)
    rv = check_payload(t, response->payload, LARGE_RESPONSE_SIZE);
  free_message(t, response);
  return rv;
}

static int large_unary(test_ctx *t)
{
  cgrpc_status status = CGRPC_STATUS_INIT;
  int rv = large_unary_with(t, NULL, &status);

  cgrpc_status_clear(&status);
  return rv;
}

static int client_streaming(test_ctx *t)
{
  static const size_t sizes[] = {27182, 8, 1828, 45904};
  Grpc__Testing__StreamingInputCallResponse *response = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  Grpc__Testing__TestService_StreamingInputCallCall *call = NULL;
  cgrpc_code code;
  int rv, send_rv = 0;
  size_t i;

  rv = grpc__testing__test_service_client__streaming_input_call(t->channel, NULL, &call);
  if (rv != 0)
    return fail(t, "starting StreamingInputCall: %s", cgrpc_strerror(rv));
  for (i = 0; i < sizeof sizes / sizeof sizes[0] && send_rv == 0; i++) {
    Grpc__Testing__StreamingInputCallRequest request = GRPC__TESTING__STREAMING_INPUT_CALL_REQUEST__INIT;
    Grpc__Testing__Payload payload = GRPC__TESTING__PAYLOAD__INIT;
    payload.body.data = t->zeros;
    payload.body.len = sizes[i];
    request.payload = &payload;
    send_rv = grpc__testing__test_service_client__streaming_input_call_send(call, &request);
  }
  code = grpc__testing__test_service_client__streaming_input_call_close_and_recv(call, &response,
                                                                                &status);
  rv = expect_status(t, code, &status, CGRPC_STATUS_OK, NULL);
  if (rv == 0 && send_rv != 0)
    rv = fail(t, "sending request %zu: %s, yet the call succeeded", i - 1,
              cgrpc_strerror(send_rv));
  if (rv == 0 && response == NULL)
    rv = fail(t, "call succeeded without a response");
  if (rv == 0 && response->aggregated_payload_size != 74922)
    rv = fail(t, "aggregated_payload_size %d, want 74922", (int)response->aggregated_payload_size);
  free_message(t, response);
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__streaming_input_call_free(call);
  return rv;
}

static int server_streaming(test_ctx *t)
{
  static const size_t sizes[] = {31415, 9, 2653, 58979};
  output_request request;
  cgrpc_status status = CGRPC_STATUS_INIT;
  Grpc__Testing__TestService_StreamingOutputCallCall *call = NULL;
  int rv;

  output_request_init(t, &request, sizes, 4, 0, 0);
  rv = grpc__testing__test_service_client__streaming_output_call(t->channel, &request.msg, NULL,
                                                                 &call);
  if (rv != 0)
    return fail(t, "starting StreamingOutputCall: %s", cgrpc_strerror(rv));
  rv = finish_stream(t, call, &streaming_output_fns, sizes, 4, 0, CGRPC_STATUS_OK, NULL, &status,
                     NULL);
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__streaming_output_call_free(call);
  return rv;
}

static int ping_pong(test_ctx *t)
{
  static const size_t request_sizes[] = {27182, 8, 1828, 45904};
  static const size_t response_sizes[] = {31415, 9, 2653, 58979};
  cgrpc_status status = CGRPC_STATUS_INIT;
  Grpc__Testing__TestService_FullDuplexCallCall *call = NULL;
  int rv;

  if (start_full_duplex(t, NULL, &call) != 0)
    return -1;
  for (size_t i = 0; i < 4; i++) {
    if (exchange(t, call, request_sizes[i], response_sizes[i], i) != 0) {
      grpc__testing__test_service_client__full_duplex_call_free(call);
      return -1;
    }
  }
  rv = grpc__testing__test_service_client__full_duplex_call_close_send(call);
  if (rv != 0) {
    fail(t, "close_send: %s", cgrpc_strerror(rv));
    rv = give_up(t, grpc__testing__test_service_client__full_duplex_call_call(call), 0);
  } else {
    rv = finish_stream(t, call, &full_duplex_fns, NULL,
                       0, 0, CGRPC_STATUS_OK, NULL, &status, NULL);
  }
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__full_duplex_call_free(call);
  return rv;
}

static int empty_stream(test_ctx *t)
{
  cgrpc_status status = CGRPC_STATUS_INIT;
  Grpc__Testing__TestService_FullDuplexCallCall *call = NULL;
  int rv;

  if (start_full_duplex(t, NULL, &call) != 0)
    return -1;
  rv = grpc__testing__test_service_client__full_duplex_call_close_send(call);
  if (rv != 0) {
    fail(t, "close_send: %s", cgrpc_strerror(rv));
    rv = give_up(t, grpc__testing__test_service_client__full_duplex_call_call(call), 0);
  } else {
    rv = finish_stream(t, call, &full_duplex_fns, NULL,
                       0, 0, CGRPC_STATUS_OK, NULL, &status, NULL);
  }
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__full_duplex_call_free(call);
  return rv;
}

static int custom_metadata(test_ctx *t)
{
  static const size_t response_size = LARGE_RESPONSE_SIZE;
  cgrpc_call_options *opts = echo_metadata_options(t);
  cgrpc_status status = CGRPC_STATUS_INIT;
  output_request request;
  Grpc__Testing__TestService_FullDuplexCallCall *call = NULL;
  int rv;

  if (opts == NULL)
    return -1;
  /* UnaryCall */
  rv = large_unary_with(t, opts, &status);
  if (rv == 0)
    rv = check_echoed_metadata(t, &status);
  cgrpc_status_clear(&status);
  if (rv != 0) {
    cgrpc_call_options_free(opts);
    return fail_in(t, "UnaryCall");
  }
  /* FullDuplexCall */
  rv = start_full_duplex(t, opts, &call);
  cgrpc_call_options_free(opts);
  if (rv != 0)
    return -1;
  output_request_init(t, &request, &response_size, 1, 0, LARGE_REQUEST_SIZE);
  rv = grpc__testing__test_service_client__full_duplex_call_send(call, &request.msg);
  if (rv == 0)
    rv = grpc__testing__test_service_client__full_duplex_call_close_send(call);
  if (rv != 0) {
    fail(t, "send/close_send: %s", cgrpc_strerror(rv));
    rv = give_up(t, grpc__testing__test_service_client__full_duplex_call_call(call), 0);
  } else {
    rv = finish_stream(t, call, &full_duplex_fns,
                       &response_size, 1, 0, CGRPC_STATUS_OK, NULL, &status, NULL);
    if (rv == 0)
      rv = check_echoed_metadata(t, &status);
  }
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__full_duplex_call_free(call);
  return rv == 0 ? 0 : fail_in(t, "FullDuplexCall");
}

/* Echo Status on UnaryCall: the call must fail with code 2 and exactly this
 * message. */
static int echo_status_unary(test_ctx *t, const char *message)
{
  Grpc__Testing__SimpleRequest request;
  Grpc__Testing__EchoStatus echo;
  Grpc__Testing__SimpleResponse *response = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_code code;
  int rv;

  grpc__testing__echo_status__init(&echo);
  echo.code = 2;
  echo.message = (char *)message;
  grpc__testing__simple_request__init(&request);
  request.response_status = &echo;
  code = grpc__testing__test_service_client__unary_call(t->channel, &request, &response, NULL,
                                                        &status);
  rv = expect_status(t, code, &status, CGRPC_STATUS_UNKNOWN, message);
  if (rv == 0 && response != NULL)
    rv = fail(t, "a failed call returned a response");
  free_message(t, response);
  cgrpc_status_clear(&status);
  return rv;
}

/* The same on FullDuplexCall: one request, then the half-close. */
static int echo_status_full_duplex(test_ctx *t, const char *message)
{
  output_request request;
  cgrpc_status status = CGRPC_STATUS_INIT;
  Grpc__Testing__TestService_FullDuplexCallCall *call = NULL;
  int rv;

  if (start_full_duplex(t, NULL, &call) != 0)
    return fail_in(t, "FullDuplexCall");
  output_request_init(t, &request, NULL, 0, 0, 0);
  output_request_set_status(&request, 2, message);
  /* The server may end the call before our half-close: what matters is the
   * status, so send and close_send may fail. */
  (void)grpc__testing__test_service_client__full_duplex_call_send(call, &request.msg);
  (void)grpc__testing__test_service_client__full_duplex_call_close_send(call);
  rv = finish_stream(t, call, &full_duplex_fns, NULL, 0,
                     0, CGRPC_STATUS_UNKNOWN, message, &status, NULL);
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__full_duplex_call_free(call);
  return rv == 0 ? 0 : fail_in(t, "FullDuplexCall");
}

static int status_code_and_message(test_ctx *t)
{
  for (size_t i = 0; i < N_STATUS_MESSAGES; i++)
    if (echo_status_unary(t, status_messages[i]) != 0)
      return fail_in(t, "UnaryCall");
  for (size_t i = 0; i < N_STATUS_MESSAGES; i++)
    if (echo_status_full_duplex(t, status_messages[i]) != 0)
      return -1;
  return 0;
}

static int special_status_message_case(test_ctx *t)
{
  return echo_status_unary(t, special_status_message);
}

static int unimplemented_method(test_ctx *t)
{
  Grpc__Testing__Empty request = GRPC__TESTING__EMPTY__INIT;
  Grpc__Testing__Empty *response = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_code code;
  int rv;

  code = grpc__testing__test_service_client__unimplemented_call(t->channel, &request, &response,
                                                                NULL, &status);
  rv = expect_status(t, code, &status, CGRPC_STATUS_UNIMPLEMENTED, NULL);
  free_message(t, response);
  cgrpc_status_clear(&status);
  return rv;
}

static int unimplemented_service(test_ctx *t)
{
  Grpc__Testing__Empty request = GRPC__TESTING__EMPTY__INIT;
  Grpc__Testing__Empty *response = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_code code;
  int rv;

  code = grpc__testing__unimplemented_service_client__unimplemented_call(t->channel, &request,
                                                                         &response, NULL, &status);
  rv = expect_status(t, code, &status, CGRPC_STATUS_UNIMPLEMENTED, NULL);
  free_message(t, response);
  cgrpc_status_clear(&status);
  return rv;
}

static int cancel_after_begin(test_ctx *t)
{
  cgrpc_status status = CGRPC_STATUS_INIT;
  Grpc__Testing__TestService_StreamingInputCallCall *call = NULL;
  cgrpc_code code;
  int rv;

  rv = grpc__testing__test_service_client__streaming_input_call(t->channel, NULL, &call);
  if (rv != 0)
    return fail(t, "starting StreamingInputCall: %s", cgrpc_strerror(rv));
  grpc__testing__test_service_client__streaming_input_call_cancel(call);
  code = cgrpc_call_finish(grpc__testing__test_service_client__streaming_input_call_call(call), &status);
  rv = expect_status(t, code, &status, CGRPC_STATUS_CANCELLED, NULL);
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__streaming_input_call_free(call);
  return rv;
}

static int cancel_after_first_response(test_ctx *t)
{
  Grpc__Testing__StreamingOutputCallResponse *response = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  Grpc__Testing__TestService_FullDuplexCallCall *call = NULL;
  cgrpc_code code;
  int rv;

  if (start_full_duplex(t, NULL, &call) != 0)
    return -1;
  if (exchange(t, call, 27182, 31415, 0) != 0) {
    grpc__testing__test_service_client__full_duplex_call_free(call);
    return -1;
  }
  grpc__testing__test_service_client__full_duplex_call_cancel(call);
  /* Nothing more may come, and recv must not block. */
  rv = grpc__testing__test_service_client__full_duplex_call_recv(call, &response);
  free_message(t, response);
  code = grpc__testing__test_service_client__full_duplex_call_finish(call, &status);
  if (expect_status(t, code, &status, CGRPC_STATUS_CANCELLED, NULL) != 0)
    rv = -1;
  else if (rv != 0)
    rv = fail(t, "recv after cancel returned %d, want 0", rv);
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__full_duplex_call_free(call);
  return rv;
}

static int timeout_on_sleeping_server(test_ctx *t)
{
  cgrpc_call_options *opts = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  output_request request;
  Grpc__Testing__TestService_FullDuplexCallCall *call = NULL;
  int rv;

  if ((rv = cgrpc_call_options_new(&opts)) != 0)
    return fail(t, "call options: %s", cgrpc_strerror(rv));
  cgrpc_call_options_set_timeout_ms(opts, 1);
  rv = start_full_duplex(t, opts, &call);
  cgrpc_call_options_free(opts);
  if (rv != 0)
    return -1;
  output_request_init(t, &request, NULL, 0, 0, 27182);
  /* The deadline may pass before this: then send fails and the status says why. */
  (void)grpc__testing__test_service_client__full_duplex_call_send(call, &request.msg);
  rv = finish_stream(t, call, &full_duplex_fns, NULL, 0,
                     0, CGRPC_STATUS_DEADLINE_EXCEEDED, NULL, &status, NULL);
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__full_duplex_call_free(call);
  return rv;
}

/* ---- the compression cases ---------------------------------------------- */

/* gzip on every request message of a call (the channel sends none). */
static cgrpc_call_options *gzip_options(test_ctx *t)
{
  cgrpc_call_options *opts = NULL;
  int rv;

  if ((rv = cgrpc_call_options_new(&opts)) != 0 ||
      (rv = cgrpc_call_options_set_compression(opts, "gzip")) != 0) {
    cgrpc_call_options_free(opts);
    fail(t, "call options: %s", cgrpc_strerror(rv));
    return NULL;
  }
  return opts;
}

/*
 * UnaryCall through the streaming API, which -- unlike the blocking stub --
 * leaves us the call to ask whether the response arrived compressed.  Fails
 * unless the call ends with want and, when that is OK, the response has
 * LARGE_RESPONSE_SIZE zero bytes and arrived compressed (want_compressed 1)
 * or not (0); -1 takes either.
 */
static int unary_call_checked(test_ctx *t, const Grpc__Testing__SimpleRequest *request,
                              const cgrpc_call_options *opts, cgrpc_code want, int want_compressed)
{
  const cgrpc_method_desc *method =
      &grpc__testing__test_service__cgrpc_service.methods[GRPC__TESTING__TEST_SERVICE__METHOD_UNARY_CALL];
  ProtobufCMessage *msg = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_call *call = NULL;
  cgrpc_code code;
  int compressed = 0;
  int rv;

  rv = cgrpc_call_start_stream(t->channel, method, &request->base, opts, &call);
  if (rv != 0)
    return fail(t, "starting UnaryCall: %s", cgrpc_strerror(rv));
  if (cgrpc_call_recv(call, &msg) == 1)
    compressed = cgrpc_call_response_compressed(call);
  code = cgrpc_call_finish(call, &status);
  rv = expect_status(t, code, &status, want, NULL);
  if (rv == 0 && want != CGRPC_STATUS_OK && msg != NULL)
    rv = fail(t, "a failed call returned a response");
  if (rv == 0 && want == CGRPC_STATUS_OK && msg == NULL)
    rv = fail(t, "call succeeded without a response");
  if (rv == 0 && want == CGRPC_STATUS_OK)
    rv = check_payload(t, ((Grpc__Testing__SimpleResponse *)msg)->payload, LARGE_RESPONSE_SIZE);
  if (rv == 0 && want_compressed >= 0 && compressed != want_compressed)
    rv = fail(t, "the response arrived %s, want %s", compressed ? "compressed" : "uncompressed",
              want_compressed ? "compressed" : "uncompressed");
  free_message(t, msg);
  cgrpc_status_clear(&status);
  cgrpc_call_free(call);
  return rv;
}

static int client_compressed_unary(test_ctx *t)
{
  Grpc__Testing__SimpleRequest request;
  Grpc__Testing__Payload payload;
  Grpc__Testing__BoolValue expect = GRPC__TESTING__BOOL_VALUE__INIT;
  cgrpc_call_options *gzip;
  int rv;

  large_request(t, &request, &payload);
  request.expect_compressed = &expect;
  /* The probe: uncompressed, yet expect_compressed.  A server that cannot
   * tell how a request arrived cannot refuse it, and fails here. */
  expect.value = 1;
  if (unary_call_checked(t, &request, NULL, CGRPC_STATUS_INVALID_ARGUMENT, -1) != 0)
    return fail_in(t, "probe (uncompressed, expect_compressed true)");
  if ((gzip = gzip_options(t)) == NULL)
    return -1;
  rv = unary_call_checked(t, &request, gzip, CGRPC_STATUS_OK, -1);
  cgrpc_call_options_free(gzip);
  if (rv != 0)
    return fail_in(t, "gzip request, expect_compressed true");
  expect.value = 0;
  if (unary_call_checked(t, &request, NULL, CGRPC_STATUS_OK, -1) != 0)
    return fail_in(t, "uncompressed request, expect_compressed false");
  return 0;
}

static int server_compressed_unary(test_ctx *t)
{
  Grpc__Testing__SimpleRequest request;
  Grpc__Testing__Payload payload;
  Grpc__Testing__BoolValue compressed = GRPC__TESTING__BOOL_VALUE__INIT;

  large_request(t, &request, &payload);
  request.response_compressed = &compressed;
  for (int value = 1; value >= 0; value--) {
    compressed.value = value;
    if (unary_call_checked(t, &request, NULL, CGRPC_STATUS_OK, value) != 0)
      return fail_in(t, value ? "response_compressed true" : "response_compressed false");
  }
  return 0;
}

/* One StreamingInputCallRequest of size zero bytes with expect_compressed,
 * sent with flags (CGRPC_SEND_NO_COMPRESS or 0); returns send's result. */
static int send_expecting(test_ctx *t, Grpc__Testing__TestService_StreamingInputCallCall *call,
                          size_t size, int expect_compressed, unsigned flags)
{
  Grpc__Testing__StreamingInputCallRequest request =
      GRPC__TESTING__STREAMING_INPUT_CALL_REQUEST__INIT;
  Grpc__Testing__Payload payload = GRPC__TESTING__PAYLOAD__INIT;
  Grpc__Testing__BoolValue expect = GRPC__TESTING__BOOL_VALUE__INIT;

  payload.type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
  payload.body.data = t->zeros;
  payload.body.len = size;
  expect.value = expect_compressed;
  request.payload = &payload;
  request.expect_compressed = &expect;
  return cgrpc_call_send_flags(grpc__testing__test_service_client__streaming_input_call_call(call),
                               &request.base, flags);
}

static int client_compressed_streaming(test_ctx *t)
{
  Grpc__Testing__StreamingInputCallResponse *response = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_call_options *gzip;
  Grpc__Testing__TestService_StreamingInputCallCall *call = NULL;
  cgrpc_code code;
  int rv, send_rv;

  /* The probe: one uncompressed request expecting compression. */
  rv = grpc__testing__test_service_client__streaming_input_call(t->channel, NULL, &call);
  if (rv != 0)
    return fail(t, "starting StreamingInputCall: %s", cgrpc_strerror(rv));
  /* The server may end the call before the half-close: the status decides. */
  (void)send_expecting(t, call, 27182, 1, 0);
  code = grpc__testing__test_service_client__streaming_input_call_close_and_recv(call, &response,
                                                                                &status);
  rv = expect_status(t, code, &status, CGRPC_STATUS_INVALID_ARGUMENT, NULL);
  free_message(t, response);
  response = NULL;
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__streaming_input_call_free(call);
  call = NULL;
  if (rv != 0)
    return fail_in(t, "probe (uncompressed, expect_compressed true)");

  /* A gzip call: the first request compressed, the second sent plain. */
  if ((gzip = gzip_options(t)) == NULL)
    return -1;
  rv = grpc__testing__test_service_client__streaming_input_call(t->channel, gzip, &call);
  cgrpc_call_options_free(gzip);
  if (rv != 0)
    return fail(t, "starting StreamingInputCall: %s", cgrpc_strerror(rv));
  send_rv = send_expecting(t, call, 27182, 1, 0);
  if (send_rv == 0)
    send_rv = send_expecting(t, call, 45904, 0, CGRPC_SEND_NO_COMPRESS);
  code = grpc__testing__test_service_client__streaming_input_call_close_and_recv(call, &response,
                                                                                &status);
  rv = expect_status(t, code, &status, CGRPC_STATUS_OK, NULL);
  if (rv == 0 && send_rv != 0)
    rv = fail(t, "sending: %s, yet the call succeeded", cgrpc_strerror(send_rv));
  if (rv == 0 && response->aggregated_payload_size != 73086)
    rv = fail(t, "aggregated_payload_size %d, want 73086", (int)response->aggregated_payload_size);
  free_message(t, response);
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__streaming_input_call_free(call);
  return rv == 0 ? 0 : fail_in(t, "gzip call, one request compressed and one not");
}

static int server_compressed_streaming(test_ctx *t)
{
  static const size_t sizes[] = {31415, 92653};
  Grpc__Testing__StreamingOutputCallRequest request =
      GRPC__TESTING__STREAMING_OUTPUT_CALL_REQUEST__INIT;
  Grpc__Testing__ResponseParameters params[2], *param_ptrs[2];
  Grpc__Testing__BoolValue compressed[2];
  cgrpc_status status = CGRPC_STATUS_INIT;
  char problem[400] = "";
  Grpc__Testing__TestService_StreamingOutputCallCall *call = NULL;
  cgrpc_code code;
  size_t got = 0;
  int rv;

  request.response_type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
  for (size_t i = 0; i < 2; i++) {
    grpc__testing__response_parameters__init(&params[i]);
    grpc__testing__bool_value__init(&compressed[i]);
    compressed[i].value = i == 0;
    params[i].size = (int32_t)sizes[i];
    params[i].compressed = &compressed[i];
    param_ptrs[i] = &params[i];
  }
  request.n_response_parameters = 2;
  request.response_parameters = param_ptrs;
  rv = grpc__testing__test_service_client__streaming_output_call(t->channel, &request, NULL,
                                                                 &call);
  if (rv != 0)
    return fail(t, "starting StreamingOutputCall: %s", cgrpc_strerror(rv));
  for (;;) {
    Grpc__Testing__StreamingOutputCallResponse *response = NULL;
    if (grpc__testing__test_service_client__streaming_output_call_recv(call, &response) != 1)
      break;
    if (problem[0] == '\0' && got < 2) {
      char what[40];
      int was = cgrpc_call_response_compressed(grpc__testing__test_service_client__streaming_output_call_call(call));
      snprintf(what, sizeof what, "response %zu", got);
      if (payload_problem(problem, sizeof problem, response->payload, sizes[got], what) == 0 &&
          was != (int)compressed[got].value)
        snprintf(problem, sizeof problem, "response %zu (compressed %s) arrived %s", got,
                 compressed[got].value ? "true" : "false", was ? "compressed" : "uncompressed");
    }
    got++;
    free_message(t, response);
  }
  code = grpc__testing__test_service_client__streaming_output_call_finish(call, &status);
  rv = expect_status(t, code, &status, CGRPC_STATUS_OK, NULL);
  if (rv == 0 && got != 2)
    rv = fail(t, "%zu responses, want 2", got);
  if (rv == 0 && problem[0] != '\0')
    rv = fail(t, "%s", problem);
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__streaming_output_call_free(call);
  return rv;
}

/* ---- our extra cases ----------------------------------------------------- */

static int half_duplex(test_ctx *t)
{
  static const size_t sizes[] = {31415, 9, 2653, 58979};
  cgrpc_status status = CGRPC_STATUS_INIT;
  Grpc__Testing__TestService_HalfDuplexCallCall *call = NULL;
  int rv = 0;

  rv = grpc__testing__test_service_client__half_duplex_call(t->channel, NULL, &call);
  if (rv != 0)
    return fail(t, "starting HalfDuplexCall: %s", cgrpc_strerror(rv));
  for (size_t i = 0; i < 4 && rv == 0; i++) {
    output_request request;
    output_request_init(t, &request, &sizes[i], 1, 0, 100);
    rv = grpc__testing__test_service_client__half_duplex_call_send(call, &request.msg);
    if (rv != 0)
      fail(t, "sending request %zu: %s", i, cgrpc_strerror(rv));
  }
  if (rv == 0 && (rv = grpc__testing__test_service_client__half_duplex_call_close_send(call)) != 0)
    fail(t, "close_send: %s", cgrpc_strerror(rv));
  if (rv != 0)
    rv = give_up(t, grpc__testing__test_service_client__half_duplex_call_call(call), 0);
  else
    rv = finish_stream(t, call, &half_duplex_fns, sizes, 4, 0, CGRPC_STATUS_OK, NULL, &status,
                       NULL);
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__half_duplex_call_free(call);
  return rv;
}

static int server_streaming_with_interval(test_ctx *t)
{
  static const size_t sizes[] = {31415, 9, 2653};
  cgrpc_time arrivals[3] = {0, 0, 0};
  cgrpc_status status = CGRPC_STATUS_INIT;
  output_request request;
  Grpc__Testing__TestService_StreamingOutputCallCall *call = NULL;
  cgrpc_time start;
  int rv;

  output_request_init(t, &request, sizes, 3, INTERVAL_US, 0);
  start = cgrpc_now();
  rv = grpc__testing__test_service_client__streaming_output_call(t->channel, &request.msg, NULL,
                                                                 &call);
  if (rv != 0)
    return fail(t, "starting StreamingOutputCall: %s", cgrpc_strerror(rv));
  rv = finish_stream(t, call, &streaming_output_fns, sizes, 3, 0, CGRPC_STATUS_OK, NULL, &status,
                     arrivals);
  for (size_t i = 0; i < 3 && rv == 0; i++) {
    int64_t ms = (arrivals[i] - start) / 1000000;
    int64_t want = (int64_t)(i + 1) * INTERVAL_US / 1000 - INTERVAL_SLACK_MS;
    if (ms < want)
      rv = fail(t, "response %zu after %lld ms, want at least %lld ms", i, (long long)ms,
                (long long)want);
  }
  cgrpc_status_clear(&status);
  grpc__testing__test_service_client__streaming_output_call_free(call);
  return rv;
}

static int timeout_on_sleeping_server_unary(test_ctx *t)
{
  Grpc__Testing__SimpleRequest request = GRPC__TESTING__SIMPLE_REQUEST__INIT;
  Grpc__Testing__SimpleResponse *response = NULL;
  cgrpc_call_options *opts = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_code code;
  cgrpc_time start;
  int64_t elapsed_ms;
  int rv;

  if ((rv = cgrpc_call_options_new(&opts)) != 0 ||
      (rv = cgrpc_call_options_add_metadata(opts, SLEEP_KEY, SLEEP_SERVER_MS,
                                            strlen(SLEEP_SERVER_MS))) != 0) {
    cgrpc_call_options_free(opts);
    return fail(t, "call options: %s", cgrpc_strerror(rv));
  }
  cgrpc_call_options_set_timeout_ms(opts, SLEEP_DEADLINE_MS);
  start = cgrpc_now();
  code = grpc__testing__test_service_client__unary_call(t->channel, &request, &response, opts,
                                                        &status);
  elapsed_ms = (cgrpc_now() - start) / 1000000;
  rv = expect_status(t, code, &status, CGRPC_STATUS_DEADLINE_EXCEEDED, NULL);
  if (rv == 0 && (elapsed_ms < SLEEP_MIN_MS || elapsed_ms >= SLEEP_MAX_MS))
    rv = fail(t, "DEADLINE_EXCEEDED after %lld ms, want %d to %d ms with a %d ms deadline",
              (long long)elapsed_ms, SLEEP_MIN_MS, SLEEP_MAX_MS, SLEEP_DEADLINE_MS);
  free_message(t, response);
  cgrpc_status_clear(&status);
  cgrpc_call_options_free(opts);
  /* The server is still sleeping on the abandoned call; it must go on serving. */
  if (rv == 0 && empty_unary(t) != 0)
    rv = fail_in(t, "EmptyCall after the timeout");
  return rv;
}

/* ---- main --------------------------------------------------------------- */

typedef struct test_case {
  const char *name;
  int (*run)(test_ctx *t);
} test_case;

/* interop_cases.OFFICIAL_CASES (the compression ones last), then
 * interop_cases.EXTRA_CASES. */
static const test_case cases[] = {
  {"empty_unary", empty_unary},
  {"large_unary", large_unary},
  {"client_streaming", client_streaming},
  {"server_streaming", server_streaming},
  {"ping_pong", ping_pong},
  {"empty_stream", empty_stream},
  {"custom_metadata", custom_metadata},
  {"status_code_and_message", status_code_and_message},
  {"special_status_message", special_status_message_case},
  {"unimplemented_method", unimplemented_method},
  {"unimplemented_service", unimplemented_service},
  {"cancel_after_begin", cancel_after_begin},
  {"cancel_after_first_response", cancel_after_first_response},
  {"timeout_on_sleeping_server", timeout_on_sleeping_server},
  {"client_compressed_unary", client_compressed_unary},
  {"server_compressed_unary", server_compressed_unary},
  {"client_compressed_streaming", client_compressed_streaming},
  {"server_compressed_streaming", server_compressed_streaming},
  {"half_duplex", half_duplex},
  {"server_streaming_with_interval", server_streaming_with_interval},
  {"timeout_on_sleeping_server_unary", timeout_on_sleeping_server_unary},
};
#define N_CASES (sizeof cases / sizeof cases[0])
#define N_OFFICIAL 18
#define FIRST_COMPRESSION 14 /* the "compression" group: FIRST_COMPRESSION .. N_OFFICIAL - 1 */

static void usage(void)
{
  fprintf(stderr,
          "usage: %s --server_port N [--server_host H] [--server_host_override NAME]\n"
          "       [--test_case all|compression|extra|everything|CASE[,CASE...]]\n"
          "       [--use_tls[=true|false] [--ca_file F] [--use_test_ca[=true|false]]\n"
          "        [--tls_client_cert_file F --tls_client_key_file F]]\n"
          "cases:",
          progname);
  for (size_t i = 0; i < N_CASES; i++)
    fprintf(stderr, " %s", cases[i].name);
  fprintf(stderr, "\n");
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

/* Appends case i to order[] unless it is there already. */
static void add_case(size_t *order, size_t *n, size_t i)
{
  for (size_t j = 0; j < *n; j++)
    if (order[j] == i)
      return;
  order[(*n)++] = i;
}

/* The cases named in list (comma-separated names and groups), in order and
 * without repeats: their indexes go to order[], their number to *n. */
static void select_cases(const char *list, size_t *order, size_t *n)
{
  const char *p = list;

  *n = 0;
  while (*p != '\0') {
    size_t len = strcspn(p, ",");
    size_t from = N_CASES, to = 0;
    if (len == 3 && strncmp(p, "all", 3) == 0) {
      from = 0;
      to = N_OFFICIAL;
    } else if (len == 11 && strncmp(p, "compression", 11) == 0) {
      from = FIRST_COMPRESSION;
      to = N_OFFICIAL;
    } else if (len == 5 && strncmp(p, "extra", 5) == 0) {
      from = N_OFFICIAL;
      to = N_CASES;
    } else if (len == 10 && strncmp(p, "everything", 10) == 0) {
      from = 0;
      to = N_CASES;
    } else {
      for (size_t i = 0; i < N_CASES; i++) {
        if (strlen(cases[i].name) == len && strncmp(p, cases[i].name, len) == 0) {
          from = i;
          to = i + 1;
        }
      }
    }
    if (from == N_CASES && len > 0) {
      fprintf(stderr, "%s: unknown test case \"%.*s\"\n", progname, (int)len, p);
      usage();
    }
    for (size_t i = from; i < to; i++)
      add_case(order, n, i);
    p += len;
    if (*p == ',')
      p++;
  }
}

/* TLS for the channel: roots from ca_file (NULL: the system's), the
 * server's name from name_override (NULL: the target's host), and for mTLS
 * the client's certificate and key (NULL: none).  Returns 0 or an error
 * (said on stderr, with the runtime's reason). */
static int set_tls(cgrpc_channel_options *opts, const char *ca_file, const char *name_override,
                   const char *cert, const char *key)
{
  cgrpc_tls_options *tls = NULL;
  char err[256] = "";
  int rv;

  if ((rv = cgrpc_tls_options_new(&tls)) == 0 &&
      (ca_file == NULL || (rv = cgrpc_tls_options_set_ca_file(tls, ca_file)) == 0) &&
      (name_override == NULL ||
       (rv = cgrpc_tls_options_set_server_name_override(tls, name_override)) == 0) &&
      (cert == NULL || (rv = cgrpc_tls_options_set_cert_key_files(tls, cert, key)) == 0))
    rv = cgrpc_channel_options_set_tls(opts, tls, err, sizeof err);
  if (rv != 0)
    fprintf(stderr, "%s: TLS: %s%s%s\n", progname, cgrpc_strerror(rv), err[0] ? ": " : "", err);
  cgrpc_tls_options_free(tls);
  return rv;
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1", *authority = NULL, *test_cases = "all", *value;
  const char *ca_file = NULL, *client_cert = NULL, *client_key = NULL;
  int use_tls = 0, use_test_ca = 0;
  long port = -1;
  char target[300];
  size_t order[N_CASES], n_order = 0;
  cgrpc_channel_options *opts = NULL;
  test_ctx t;
  int rv, failed = 0;

  for (int i = 1; i < argc; i++) {
    char *end;
    if ((value = flag_value(argc, argv, &i, "--server_port")) != NULL) {
      errno = 0;
      port = strtol(value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || port <= 0 || port > 65535)
        usage();
    } else if ((value = flag_value(argc, argv, &i, "--server_host_override")) != NULL) {
      authority = value;
    } else if ((value = flag_value(argc, argv, &i, "--server_host")) != NULL) {
      host = value;
    } else if ((value = flag_value(argc, argv, &i, "--test_case")) != NULL) {
      test_cases = value;
    } else if (bool_flag(argc, argv, &i, "--use_tls", &use_tls)) {
    } else if (bool_flag(argc, argv, &i, "--use_test_ca", &use_test_ca)) {
    } else if ((value = flag_value(argc, argv, &i, "--ca_file")) != NULL) {
      ca_file = value;
    } else if ((value = flag_value(argc, argv, &i, "--tls_client_cert_file")) != NULL) {
      client_cert = value;
    } else if ((value = flag_value(argc, argv, &i, "--tls_client_key_file")) != NULL) {
      client_key = value;
    } else {
      usage();
    }
  }
  if (port < 0)
    usage();
  if (!use_tls && (ca_file != NULL || client_cert != NULL || client_key != NULL)) {
    fprintf(stderr, "%s: --ca_file and --tls_client_*_file need --use_tls\n", progname);
    return 2;
  }
  if ((client_cert == NULL) != (client_key == NULL)) {
    fprintf(stderr, "%s: --tls_client_cert_file and --tls_client_key_file go together\n",
            progname);
    return 2;
  }
  if (use_tls && use_test_ca && ca_file == NULL) {
    fprintf(stderr, "%s: --use_test_ca: there is no built-in test CA; give --ca_file\n",
            progname);
    return 2;
  }
  select_cases(test_cases, order, &n_order);
  if (strchr(host, ':') != NULL && host[0] != '[')
    rv = snprintf(target, sizeof target, "[%s]:%ld", host, port);
  else
    rv = snprintf(target, sizeof target, "%s:%ld", host, port);
  if (rv < 0 || (size_t)rv >= sizeof target)
    usage();

  memset(&t, 0, sizeof t);
  t.zeros = calloc(1, LARGE_REQUEST_SIZE);
  if (t.zeros == NULL) {
    fprintf(stderr, "%s: out of memory\n", progname);
    return 1;
  }
  if ((rv = cgrpc_channel_options_new(&opts)) != 0 ||
      (authority != NULL && (rv = cgrpc_channel_options_set_authority(opts, authority)) != 0) ||
      (use_tls && (rv = set_tls(opts, ca_file, authority, client_cert, client_key)) != 0) ||
      (rv = cgrpc_channel_new(&t.channel, target, opts)) != 0) {
    fprintf(stderr, "%s: channel to %s: %s\n", progname, target, cgrpc_strerror(rv));
    cgrpc_channel_options_free(opts);
    free(t.zeros);
    return 1;
  }
  cgrpc_channel_options_free(opts);

  for (size_t k = 0; k < n_order; k++) {
    const test_case *c = &cases[order[k]];
    t.why[0] = '\0';
    if (c->run(&t) == 0) {
      printf("PASS %s\n", c->name);
    } else {
      printf("FAIL %s: %s\n", c->name, t.why[0] != '\0' ? t.why : "(no detail)");
      failed++;
    }
    fflush(stdout);
  }
  cgrpc_channel_free(t.channel);
  free(t.zeros);
  return failed == 0 ? 0 : 1;
}
