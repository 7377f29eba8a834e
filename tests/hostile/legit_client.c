/* The hostile-peer suite's legitimate client: one unary Echo every 20 ms on its own connection,
 * each with a 1 s deadline, and what each call met, phase by phase (calm, attack, after).
 *
 *   legit_client PORT            phases come on stdin ("phase NAME"); EOF or "quit" ends
 *   legit_client PORT SECONDS    one phase, "run", for that long
 *
 * Prints "READY" once a first call got through, then, at the end, one line per phase:
 *   phase=NAME calls=N ok=N ok_pct=P p50_ms=X p99_ms=X max_ms=X codes=CODE:N,...
 * "ok" is OK within the deadline.  Percentiles are over every call of the phase, a failed call
 * counting as the whole deadline (so that failing fast cannot look fast).
 *
 * Calls start on a fixed schedule, asynchronously, whatever the ones before met: a stalled
 * server shows as many late calls, not as a few slow ones (no coordinated omission). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.cgrpc.h"

#define LEGIT_PERIOD_MS 20
#define LEGIT_DEADLINE_MS 1000
#define LEGIT_MAX_CALLS 65536
#define LEGIT_MAX_PHASES 16

typedef struct legit_slot {
  int phase;
  cgrpc_time start;
  int64_t lat_ns;
  int code;
  int done; /* set last, by the channel's I/O thread */
} legit_slot;

static legit_slot slots[LEGIT_MAX_CALLS];
static int nslots;
static char phases[LEGIT_MAX_PHASES][32];
static int nphases;
static ProtobufCAllocator *legit_pb;

static void legit_done(cgrpc_status *status, E2e__EchoReply *reply, void *ud)
{
  legit_slot *s = ud;
  s->lat_ns = cgrpc_now() - s->start;
  s->code = status->code;
  if (reply != NULL)
    e2e__echo_reply__free_unpacked(reply, legit_pb);
  __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
}

static void legit_start(cgrpc_channel *ch, const cgrpc_call_options *opts, int phase)
{
  if (nslots == LEGIT_MAX_CALLS)
    return;
  legit_slot *s = &slots[nslots++];
  s->phase = phase;
  s->start = cgrpc_now();
  E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
  req.payload.data = (uint8_t *)"legit";
  req.payload.len = 5;
  if (e2e__echo_client__echo_async(ch, &req, opts, legit_done, s, NULL) != 0) {
    s->lat_ns = 0;
    s->code = -1; /* could not even start: a failure of ours, counted as not answered */
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
  }
}

static int legit_phase(const char *name)
{
  for (int i = 0; i < nphases; i++)
    if (strcmp(phases[i], name) == 0)
      return i;
  if (nphases == LEGIT_MAX_PHASES)
    return nphases - 1;
  snprintf(phases[nphases], sizeof phases[nphases], "%s", name);
  return nphases++;
}

