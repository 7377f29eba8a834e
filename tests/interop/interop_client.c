/* cgrpc interop test client: the unary cases of gRPC's interop tests
 * (doc/interop-test-descriptions.md in grpc/grpc), with cgrpc's blocking stubs.
 *
 * Usage: interop_client --server_port N [--server_host H]
 *                       [--server_host_override AUTHORITY] [--test_case CASE]
 * CASE is a case name, a comma-separated list, or "all" (the default): every
 * case below.  Prints one line per case, "PASS <case>" or "FAIL <case>: <why>",
 * and exits 0 only if every case passed (2 on bad usage).
 *
 * The cases, and how they differ from the official descriptions (the same
 * as grpcio_client.py):
 * - empty_unary, large_unary, special_status_message, unimplemented_method,
 *   unimplemented_service: as described.
 * - status_code_and_message: the UnaryCall part only, and besides
 *   "test status message" also the special_status_message text and a message
 *   full of '%' signs (percent-encoding and printf-style misuse).
 * - custom_metadata: the UnaryCall part only.
 * - timeout_on_sleeping_server: the official case uses FullDuplexCall; ours
 *   sends UnaryCall with metadata "x-cgrpc-test-sleep-ms: 2000" (the test
 *   servers' extension) and a 100 ms deadline, expects DEADLINE_EXCEEDED
 *   within bounds, then checks that the server still answers.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrpc/cgrpc.h>

#include "grpc/testing/test_unary.cgrpc.h"

#define ECHO_INITIAL_KEY "x-grpc-test-echo-initial"
#define ECHO_INITIAL_VALUE "test_initial_metadata_value"
#define ECHO_TRAILING_KEY "x-grpc-test-echo-trailing-bin"
#define SLEEP_KEY "x-cgrpc-test-sleep-ms"

#define LARGE_REQUEST_SIZE 271828
#define LARGE_RESPONSE_SIZE 314159

/* timeout_on_sleeping_server: deadline, server sleep, and the bounds on
 * how long the call may take to fail. */
#define SLEEP_DEADLINE_MS 100
#define SLEEP_SERVER_MS "2000"
#define SLEEP_MIN_MS 50
#define SLEEP_MAX_MS 1500

static const uint8_t echo_trailing_value[3] = {0xab, 0xab, 0xab};

static const char status_message[] = "test status message";
static const char special_status_message[] =
    "\t\ntest with whitespace\r\nand Unicode BMP \xe2\x98\xba and non-BMP \xf0\x9f\x98\x88\t\n";
static const char percent_status_message[] =
    "100% sure: %25 stays %25, %s %d %n %% and %zz are literal, as is a final %";

static const char *progname = "interop_client";

