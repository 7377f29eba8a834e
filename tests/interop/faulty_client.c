/* cgrpc's client against a peer's faulty.Faulty server (tests/e2e/faulty.proto): the retry
 * policy baked into the generated Baked stub (up to 4 attempts on UNAVAILABLE and
 * RESOURCE_EXHAUSTED, idempotent) against a server that fails the first attempts.  The
 * server counts attempts per id; a call on "report:ID" answers that count.  Usage: faulty_client --port N [--host H].  Exit 0 when all pass.
 * With --keepalive-ms, keepalive_vs_grpcio.sh's client instead (see main). */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cgrpc/cgrpc.h>

#include "faulty.cgrpc.h"

static int failures;

/* Calls Baked(id, fail, code); checks the code and (when OK) the attempt it reports. */
static void check(cgrpc_channel *ch, const char *what, const char *id, int fail, cgrpc_code code,
                  cgrpc_code want, int want_attempt)
{
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = (char *)id;
  req.fail = fail;
  req.code = code;
  Faulty__TryReply *reply = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code got = faulty__faulty_client__baked(ch, &req, &reply, NULL, &st);
  int attempt = reply != NULL ? reply->attempt : 0;
  if (got != want || (want == CGRPC_STATUS_OK && attempt != want_attempt)) {
    printf("FAIL %s: %s (%s) attempt %d; want %s attempt %d\n", what, cgrpc_code_name(got),
           st.message != NULL ? st.message : "", attempt, cgrpc_code_name(want), want_attempt);
    failures++;
  } else {
    printf("PASS %s\n", what);
  }
  if (reply != NULL)
    faulty__try_reply__free_unpacked(reply, cgrpc_channel_protobuf_allocator(ch));
  cgrpc_status_clear(&st);
}

/* Try(sleep_ms) -- not Baked: no retries -- then idle_ms of nothing. */
static void quiet_call(cgrpc_channel *ch, const char *what, int sleep_ms, int idle_ms)
{
  Faulty__TryRequest req = FAULTY__TRY_REQUEST__INIT;
  req.id = "ka";
  req.sleep_ms = sleep_ms;
  Faulty__TryReply *reply = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_call_options *o = NULL;
  if (cgrpc_call_options_new(&o) != 0) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  cgrpc_call_options_set_timeout_ms(o, 30000);
  cgrpc_code got = faulty__faulty_client__try(ch, &req, &reply, o, &st);
  if (got != CGRPC_STATUS_OK) {
    printf("FAIL %s: %s (%s)\n", what, cgrpc_code_name(got), st.message != NULL ? st.message : "");
    failures++;
  } else {
    printf("OK %s\n", what);
  }
  fflush(stdout);
  if (reply != NULL)
    faulty__try_reply__free_unpacked(reply, cgrpc_channel_protobuf_allocator(ch));
  cgrpc_status_clear(&st);
  cgrpc_call_options_free(o);
  if (idle_ms > 0) {
    struct timespec ts = {idle_ms / 1000, (long)(idle_ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
      ;
  }
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1";
  const char *port = NULL;
  int keepalive_ms = 0, permit = 0, max_pings = -1, sleep_ms = 0, idle_ms = 0, calls = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0)
      port = argv[i + 1];
    else if (strcmp(argv[i], "--host") == 0)
      host = argv[i + 1];
    else if (strcmp(argv[i], "--keepalive-ms") == 0)
      keepalive_ms = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--permit") == 0)
      permit = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--max-pings") == 0)
      max_pings = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--sleep-ms") == 0)
      sleep_ms = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--idle-ms") == 0)
      idle_ms = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--calls") == 0)
      calls = atoi(argv[i + 1]);
  }
  if (port == NULL) {
    fprintf(stderr, "usage: %s --port N [--host H] [--keepalive-ms T [--permit 0|1] "
                    "[--max-pings N] [--idle-ms N] [--sleep-ms N [--calls N]]]\n", argv[0]);
    return 2;
  }
  char target[300];
  snprintf(target, sizeof target, "%s:%s", host, port);
  cgrpc_channel_options *co = NULL;
  if (keepalive_ms > 0 &&
      (cgrpc_channel_options_new(&co) != 0 ||
       cgrpc_channel_options_set_keepalive(co, keepalive_ms, 0, permit) != 0 ||
       (max_pings >= 0 && cgrpc_channel_options_set_max_pings_without_data(co, max_pings) != 0))) {
    fprintf(stderr, "bad keepalive options\n");
    return 2;
  }
  cgrpc_channel *ch;
  int rc = cgrpc_channel_new(&ch, target, co);
  cgrpc_channel_options_free(co);
  if (rc != 0) {
    fprintf(stderr, "cannot make a channel to %s\n", target);
    return 2;
  }
  if (keepalive_ms > 0) {
    /* keepalive_vs_grpcio.sh: a quick call then idle_ms without calls, and/or `calls`
     * calls one after the other that the server keeps quiet for sleep_ms; every other
     * setting the default. */
    char what[64];
    if (idle_ms > 0) {
      snprintf(what, sizeof what, "quick call, then %d ms idle", idle_ms);
      quiet_call(ch, what, 0, idle_ms);
    }
    for (int i = 0; sleep_ms > 0 && i < calls; i++) {
      snprintf(what, sizeof what, "call %d quiet for %d ms", i + 1, sleep_ms);
      quiet_call(ch, what, sleep_ms, 0);
    }
    cgrpc_channel_free(ch);
    return failures == 0 ? 0 : 1;
  }
  check(ch, "unavailable twice, then OK on the third attempt", "r1", 2, CGRPC_STATUS_UNAVAILABLE,
        CGRPC_STATUS_OK, 3);
  check(ch, "a code outside the policy is not retried", "r2", 1, CGRPC_STATUS_INVALID_ARGUMENT,
        CGRPC_STATUS_INVALID_ARGUMENT, 0);
  check(ch, "... the server saw one attempt", "report:r2", 0, 0, CGRPC_STATUS_OK, 1);
  check(ch, "max_attempts 4 bounds the attempts", "r3", 4, CGRPC_STATUS_RESOURCE_EXHAUSTED,
        CGRPC_STATUS_RESOURCE_EXHAUSTED, 0);
  check(ch, "... the server saw four", "report:r3", 0, 0, CGRPC_STATUS_OK, 4);
  check(ch, "... and three for the first call", "report:r1", 0, 0, CGRPC_STATUS_OK, 3);
  cgrpc_channel_free(ch);
  return failures == 0 ? 0 : 1;
}
