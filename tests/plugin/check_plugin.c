/* Tests of protoc-gen-cgrpc: it writes exactly the golden files, what it writes compiles
 * without a warning, and what it refuses it reports at the right line.
 *
 * The tools and directories come from the build as -D defines (see local.mk):
 * CGRPC_TEST_PROTOC, CGRPC_TEST_PLUGIN, CGRPC_TEST_PROTOC_GEN_C, CGRPC_TEST_DIR (this
 * directory in the source tree), CGRPC_TEST_RUNTIME_PROTO_DIR,
 * CGRPC_TEST_PROTOBUF_C_PROTO_DIR, CGRPC_TEST_CC, CGRPC_TEST_CXX and
 * CGRPC_TEST_GENERATED_CFLAGS; and CGRPC_TEST_GRPC_PROTO_DIR when configure found gRPC's
 * official protos.
 * Output goes to fresh directories under $TMPDIR (or /tmp). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, popen */

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define PROTOS_DIR CGRPC_TEST_DIR "/protos"
#define GOLDEN_DIR CGRPC_TEST_DIR "/golden"
#define CASES_DIR CGRPC_TEST_DIR "/cases"

/* ---- helpers --------------------------------------------------------------------- */

/* ck_assert_ptr_nonnull is newer than the Check configure accepts. */
#define ck_assert_nonnull(p) ck_assert_msg((p) != NULL, "%s is NULL", #p)

#if defined(__GNUC__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

/* printf into a new string (never NULL: it aborts when out of memory). */
static char *format(const char *fmt, ...) PRINTF_LIKE(1, 2);
static char *format(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (s == NULL)
    abort();
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

/* The whole file, NUL-terminated, or NULL if it cannot be read. */
static char *read_file(const char *path, size_t *size)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  char *data = NULL;
  size_t len = 0, cap = 0, n;
  do {
    if (len + 4096 + 1 > cap) {
      cap = (cap + 4096 + 1) * 2;
      data = realloc(data, cap);
      ck_assert_nonnull(data);
    }
    n = fread(data + len, 1, 4096, f);
    len += n;
  } while (n > 0);
  fclose(f);
  data[len] = '\0';
  if (size != NULL)
    *size = len;
  return data;
}

static int file_exists(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (f != NULL)
    fclose(f);
  return f != NULL;
}