static int legit_cmp(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p of the sample at or below it. */
static double legit_percentile_ms(const int64_t *sorted, int n, double p)
{
  if (n == 0)
    return 0;
  int rank = (int)(p * n + 0.999999);
  if (rank < 1)
    rank = 1;
  return (double)sorted[rank > n ? n - 1 : rank - 1] / 1e6;
}

static void legit_report(void)
{
  static int64_t lat[LEGIT_MAX_CALLS];
  for (int p = 0; p < nphases; p++) {
    int n = 0, ok = 0, codes[18] = {0}, other = 0;
    for (int i = 0; i < nslots; i++) {
      legit_slot *s = &slots[i];
      if (s->phase != p)
        continue;
      int done = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
      int code = done ? s->code : -2; /* -2: never completed */
      int good = code == CGRPC_STATUS_OK && s->lat_ns <= CGRPC_MS_TO_NS(LEGIT_DEADLINE_MS);
      ok += good;
      lat[n++] = good ? s->lat_ns
                      : (done && s->lat_ns > CGRPC_MS_TO_NS(LEGIT_DEADLINE_MS)
                             ? s->lat_ns
                             : CGRPC_MS_TO_NS(LEGIT_DEADLINE_MS));
      if (code >= 0 && code < 18)
        codes[code]++;
      else
        other++;
    }
    qsort(lat, (size_t)n, sizeof lat[0], legit_cmp);
    printf("phase=%s calls=%d ok=%d ok_pct=%.2f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f codes=",
           phases[p], n, ok, n > 0 ? 100.0 * ok / n : 0.0, legit_percentile_ms(lat, n, 0.50),
           legit_percentile_ms(lat, n, 0.99), n > 0 ? (double)lat[n - 1] / 1e6 : 0.0);
    const char *sep = "";
    for (int c = 0; c < 18; c++)
      if (codes[c] > 0) {
        printf("%s%s:%d", sep, cgrpc_code_name(c), codes[c]);
        sep = ",";
      }
    if (other > 0)
      printf("%sNOT_DONE:%d", sep, other);
    printf("\n");
  }
  fflush(stdout);
}

/* Reads what stdin has; returns 0 to go on, 1 on "quit" or EOF.  Lines are "phase NAME". */
static int legit_read_commands(int *phase)
{
  static char buf[256];
  static size_t len;
  ssize_t n = read(0, buf + len, sizeof buf - 1 - len);
  if (n < 0)
    return errno == EINTR || errno == EAGAIN ? 0 : 1;
  if (n == 0)
    return 1;
  len += (size_t)n;
  buf[len] = '\0';
  char *nl;
  while ((nl = strchr(buf, '\n')) != NULL) {
    *nl = '\0';
    if (strncmp(buf, "phase ", 6) == 0)
      *phase = legit_phase(buf + 6);
    else if (strcmp(buf, "quit") == 0)
      return 1;
    len -= (size_t)(nl + 1 - buf);
    memmove(buf, nl + 1, len + 1);
  }
  if (len == sizeof buf - 1)
    len = 0; /* a line too long to be ours */
  return 0;
}

/* Blocking calls until one gets through: the channel is connected before anything is measured. */
static int legit_wait_ready(cgrpc_channel *ch, const cgrpc_call_options *opts)
{
  cgrpc_time give_up = cgrpc_now() + CGRPC_MS_TO_NS(10000);
  while (cgrpc_now() < give_up) {
    E2e__EchoRequest req = E2E__ECHO_REQUEST__INIT;
    E2e__EchoReply *reply = NULL;
    if (e2e__echo_client__echo(ch, &req, &reply, opts, NULL) == CGRPC_STATUS_OK) {
      e2e__echo_reply__free_unpacked(reply, legit_pb);
      return 0;
    }
    usleep(50000);
  }
  return -1;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: legit_client PORT [SECONDS]\n");
    return 2;
  }
  int seconds = argc > 2 ? atoi(argv[2]) : 0;
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%s", argv[1]);
  cgrpc_channel *ch;
  cgrpc_call_options *opts;
  if (cgrpc_channel_new(&ch, target, NULL) != 0 || cgrpc_call_options_new(&opts) != 0) {
    fprintf(stderr, "legit_client: cannot make a channel to %s\n", target);
    return 1;
  }
  legit_pb = cgrpc_channel_protobuf_allocator(ch);
  cgrpc_call_options_set_timeout_ms(opts, LEGIT_DEADLINE_MS);
  if (legit_wait_ready(ch, opts) != 0) {
    fprintf(stderr, "legit_client: no call got through to %s\n", target);
    return 1;
  }
  printf("READY\n");
  fflush(stdout);

  int phase = legit_phase(seconds > 0 ? "run" : "start");
  cgrpc_time next = cgrpc_now();
  cgrpc_time end = seconds > 0 ? next + CGRPC_MS_TO_NS(1000) * seconds : CGRPC_TIME_INFINITE;
  for (;;) {
    cgrpc_time now = cgrpc_now();
    if (now >= end)
      break;
    if (now >= next) {
      legit_start(ch, opts, phase);
      next += CGRPC_MS_TO_NS(LEGIT_PERIOD_MS);
      continue;
    }
    struct pollfd pfd = {0, POLLIN, 0};
    int wait_ms = (int)((next - now + 999999) / 1000000);
    if (seconds == 0 && poll(&pfd, 1, wait_ms) > 0 && legit_read_commands(&phase))
      break;
    if (seconds > 0)
      usleep((useconds_t)wait_ms * 1000);
  }
  /* Let the calls still out finish (each ends by its deadline). */
  cgrpc_time give_up = cgrpc_now() + CGRPC_MS_TO_NS(LEGIT_DEADLINE_MS + 2000);
  for (int i = 0; i < nslots; i++)
    while (!__atomic_load_n(&slots[i].done, __ATOMIC_ACQUIRE) && cgrpc_now() < give_up)
      usleep(1000);
  legit_report();
  cgrpc_call_options_free(opts);
  cgrpc_channel_free(ch);
  return 0;
}
