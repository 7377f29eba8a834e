/* cgrpc's client against a peer's faulty.Faulty server (tests/e2e/faulty.proto): the retry
 * policy baked into the generated Baked stub (up to 4 attempts on UNAVAILABLE and
 * RESOURCE_EXHAUSTED, idempotent) against a server that fails the first attempts.  The
 * server counts attempts per id; a call on "report:ID" answers that count.  Usage: faulty_client --port N [--host H].  Exit 0 when all pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1";
  const char *port = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0)
      port = argv[i + 1];
    else if (strcmp(argv[i], "--host") == 0)
      host = argv[i + 1];
  }
  if (port == NULL) {
    fprintf(stderr, "usage: %s --port N [--host H]\n", argv[0]);
    return 2;
  }
  char target[300];
  snprintf(target, sizeof target, "%s:%s", host, port);
  cgrpc_channel *ch;
  if (cgrpc_channel_new(&ch, target, NULL) != 0) {
    fprintf(stderr, "cannot make a channel to %s\n", target);
    return 2;
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
