/* cgrpc's faulty.Faulty server (tests/e2e/faulty.proto) with the de-duplication helper on:
 * Try and Baked fail the first `fail` attempts of the call named `id` with `code`, then
 * answer with the number of times the handler ran for that id.  Baked is idempotent, so
 * again.  A request with sleep_ms sleeps that long first, sending nothing.  The server's
 * settings are the defaults (but for the helper).  Relay calls Try with the same request on
 * --relay-to HOST:PORT, as a child call (cgrpc_call_options_set_parent).  --trace turns
 * tracing on (cgrpc/tracing.h) for the server and for that channel.
 * Usage: faulty_server [--port N] [--relay-to HOST:PORT] [--trace 1].
 * Prints "LISTENING <port>"; stops on SIGTERM.  Peer clients (faulty_grpcio.py dedup,
 * keepalive_grpcio.py) check what it answers. */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cgrpc/cgrpc.h>

#include "faulty.cgrpc.h"

#define MAX_IDS 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char id[64];
  int runs;
} ids[MAX_IDS];
static int nids;

/* One more run of the handler for id; returns how many so far. */
static int count_run(const char *id)
{
  pthread_mutex_lock(&mu);
  int i = 0;
  while (i < nids && strcmp(ids[i].id, id) != 0)
    i++;
  if (i == nids && nids < MAX_IDS)
    snprintf(ids[nids++].id, sizeof ids[0].id, "%s", id);
  int n = i < MAX_IDS ? ++ids[i].runs : 0;
  pthread_mutex_unlock(&mu);
  return n;
}

static cgrpc_code try_handler(cgrpc_server_call *call, const Faulty__TryRequest *req,
                              Faulty__TryReply *reply, void *ud)
{
  (void)ud;
  if (req->sleep_ms > 0) { /* a quiet call (keepalive_vs_grpcio.sh) */
    struct timespec ts = {req->sleep_ms / 1000, (long)(req->sleep_ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
      ;
  }
  int n = count_run(req->id);
  if (n <= req->fail)
    return cgrpc_server_call_set_status(call, (cgrpc_code)req->code, "attempt %d fails", n);
  reply->attempt = n;
  return CGRPC_STATUS_OK;
}

static cgrpc_channel *relay_channel;

static cgrpc_code relay_handler(cgrpc_server_call *call, const Faulty__TryRequest *req,
                                Faulty__TryReply *reply, void *ud)
{
  (void)ud;
  if (relay_channel == NULL)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_UNIMPLEMENTED, "no --relay-to");
  cgrpc_call_options *o = NULL;
  if (cgrpc_call_options_new(&o) != 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  cgrpc_call_options_set_parent(o, call);
  cgrpc_call_options_set_timeout_ms(o, 10000);
  Faulty__TryReply *child = NULL;
  cgrpc_status st = CGRPC_STATUS_INIT;
  cgrpc_code code = faulty__faulty_client__try(relay_channel, req, &child, o, &st);
  cgrpc_call_options_free(o);
  if (child != NULL) {
    reply->attempt = child->attempt;
    faulty__try_reply__free_unpacked(child, NULL);
  }
  cgrpc_server_call_set_status(call, code, "relayed: %s", st.message != NULL ? st.message : "");
  cgrpc_status_clear(&st);
  return code;
}

int main(int argc, char **argv)
{
  int port = 0, trace = 0;
  const char *relay_to = NULL;
  for (int i = 1; i + 1 < argc; i += 2)
    if (strcmp(argv[i], "--port") == 0)
      port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--relay-to") == 0)
      relay_to = argv[i + 1];
    else if (strcmp(argv[i], "--trace") == 0)
      trace = atoi(argv[i + 1]);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);

  cgrpc_dedup *dedup;
  cgrpc_server_options *opts;
  cgrpc_server *server;
  char address[32];
  snprintf(address, sizeof address, "127.0.0.1:%d", port);
  Faulty__Faulty_Server impl = FAULTY__FAULTY__SERVER_INIT;
  impl.try_ = try_handler;
  impl.baked = try_handler;
  impl.relay = relay_handler;
  cgrpc_tracing *tracing = NULL;
  cgrpc_channel_options *copts = NULL;
  if (trace && (cgrpc_tracing_new(&tracing) != 0 || cgrpc_channel_options_new(&copts) != 0 ||
                cgrpc_tracing_attach_channel(tracing, copts) != 0)) {
    fprintf(stderr, "faulty_server: cannot set up tracing\n");
    return 1;
  }
  if (relay_to != NULL && cgrpc_channel_new(&relay_channel, relay_to, copts) != 0) {
    fprintf(stderr, "faulty_server: cannot make a channel to %s\n", relay_to);
    return 1;
  }
  cgrpc_channel_options_free(copts);
  if (cgrpc_dedup_new(&dedup, NULL) != 0 || cgrpc_server_options_new(&opts) != 0 ||
      cgrpc_dedup_attach(dedup, opts) != 0 ||
      (tracing != NULL && cgrpc_tracing_attach_server(tracing, opts) != 0) ||
      cgrpc_server_new(&server, opts) != 0 ||
      faulty__faulty_server__register(server, &impl, NULL) != 0 ||
      cgrpc_server_add_listener(server, address, &port) != 0 || cgrpc_server_start(server) != 0) {
    fprintf(stderr, "faulty_server: cannot start\n");
    return 1;
  }
  cgrpc_server_options_free(opts);
  printf("LISTENING %d\n", port);
  fflush(stdout);
  int sig;
  while (sigwait(&signals, &sig) != 0)
    ;
  cgrpc_server_shutdown(server, 2000);
  cgrpc_server_free(server);
  cgrpc_channel_free(relay_channel);
  cgrpc_tracing_free(tracing);
  cgrpc_dedup_free(dedup);
  return 0;
}