/* Runs a shell command; its exit status, or -1 if it did not exit normally. */
static int run(const char *command)
{
  int status = system(command);
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void free_lines(char **lines, int n)
{
  for (int i = 0; i < n; i++)
    free(lines[i]);
}

/* The lines a shell command prints, each a new string; returns their count, or -1 if the
 * command cannot run or prints more than max lines. */
static int output_lines(const char *command, char **lines, int max)
{
  FILE *p = popen(command, "r");
  if (p == NULL)
    return -1;
  int n = 0;
  char buf[4096];
  while (n >= 0 && fgets(buf, sizeof buf, p) != NULL) {
    buf[strcspn(buf, "\n")] = '\0';
    if (n == max) {
      free_lines(lines, n);
      n = -1;
    } else {
      lines[n++] = format("%s", buf);
    }
  }
  pclose(p);
  return n;
}

static char *make_temp_dir(void)
{
  const char *tmp = getenv("TMPDIR");
  char *dir = format("%s/cgrpc-plugin-test.XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
  ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
  return dir;
}

static void remove_dir(char *dir)
{
  char *command = format("rm -rf '%s'", dir);
  run(command);
  free(command);
  free(dir);
}

/* Runs protoc with both plugins on files (physical paths, space-separated) found under
 * proto_dir; outputs is e.g. "--cgrpc_out=DIR".  Its stderr goes to *stderr_text. */
static int protoc(const char *proto_dir, const char *outputs, const char *files,
                  char **stderr_text)
{
  char *dir = make_temp_dir();
  char *err_path = format("%s/stderr", dir);
  char *command = format("'%s' --plugin=protoc-gen-cgrpc='%s' --plugin=protoc-gen-c='%s' "
                         "-I'%s' -I'%s' -I'%s' %s %s 2>'%s'",
                         CGRPC_TEST_PROTOC, CGRPC_TEST_PLUGIN, CGRPC_TEST_PROTOC_GEN_C, proto_dir,
                         CGRPC_TEST_RUNTIME_PROTO_DIR, CGRPC_TEST_PROTOBUF_C_PROTO_DIR, outputs,
                         files, err_path);
  int status = run(command);
  *stderr_text = read_file(err_path, NULL);
  ck_assert_nonnull(*stderr_text);
  free(command);
  free(err_path);
  remove_dir(dir);
  return status;
}

static int count_files(const char *dir)
{
  char *command = format("find '%s' -type f", dir);
  char *lines[64];
  int n = output_lines(command, lines, 64);
  ck_assert_msg(n >= 0, "%s failed", command);
  free_lines(lines, n);
  free(command);
  return n;
}

/* The test protos: every .proto under tests/plugin/protos, relative to it, sorted. */
#define MAX_PROTOS 64
static char *protos[MAX_PROTOS];
static int n_protos;

static void find_protos(void)
{
  n_protos = output_lines("cd '" PROTOS_DIR "' && find . -name '*.proto' | LC_ALL=C sort",
                          protos, MAX_PROTOS);
  if (n_protos <= 0) {
    fprintf(stderr, "no test protos found in %s\n", PROTOS_DIR);
    exit(EXIT_FAILURE);
  }
  for (int i = 0; i < n_protos; i++)
    if (strncmp(protos[i], "./", 2) == 0)
      memmove(protos[i], protos[i] + 2, strlen(protos[i] + 2) + 1);
}

static char *strip_proto(const char *name)
{
  char *base = format("%s", name);
  size_t len = strlen(base);
  if (len > 6 && strcmp(base + len - 6, ".proto") == 0)
    base[len - 6] = '\0';
  return base;
}

/* ---- golden output ------------------------------------------------------------------
 * For each test proto, protoc-gen-cgrpc writes tests/plugin/golden/BASE.cgrpc.{h,c},
 * byte for byte, and nothing else: a proto without services has no golden files and gets
 * no output.  After an intended change of the generated code, refresh the golden files
 * with `make regen-plugin-golden` and review the difference. */

START_TEST(test_output_is_the_golden_files)
{
  const char *proto = protos[_i];
  char *out = make_temp_dir();
  char *outputs = format("--cgrpc_out='%s'", out);
  char *file = format("'%s/%s'", PROTOS_DIR, proto);
  char *errors;
  int status = protoc(PROTOS_DIR, outputs, file, &errors);
  ck_assert_msg(status == 0, "protoc failed (%d) on %s:\n%s", status, proto, errors);

  char *base = strip_proto(proto);
  static const char *const suffixes[] = {".cgrpc.h", ".cgrpc.c", NULL};
  int expected = 0, mismatches = 0;
  for (const char *const *suffix = suffixes; *suffix != NULL; suffix++) {
    char *golden = format("%s/%s%s", GOLDEN_DIR, base, *suffix);
    char *actual = format("%s/%s%s", out, base, *suffix);
    size_t golden_size, actual_size;
    char *want = read_file(golden, &golden_size);
    char *got = read_file(actual, &actual_size);
    if (want != NULL)
      expected++;
    if (want == NULL && got != NULL) {
      fprintf(stderr, "%s: unexpected output %s%s (no golden file)\n", proto, base, *suffix);
      mismatches++;
    } else if (want != NULL && got == NULL) {
      fprintf(stderr, "%s: no output %s%s\n", proto, base, *suffix);
      mismatches++;
    } else if (want != NULL &&
               (golden_size != actual_size || memcmp(want, got, golden_size) != 0)) {
      fprintf(stderr, "%s: %s%s differs from the golden file:\n", proto, base, *suffix);
      fflush(stderr);
      char *diff = format("diff -u '%s' '%s' >&2", golden, actual);
      run(diff);
      free(diff);
      mismatches++;
    }
    free(want);
    free(got);
    free(golden);
    free(actual);
  }
  int written = count_files(out);
  ck_assert_msg(mismatches == 0, "%s: output differs from tests/plugin/golden (diff above)",
                proto);
  ck_assert_msg(written == expected, "%s: %d files written, %d expected", proto, written,
                expected);

  free(base);
  free(errors);
  free(file);
  free(outputs);
  remove_dir(out);
}
END_TEST

START_TEST(test_every_golden_file_belongs_to_a_test_proto)
{
  char *golden[MAX_PROTOS * 2];
  int n = output_lines("cd '" GOLDEN_DIR "' && find . -type f", golden, MAX_PROTOS * 2);
  ck_assert_msg(n > 0, "no golden files");
  for (int i = 0; i < n; i++) {
    char *name = golden[i] + (strncmp(golden[i], "./", 2) == 0 ? 2 : 0);
    size_t len = strlen(name);
    ck_assert_msg(len > 8 && (strcmp(name + len - 8, ".cgrpc.h") == 0 ||
                              strcmp(name + len - 8, ".cgrpc.c") == 0),
                  "golden/%s is not a .cgrpc.h or .cgrpc.c", name);
    char *proto = format("%s/%.*s.proto", PROTOS_DIR, (int)(len - 8), name);
    ck_assert_msg(file_exists(proto), "golden/%s has no test proto", name);
    free(proto);
  }
  free_lines(golden, n);
}
END_TEST

/* ---- the generated code compiles ----------------------------------------------------
 * Protos through protoc-gen-c and protoc-gen-cgrpc; each .c compiles with -std=c11 -Wall
 * -Wextra -Werror against the runtime's headers (ours also with -pedantic and the
 * project's stricter warnings): every test proto, and gRPC's own test services when
 * configure found them (CGRPC_TEST_GRPC_PROTO_DIR).  A user's code calling the typed API
 * compiles as C and as C++ (typed_api.c). */

/* Generates files (as protoc() takes them) into a new directory, compiles every .c there
 * and returns the directory, for remove_dir. */
static char *compile_generated(const char *proto_dir, const char *files)
{
  char *out = make_temp_dir();
  char *outputs = format("--c_out='%s' --cgrpc_out='%s'", out, out);
  char *errors;
  int status = protoc(proto_dir, outputs, files, &errors);
  ck_assert_msg(status == 0, "protoc failed (%d):\n%s", status, errors);

  char *find = format("find '%s' -name '*.c' | LC_ALL=C sort", out);
  char *sources[MAX_PROTOS * 2];
  int n = output_lines(find, sources, MAX_PROTOS * 2);
  ck_assert_msg(n > 0, "%s found nothing", find);
  int ours = 0, failures = 0;
  for (int i = 0; i < n; i++) {
    int cgrpc = strstr(sources[i], ".cgrpc.c") != NULL;
    ours += cgrpc;
    char *log = format("%s.log", sources[i]);
    char *compile = format("%s -std=c11 -Wall -Wextra -Werror %s -c -I'%s' %s '%s' -o '%s.o' "
                           ">'%s' 2>&1",
                           CGRPC_TEST_CC,
                           cgrpc ? "-pedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
                                 : "",
                           out, CGRPC_TEST_GENERATED_CFLAGS, sources[i], sources[i], log);
    if (run(compile) != 0) {
      char *text = read_file(log, NULL);
      fprintf(stderr, "%s\n%s\n", compile, text != NULL ? text : "");
      free(text);
      failures++;
    }
    free(compile);
    free(log);
  }
  ck_assert_msg(ours > 0, "no .cgrpc.c generated");
  ck_assert_msg(failures == 0, "%d of %d generated files do not compile cleanly (see above)",
                failures, n);

  free_lines(sources, n);
  free(find);
  free(errors);
  free(outputs);
  return out;
}

/* Compiles tests/plugin/typed_api.c, which calls every typed function of route_guide.proto's
 * four kinds with the types a user writes, against the generated header in dir: as C11 with
 * the project's warnings, and as C++ (CGRPC_TEST_CXX), all warnings errors.  A handle,
 * message or callback of the wrong type fails it. */
static void compile_typed_api(const char *dir)
{
  static const char *const compilers[] = {
      CGRPC_TEST_CC " -std=c11 -pedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes",
      CGRPC_TEST_CXX " -x c++ -std=c++11 -pedantic -Wshadow -Wmissing-declarations",
  };
  for (size_t i = 0; i < sizeof compilers / sizeof compilers[0]; i++) {
    char *log = format("%s/typed_api.%zu.log", dir, i);
    char *compile = format("%s -Wall -Wextra -Werror -c -I'%s' %s '%s/typed_api.c' -o "
                           "'%s/typed_api.%zu.o' >'%s' 2>&1",
                           compilers[i], dir, CGRPC_TEST_GENERATED_CFLAGS, CGRPC_TEST_DIR, dir, i,
                           log);
    int status = run(compile);
    char *text = status != 0 ? read_file(log, NULL) : NULL;
    ck_assert_msg(status == 0, "%s\n%s", compile, text != NULL ? text : "");
    free(compile);
    free(log);
  }
}

START_TEST(test_generated_code_compiles_without_warnings)
{
  char *files = format("%s", "");
  for (int i = 0; i < n_protos; i++) {
    char *more = format("%s '%s/%s'", files, PROTOS_DIR, protos[i]);
    free(files);
    files = more;
  }
  char *out = compile_generated(PROTOS_DIR, files);
  compile_typed_api(out);
  remove_dir(out);
  free(files);
}
END_TEST

#ifdef CGRPC_TEST_GRPC_PROTO_DIR
#define GRPC_TESTING CGRPC_TEST_GRPC_PROTO_DIR "/grpc/testing/"

/* The interop service (TestService, with the services test.proto adds for xDS and the like)
 * and BenchmarkService: every kind of method, on the messages of messages.proto and
 * empty.proto.  The names of each kind are in the header. */
START_TEST(test_grpc_test_services_compile_without_warnings)
{
  char *out = compile_generated(CGRPC_TEST_GRPC_PROTO_DIR,
                                "'" GRPC_TESTING "empty.proto' '" GRPC_TESTING "messages.proto' "
                                "'" GRPC_TESTING "test.proto' '" GRPC_TESTING
                                "benchmark_service.proto'");
  char *path = format("%s/grpc/testing/test.cgrpc.h", out);
  char *header = read_file(path, NULL);
  ck_assert_nonnull(header);
  static const char *const functions[] = {
      "cgrpc_code grpc__testing__test_service_client__unary_call(",
      "int grpc__testing__test_service_client__streaming_output_call_recv(",
      "cgrpc_code grpc__testing__test_service_client__streaming_input_call_close_and_recv(",
      "int grpc__testing__test_service_client__full_duplex_call_send(",
      ("int grpc__testing__test_service_server__half_duplex_call_recv("
       "Grpc__Testing__TestService_HalfDuplexCallServerCall *call,"), /* one line */
      "typedef struct Grpc__Testing__TestService_FullDuplexCallCallbacks {",
      "void grpc__testing__test_service_server__full_duplex_call_set_callbacks(",
      "void grpc__testing__test_service_server__unary_call_finish(cgrpc_server_call *call,",
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
    ck_assert_msg(strstr(header, functions[i]) != NULL, "test.cgrpc.h lacks %s", functions[i]);
  free(header);
  free(path);
  remove_dir(out);
}
END_TEST
#endif

/* ---- what the plugin refuses ---------------------------------------------------------
 * protoc fails, nothing is written, and stderr has "file.proto:LINE:COL: message" for
 * each problem in the file. */

static const struct refusal {
  const char *proto;     /* in tests/plugin/cases */
  const char *parameter; /* as in --cgrpc_out=PARAMETER:DIR, or NULL */
  const char *errors[10];
} refusals[] = {
    {"timeout_word.proto",
     NULL,
     {"timeout_word.proto:12:5: (cgrpc.method).timeout \"fast\" of method errs.Svc.Get: "
      "expected a number followed by ns, us, ms, s, m or h"}},
    {"timeout_values.proto",
     NULL,
     {"timeout_values.proto:11:30: (cgrpc.method).timeout \"0s\" of method errs.Values.Zero: "
      "must be greater than zero",
      "timeout_values.proto:12:34: (cgrpc.method).timeout \"-5ms\" of method "
      "errs.Values.Negative: must be greater than zero",
      "timeout_values.proto:13:33: (cgrpc.method).timeout \"87601h\" of method "
      "errs.Values.TooLong: must be at most 10 years (87600h)",
      "timeout_values.proto:14:32: (cgrpc.method).timeout \"100\" of method errs.Values.NoUnit: "
      "expected a number followed by ns, us, ms, s, m or h",
      "timeout_values.proto:15:31: (cgrpc.method).timeout \"\" of method errs.Values.Empty: "
      "expected a number",
      "timeout_values.proto:16:30: (cgrpc.method).timeout \"3d\" of method errs.Values.Days: "
      "expected a number",
      "timeout_values.proto:17:36: (cgrpc.method).timeout \"1.s\" of method "
      "errs.Values.NoFraction: expected a number",
      "timeout_values.proto:18:34: (cgrpc.method).timeout \"1e3ms\" of method "
      "errs.Values.Exponent: expected a number",
      "timeout_values.proto:19:32: (cgrpc.method).timeout \" 1s\" of method "
      "errs.Values.Spaces: expected a number"}},
    {"timeout_service.proto",
     NULL,
     {"timeout_service.proto:11:3: (cgrpc.service).timeout \"soon\" of service errs.Svc: "
      "expected a number followed by ns, us, ms, s, m or h"}},
    {"timeout_aggregate.proto",
     NULL,
     {"timeout_aggregate.proto:12:5: (cgrpc.method).timeout \"1x\" of method errs.Svc.Get: "
      "expected a number"}},
    {"retry_attempts.proto",
     NULL,
     {"retry_attempts.proto:13:5: (cgrpc.method).retry.max_attempts 1 of method "
      "errs.Attempts.One: must be 2 to 5 (attempts in all, the first included; gRFC A6 caps "
      "them at 5)",
      "retry_attempts.proto:16:5: (cgrpc.method).retry.max_attempts 6 of method "
      "errs.Attempts.Six: must be 2 to 5",
      "retry_attempts.proto:23:5: (cgrpc.method).retry of method errs.Attempts.Missing: "
      "max_attempts is required (2 to 5 attempts in all, the first included)"}},
    {"retry_backoff.proto",
     NULL,
     {"retry_backoff.proto:14:5: (cgrpc.method).retry.initial_backoff \"0s\" of method "
      "errs.Backoff.Zero: must be greater than zero",
      "retry_backoff.proto:19:5: (cgrpc.method).retry.max_backoff \"-1s\" of method "
      "errs.Backoff.Negative: must be greater than zero",
      "retry_backoff.proto:26:5: (cgrpc.method).retry.max_backoff \"999ms\" of method "
      "errs.Backoff.Below: must be at least initial_backoff \"1s\"",
      "retry_backoff.proto:31:5: (cgrpc.method).retry of method errs.Backoff.Missing: "
      "initial_backoff is required (the delay before the first retry, e.g. \"100ms\")",
      "retry_backoff.proto:31:5: (cgrpc.method).retry of method errs.Backoff.Missing: "
      "max_backoff is required (the longest delay, e.g. \"1s\")"}},
    {"retry_multiplier.proto",
     NULL,
     {"retry_multiplier.proto:16:5: (cgrpc.method).retry.backoff_multiplier 0.5 of method "
      "errs.Multiplier.Half: must be at least 1 (1 keeps the delay constant)",
      "retry_multiplier.proto:20:5: (cgrpc.method).retry.backoff_multiplier inf of method "
      "errs.Multiplier.Infinite: must be finite",
      "retry_multiplier.proto:23:5: (cgrpc.method).retry of method errs.Multiplier.Missing: "
      "backoff_multiplier is required (what each delay is multiplied by for the next, 1 or "
      "more; gRFC A6 has no default)",
      "retry_multiplier.proto:30:5: (cgrpc.method).retry.jitter 1.5 of method "
      "errs.Multiplier.Jitter: must be from 0 to 1 (the fraction of each delay that is random)",
      "retry_multiplier.proto:34:5: (cgrpc.method).retry.jitter -0.1 of method "
      "errs.Multiplier.NegativeJitter: must be from 0 to 1"}},
    {"retry_codes.proto",
     NULL,
     {"retry_codes.proto:13:5: (cgrpc.method).retry of method errs.Codes.None: "
      "retryable_status_codes is required (the status codes to retry, e.g. \"UNAVAILABLE\")",
      "retry_codes.proto:21:5: (cgrpc.method).retry.retryable_status_codes \"OK\" of method "
      "errs.Codes.Ok: OK is success: it is never retried",
      "retry_codes.proto:24:5: (cgrpc.method).retry.retryable_status_codes \"unavailable\" of "
      "method errs.Codes.Lower: status codes are named in upper case, as gRPC spells them: "
      "\"UNAVAILABLE\"",
      "retry_codes.proto:31:5: (cgrpc.method).retry.retryable_status_codes \"UNAVAILBLE\" of "
      "method errs.Codes.Unknown: not a gRPC status code; they are CANCELLED, UNKNOWN, "
      "INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, "
      "RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, "
      "INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED"}},
    {"retry_service.proto",
     NULL,
     {"retry_service.proto:12:3: (cgrpc.service).retry.max_attempts 9 of service errs.Svc: "
      "must be 2 to 5"}},
    {"retry_not_idempotent.proto",
     NULL,
     {"retry_not_idempotent.proto:14:3: method errs.Pay.Charge is retried ((cgrpc.service).retry "
      "at retry_not_idempotent.proto:12:3) but not idempotent: a retried write without an "
      "idempotency key can run twice, since the attempt that failed may have reached the "
      "server.  Mark the method idempotent ((cgrpc.method).idempotent = true, or option "
      "idempotency_level = IDEMPOTENT) so that every attempt carries the same key for the "
      "server to de-duplicate, switch the retries off with (cgrpc.method).no_retry = true, or "
      "accept the risk with (cgrpc.method).retry_non_idempotent = true",
      "retry_not_idempotent.proto:17:5: method errs.Pay.Refund is retried ((cgrpc.method).retry) "
      "but not idempotent: a retried write without an idempotency key can run twice, since the "
      "attempt that failed may have reached the server.  Mark the method idempotent "
      "((cgrpc.method).idempotent = true, or option idempotency_level = IDEMPOTENT) so that "
      "every attempt carries the same key for the server to de-duplicate, or accept the risk "
      "with (cgrpc.method).retry_non_idempotent = true"}},
    {"no_retry_with_retry.proto",
     NULL,
     {"no_retry_with_retry.proto:13:5: (cgrpc.method).no_retry of method errs.Svc.Get: "
      "contradicts the method's own (cgrpc.method).retry: keep one of them"}},
    {"key_header.proto",
     NULL,
     {"key_header.proto:12:3: (cgrpc.service).idempotency_key_header \"Request-Id\" of service "
      "errs.Headers: must be a gRPC metadata key: lower-case letters, digits, '-', '_' and '.'",
      "key_header.proto:13:34: (cgrpc.method).idempotency_key_header \"grpc-key\" of method "
      "errs.Headers.Reserved: names starting with \"grpc-\" are reserved for gRPC itself",
      "key_header.proto:14:32: (cgrpc.method).idempotency_key_header \"key-bin\" of method "
      "errs.Headers.Binary: names ending in \"-bin\" are binary metadata, and the key is text",
      "key_header.proto:15:32: (cgrpc.method).idempotency_key_header \":key\" of method "
      "errs.Headers.Pseudo: pseudo-headers (\":...\") belong to HTTP/2",
      "key_header.proto:16:31: (cgrpc.method).idempotency_key_header \"my key\" of method "
      "errs.Headers.Space: must be a gRPC metadata key",
      "key_header.proto:17:31: (cgrpc.method).idempotency_key_header \"\" of method "
      "errs.Headers.Empty: must not be empty",
      "key_header.proto:18:30: (cgrpc.method).idempotency_key_header \"te\" of method "
      "errs.Headers.Http: HTTP/2 or gRPC sets this header itself"}},
    {"key_header_unused.proto",
     NULL,
     {"key_header_unused.proto:12:5: (cgrpc.method).idempotency_key_header \"x-request-id\" of "
      "method errs.Svc.Put: the method is not idempotent, so its calls carry no idempotency "
      "key: mark it idempotent, or remove the header"}},
    {"idempotent_contradiction.proto",
     NULL,
     {"idempotent_contradiction.proto:14:5: (cgrpc.method).idempotent false of method "
      "errs.Svc.Get: contradicts the method's option idempotency_level = IDEMPOTENT"}},
    {"collision_method.proto",
     NULL,
     {"collision_method.proto:10:3: errs__svc__cgrpc_service is protoc-gen-c's function for "
      "method errs.Svc.CgrpcService and would also be the service table of service errs.Svc"}},
    {"collision_client.proto",
     NULL,
     {"collision_client.proto:13:1: protoc-gen-c's names for service errs.GreeterClient "
      "(errs__greeter_client__*) would mix with the client stubs of service errs.Greeter"}},
    {"collision_server.proto",
     NULL,
     {"collision_server.proto:9:1: protoc-gen-c's names for service errs.GreeterServer "
      "(errs__greeter_server__*) would mix with the server functions of service errs.Greeter"}},
    {"collision_message.proto",
     NULL,
     {"collision_message.proto:7:1: protoc-gen-c's names for message errs.GreeterClient "
      "(errs__greeter_client__*) would mix with the client stubs of service errs.Greeter"}},
    {"collision_methods.proto",
     NULL,
     {"collision_methods.proto:10:3: ERRS__SVC__METHOD_GET_ITEM is the index macro of method "
      "errs.Svc.GetItem and would also be the index macro of method errs.Svc.get_item"}},
    {"collision_send.proto",
     NULL,
     {"collision_send.proto:11:3: errs__svc_client__chat_send is the send function of method "
      "errs.Svc.Chat and would also be the client stub of method errs.Svc.ChatSend"}},
    {"collision_recv.proto",
     NULL,
     {"collision_recv.proto:11:3: errs__svc_client__list_recv is the client stub of method "
      "errs.Svc.ListRecv and would also be the receive function of method errs.Svc.List"}},
    {"collision_close.proto",
     NULL,
     {"collision_close.proto:11:3: errs__svc_client__upload_close_and_recv is the "
      "close-and-receive function of method errs.Svc.Upload and would also be the client stub "
      "of method errs.Svc.UploadCloseAndRecv"}},
    {"collision_async.proto",
     NULL,
     {"collision_async.proto:11:3: errs__svc_client__watch_async is the asynchronous client "
      "stub of method errs.Svc.Watch and would also be the client stub of method "
      "errs.Svc.WatchAsync"}},
    {"collision_call.proto",
     NULL,
     {"collision_call.proto:12:3: errs__svc_client__chat_call is the untyped handle function of "
      "method errs.Svc.Chat and would also be the client stub of method errs.Svc.ChatCall",
      "collision_call.proto:14:3: Errs__Svc_ListServerCall is the server call type of method "
      "errs.Svc.List and would also be the call type of method errs.Svc.ListServer"}},
    {"no_methods.proto",
     NULL,
     {"no_methods.proto:6:1: service errs.Empty has no methods"}},
    {"register.proto", "foo=bar", {"protoc-gen-cgrpc: unknown parameter 'foo'"}},
    {"register.proto", "retry", {"protoc-gen-cgrpc: unknown parameter 'retry'"}},
};

START_TEST(test_refusal_is_reported_at_its_line)
{
  const struct refusal *r = &refusals[_i];
  char *out = make_temp_dir();
  char *outputs = r->parameter != NULL ? format("--cgrpc_out='%s:%s'", r->parameter, out)
                                       : format("--cgrpc_out='%s'", out);
  char *file = format("'%s/%s'", CASES_DIR, r->proto);
  char *errors;
  int status = protoc(CASES_DIR, outputs, file, &errors);
  ck_assert_msg(status != 0, "%s: protoc succeeded", r->proto);
  for (int i = 0; i < 10 && r->errors[i] != NULL; i++)
    ck_assert_msg(strstr(errors, r->errors[i]) != NULL, "%s: expected\n  %s\nin\n%s", r->proto,
                  r->errors[i], errors);
  ck_assert_int_eq(count_files(out), 0);
  free(errors);
  free(file);
  free(outputs);
  remove_dir(out);
}
END_TEST

/* protoc-gen-c's own function is errs__svc__register(): no clash with our
 * errs__svc_server__register(), and the skeleton's member steps around the keyword. */
START_TEST(test_method_named_register_is_accepted)
{
  char *out = make_temp_dir();
  char *outputs = format("--cgrpc_out='%s'", out);
  char *errors;
  int status = protoc(CASES_DIR, outputs, "'" CASES_DIR "/register.proto'", &errors);
  ck_assert_msg(status == 0, "protoc failed (%d):\n%s", status, errors);
  char *header_path = format("%s/register.cgrpc.h", out);
  char *header = read_file(header_path, NULL);
  ck_assert_nonnull(header);
  ck_assert_nonnull(strstr(header, "cgrpc_code errs__svc_client__register("));
  ck_assert_nonnull(strstr(header, "int errs__svc_server__register("));
  ck_assert_nonnull(strstr(header, "  Errs__Svc_RegisterHandler register_;\n"));
  free(header);
  free(header_path);
  free(errors);
  free(outputs);
  remove_dir(out);
}
END_TEST

Suite *plugin_suite(void);

Suite *plugin_suite(void)
{
  Suite *s = suite_create("plugin");
  find_protos();

  TCase *golden = tcase_create("golden");
  tcase_set_timeout(golden, 60);
  tcase_add_loop_test(golden, test_output_is_the_golden_files, 0, n_protos);
  tcase_add_test(golden, test_every_golden_file_belongs_to_a_test_proto);
  suite_add_tcase(s, golden);

  TCase *compile = tcase_create("compile");
  tcase_set_timeout(compile, 300);
  tcase_add_test(compile, test_generated_code_compiles_without_warnings);
#ifdef CGRPC_TEST_GRPC_PROTO_DIR
  tcase_add_test(compile, test_grpc_test_services_compile_without_warnings);
#endif
  suite_add_tcase(s, compile);

  TCase *refused = tcase_create("refused");
  tcase_set_timeout(refused, 60);
  tcase_add_loop_test(refused, test_refusal_is_reported_at_its_line, 0,
                      (int)(sizeof refusals / sizeof refusals[0]));
  tcase_add_test(refused, test_method_named_register_is_accepted);
  suite_add_tcase(s, refused);
  return s;
}

int main(void)
{
  SRunner *runner = srunner_create(plugin_suite());
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