typedef struct test_ctx {
  cgrpc_channel *channel;
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

static int check_payload(test_ctx *t, const Grpc__Testing__Payload *payload, size_t size)
{
  if (payload == NULL)
    return fail(t, "response has no payload, want %zu bytes", size);
  if (payload->type != GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE)
    return fail(t, "response payload type %d", (int)payload->type);
  if (payload->body.len != size)
    return fail(t, "response payload is %zu bytes, want %zu", payload->body.len, size);
  for (size_t i = 0; i < size; i++)
    if (payload->body.data[i] != 0)
      return fail(t, "response payload byte %zu is 0x%02x, want zero", i, payload->body.data[i]);
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

/* The large_unary request; body must hold LARGE_REQUEST_SIZE zero bytes. */
static void large_request(Grpc__Testing__SimpleRequest *request, Grpc__Testing__Payload *payload,
                          uint8_t *body)
{
  grpc__testing__payload__init(payload);
  payload->type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
  payload->body.data = body;
  payload->body.len = LARGE_REQUEST_SIZE;
  grpc__testing__simple_request__init(request);
  request->response_type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
  request->response_size = LARGE_RESPONSE_SIZE;
  request->payload = payload;
}

/* ---- the cases ---------------------------------------------------------- */

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
  uint8_t *body = calloc(1, LARGE_REQUEST_SIZE);
  cgrpc_code code;
  int rv;

  if (body == NULL)
    return fail(t, "out of memory");
  large_request(&request, &payload, body);
  code = grpc__testing__test_service_client__unary_call(t->channel, &request, &response, opts,
                                                        status);
  rv = expect_status(t, code, status, CGRPC_STATUS_OK, NULL);
  if (rv == 0 && response == NULL)
    rv = fail(t, "call succeeded without a response");
  if (rv == 0)
    rv = check_payload(t, response->payload, LARGE_RESPONSE_SIZE);
  free_message(t, response);
  free(body);
  return rv;
}

static int large_unary(test_ctx *t)
{
  cgrpc_status status = CGRPC_STATUS_INIT;
  int rv = large_unary_with(t, NULL, &status);

  cgrpc_status_clear(&status);
  return rv;
}

/* Echo Status: UnaryCall must fail with code 2 and exactly this message. */
static int echo_status(test_ctx *t, const char *message)
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

static int status_code_and_message(test_ctx *t)
{
  if (echo_status(t, status_message) != 0 || echo_status(t, special_status_message) != 0 ||
      echo_status(t, percent_status_message) != 0)
    return -1;
  return 0;
}

static int special_status_message_case(test_ctx *t)
{
  return echo_status(t, special_status_message);
}

static int custom_metadata(test_ctx *t)
{
  cgrpc_call_options *opts = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  int rv;

  if ((rv = cgrpc_call_options_new(&opts)) != 0 ||
      (rv = cgrpc_call_options_add_metadata(opts, ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE,
                                            strlen(ECHO_INITIAL_VALUE))) != 0 ||
      (rv = cgrpc_call_options_add_metadata(opts, ECHO_TRAILING_KEY, echo_trailing_value,
                                            sizeof echo_trailing_value)) != 0) {
    cgrpc_call_options_free(opts);
    return fail(t, "call options: %s", cgrpc_strerror(rv));
  }
  rv = large_unary_with(t, opts, &status);
  if (rv == 0)
    rv = check_metadata(t, "initial", status.initial_metadata, ECHO_INITIAL_KEY,
                        ECHO_INITIAL_VALUE, strlen(ECHO_INITIAL_VALUE));
  if (rv == 0)
    rv = check_metadata(t, "trailing", status.trailing_metadata, ECHO_TRAILING_KEY,
                        echo_trailing_value, sizeof echo_trailing_value);
  cgrpc_status_clear(&status);
  cgrpc_call_options_free(opts);
  return rv;
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

static int timeout_on_sleeping_server(test_ctx *t)
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
  if (rv == 0 && empty_unary(t) != 0) {
    char why[sizeof t->why];
    memcpy(why, t->why, sizeof why);
    rv = fail(t, "EmptyCall after the timeout: %.900s", why);
  }
  return rv;
}

/* ---- main --------------------------------------------------------------- */

typedef struct test_case {
  const char *name;
  int (*run)(test_ctx *t);
} test_case;

/* The order of interop_cases.UNARY_CASES. */
static const test_case cases[] = {
  {"empty_unary", empty_unary},
  {"large_unary", large_unary},
  {"status_code_and_message", status_code_and_message},
  {"special_status_message", special_status_message_case},
  {"custom_metadata", custom_metadata},
  {"unimplemented_method", unimplemented_method},
  {"unimplemented_service", unimplemented_service},
  {"timeout_on_sleeping_server", timeout_on_sleeping_server},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static void usage(void)
{
  fprintf(stderr,
          "usage: %s --server_port N [--server_host H] [--server_host_override AUTHORITY]\n"
          "       [--test_case all|CASE[,CASE...]]\n"
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

/* Marks in selected[] the cases named in list ("all" or comma-separated). */
static void select_cases(const char *list, int *selected)
{
  const char *p = list;

  while (*p != '\0') {
    size_t len = strcspn(p, ",");
    int found = 0;
    if (len == 3 && strncmp(p, "all", 3) == 0) {
      for (size_t i = 0; i < N_CASES; i++)
        selected[i] = 1;
      found = 1;
    }
    for (size_t i = 0; i < N_CASES && !found; i++) {
      if (strlen(cases[i].name) == len && strncmp(p, cases[i].name, len) == 0) {
        selected[i] = 1;
        found = 1;
      }
    }
    if (!found && len > 0) {
      fprintf(stderr, "%s: unknown test case \"%.*s\"\n", progname, (int)len, p);
      usage();
    }
    p += len;
    if (*p == ',')
      p++;
  }
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1", *authority = NULL, *test_cases = "all", *value;
  long port = -1;
  char target[300];
  int selected[N_CASES] = {0};
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
    } else if ((value = flag_value(argc, argv, &i, "--use_tls")) != NULL) {
      if (strcmp(value, "false") != 0) {
        fprintf(stderr, "%s: TLS is not supported\n", progname);
        return 2;
      }
    } else if ((value = flag_value(argc, argv, &i, "--use_test_ca")) != NULL) {
      /* without TLS, nothing to do */
    } else {
      usage();
    }
  }
  if (port < 0)
    usage();
  select_cases(test_cases, selected);
  if (strchr(host, ':') != NULL && host[0] != '[')
    rv = snprintf(target, sizeof target, "[%s]:%ld", host, port);
  else
    rv = snprintf(target, sizeof target, "%s:%ld", host, port);
  if (rv < 0 || (size_t)rv >= sizeof target)
    usage();

  memset(&t, 0, sizeof t);
  if ((rv = cgrpc_channel_options_new(&opts)) != 0 ||
      (authority != NULL && (rv = cgrpc_channel_options_set_authority(opts, authority)) != 0) ||
      (rv = cgrpc_channel_new(&t.channel, target, opts)) != 0) {
    fprintf(stderr, "%s: channel to %s: %s\n", progname, target, cgrpc_strerror(rv));
    cgrpc_channel_options_free(opts);
    return 1;
  }
  cgrpc_channel_options_free(opts);

  for (size_t i = 0; i < N_CASES; i++) {
    if (!selected[i])
      continue;
    t.why[0] = '\0';
    if (cases[i].run(&t) == 0) {
      printf("PASS %s\n", cases[i].name);
    } else {
      printf("FAIL %s: %s\n", cases[i].name, t.why[0] != '\0' ? t.why : "(no detail)");
      failed++;
    }
    fflush(stdout);
  }
  cgrpc_channel_free(t.channel);
  return failed == 0 ? 0 : 1;
}
