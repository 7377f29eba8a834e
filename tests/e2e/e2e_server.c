/* The end-to-end tests' server: the Echo service, a server interceptor, TCP and Unix listeners. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "e2e.cgrpc.h"

static int stat_cancelled;
static int stat_calls;

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static void *finish_later(void *arg)
{
  cgrpc_server_call *call = arg;
  const E2e__EchoRequest *req = (const E2e__EchoRequest *)cgrpc_server_call_request(call);
  E2e__EchoReply *resp = (E2e__EchoReply *)cgrpc_server_call_response(call);
  sleep_ms(req->sleep_ms);
  resp->payload = req->payload;
  cgrpc_server_call_finish(call);
  return NULL;
}

static cgrpc_code echo(cgrpc_server_call *call, const E2e__EchoRequest *req, E2e__EchoReply *resp,
                       void *ud)
{
  (void)ud;
  __atomic_add_fetch(&stat_calls, 1, __ATOMIC_RELAXED);
  if (req->defer) {
    pthread_t t;
    cgrpc_server_call_defer(call);
    if (pthread_create(&t, NULL, finish_later, call) != 0)
      abort();
    pthread_detach(t);
    return CGRPC_STATUS_OK; /* ignored: the thread answers */
  }
  if (req->ignore_cancel)
    sleep_ms(req->sleep_ms);
  /* Sleep in small steps, watching for cancellation as long handlers should. */
  for (int slept = 0; !req->ignore_cancel && slept < req->sleep_ms; slept += 5) {
    if (cgrpc_server_call_is_cancelled(call)) {
      __atomic_add_fetch(&stat_cancelled, 1, __ATOMIC_RELAXED);
      return cgrpc_server_call_set_status(call, CGRPC_STATUS_CANCELLED, "handler saw cancel");
    }
    sleep_ms(5);
  }
  if (req->echo_metadata) {
    const cgrpc_metadata *md = cgrpc_server_call_metadata(call);
    for (size_t i = 0; i < cgrpc_metadata_count(md); i++) {
      const cgrpc_metadata_entry *e = cgrpc_metadata_at(md, i);
      if (strncmp(e->key, "x-echo-", 7) != 0)
        continue;
      cgrpc_server_call_add_initial_metadata(call, e->key, e->value, e->value_len);
      /* x-echo-a -> x-echo-a-t; x-echo-b-bin -> x-echo-b-t-bin */
      size_t klen = strlen(e->key);
      int bin = klen > 4 && strcmp(e->key + klen - 4, "-bin") == 0;
      char *tkey = cgrpc_server_call_printf(call, "%.*s-t%s", (int)(bin ? klen - 4 : klen), e->key,
                                            bin ? "-bin" : "");
      cgrpc_server_call_add_trailing_metadata(call, tkey, e->value, e->value_len);
    }
  }
  if (req->status_code != 0)
    return cgrpc_server_call_set_status(call, (cgrpc_code)req->status_code, "%s",
                                        req->status_message);
  if (req->response_size > 0) {
    resp->payload.len = (size_t)req->response_size;
    resp->payload.data = cgrpc_server_call_alloc(call, resp->payload.len);
    for (size_t i = 0; i < resp->payload.len; i++)
      resp->payload.data[i] = (uint8_t)(i * 7);
  } else {
    resp->payload = req->payload; /* the request lives as long as the call */
  }
  resp->remaining_ms = cgrpc_server_call_remaining_ms(call);
  resp->peer = (char *)cgrpc_server_call_peer(call);
  resp->authority = (char *)cgrpc_server_call_authority(call);
  return CGRPC_STATUS_OK;
}

static cgrpc_code stats(cgrpc_server_call *call, const E2e__StatsRequest *req, E2e__StatsReply *resp,
                        void *ud)
{
  (void)call;
  (void)req;
  (void)ud;
  resp->cancelled = __atomic_load_n(&stat_cancelled, __ATOMIC_RELAXED);
  resp->calls = __atomic_load_n(&stat_calls, __ATOMIC_RELAXED);
  return CGRPC_STATUS_OK;
}

/* Rejects calls carrying "x-reject", and marks every answer it lets through. */
static void guard(cgrpc_server_call *call, void *ud)
{
  (void)ud;
  if (cgrpc_metadata_find(cgrpc_server_call_metadata(call), "x-reject") != NULL) {
    cgrpc_server_call_set_status(call, CGRPC_STATUS_PERMISSION_DENIED, "rejected by interceptor");
    cgrpc_server_call_finish(call);
    return;
  }
  cgrpc_server_call_add_trailing_metadata(call, "x-intercepted", "yes", 3);
  cgrpc_server_call_proceed(call, NULL, NULL);
}

int main(int argc, char **argv)
{
  const char *unix_path = NULL;
  long max_recv = -2, threads = -1, grace = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--unix") == 0)
      unix_path = argv[i + 1];
    else if (strcmp(argv[i], "--max-recv") == 0)
      max_recv = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0)
      threads = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--grace-ms") == 0)
      grace = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--max-fds") == 0) {
      struct rlimit rl = {(rlim_t)atol(argv[i + 1]), (rlim_t)atol(argv[i + 1])};
      setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  cgrpc_server_options *opts;
  cgrpc_server *srv;
  int port = 0;
  cgrpc_server_options_new(&opts);
  if (max_recv != -2)
    cgrpc_server_options_set_max_recv_message_size(opts, max_recv);
  if (threads >= 0)
    cgrpc_server_options_set_handler_threads(opts, (int)threads);
  cgrpc_server_options_add_interceptor(opts, guard, NULL);
  int rv = cgrpc_server_new(&srv, opts);
  cgrpc_server_options_free(opts);
  if (rv == 0)
    rv = cgrpc_server_add_listener(srv, "127.0.0.1:0", &port);
  if (rv == 0 && unix_path != NULL) {
    char address[128];
    snprintf(address, sizeof address, "unix:%s", unix_path);
    rv = cgrpc_server_add_listener(srv, address, NULL);
  }
  E2e__Echo_Server impl = E2E__ECHO__SERVER_INIT;
  impl.echo = echo;
  impl.quick = echo;
  impl.stats = stats;
  if (rv == 0)
    rv = e2e__echo_server__register(srv, &impl, NULL);
  /* Blocked before the server's threads start, so that they inherit the
   * mask and only sigwait below takes the signals. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  if (rv == 0)
    rv = cgrpc_server_start(srv);
  if (rv != 0) {
    fprintf(stderr, "e2e_server: %s\n", cgrpc_strerror(rv));
    cgrpc_server_free(srv);
    return 1;
  }
  printf("LISTENING %d\n", port);
  fflush(stdout);
  int sig;
  while (sigwait(&signals, &sig) != 0)
    ;
  cgrpc_server_shutdown(srv, grace);
  cgrpc_server_free(srv);
  return 0;
}
