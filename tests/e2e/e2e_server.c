/* The end-to-end tests' server: the Echo service, a server interceptor, TCP and Unix listeners. */
#include <pthread.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "counting_alloc.h"
#include "e2e.cgrpc.h"

static int stat_cancelled;
static int stat_calls;
static counting_alloc heap; /* everything the server allocates, for leak tests */

static int open_fds(void)
{
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  if (d != NULL)
    closedir(d);
  return n - 1; /* the directory's own */
}

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
  e2e__echo_server__echo_finish(call, CGRPC_STATUS_OK);
  return NULL;
}

static cgrpc_code echo(cgrpc_server_call *call, const E2e__EchoRequest *req, E2e__EchoReply *resp,
                       void *ud)
{
  (void)ud;
  __atomic_add_fetch(&stat_calls, 1, __ATOMIC_RELAXED);
  if (req->defer) {
    pthread_t t;
    e2e__echo_server__echo_defer(call);
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
  if (req->trailer_bytes > 0) {
    static char big[8192];
    memset(big, 'v', sizeof big);
    for (int i = 0; i * (int)sizeof big < req->trailer_bytes; i++)
      cgrpc_server_call_add_trailing_metadata(call, cgrpc_server_call_printf(call, "x-big-%d", i),
                                              big, sizeof big);
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
  resp->request_compressed = cgrpc_server_call_request_compressed(call);
  if (req->compression[0] != '\0' &&
      cgrpc_server_call_set_compression(call, req->compression) != 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT, "bad compression");
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
  resp->live_blocks = counting_alloc_blocks(&heap);
  resp->live_bytes = counting_alloc_bytes(&heap);
  resp->open_fds = open_fds();
  return CGRPC_STATUS_OK;
}

/* Sleeps ms in small steps; nonzero if the call was cancelled meanwhile. */
static int sleep_watching(cgrpc_server_call *call, int ms)
{
  for (int slept = 0; slept < ms; slept += 5) {
    if (cgrpc_server_call_is_cancelled(call))
      return 1;
    sleep_ms(5);
  }
  return cgrpc_server_call_is_cancelled(call);
}

static cgrpc_code saw_cancel(cgrpc_server_call *call)
{
  __atomic_add_fetch(&stat_cancelled, 1, __ATOMIC_RELAXED);
  return cgrpc_server_call_set_status(call, CGRPC_STATUS_CANCELLED, "handler saw cancel");
}

static cgrpc_code download_async(E2e__Echo_DownloadServerCall *typed,
                                 const E2e__DownloadRequest *req);

static cgrpc_code download(E2e__Echo_DownloadServerCall *typed, const E2e__DownloadRequest *req,
                           void *ud)
{
  (void)ud;
  __atomic_add_fetch(&stat_calls, 1, __ATOMIC_RELAXED);
  cgrpc_server_call *call = e2e__echo_server__download_call(typed);
  if (cgrpc_metadata_find(cgrpc_server_call_metadata(call), "x-async") != NULL)
    return download_async(typed, req);
  size_t size = req->size > 0 ? (size_t)req->size : 0;
  if (req->compression[0] != '\0' &&
      cgrpc_server_call_set_compression(call, req->compression) != 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT, "bad compression");
  uint8_t *buf = malloc(size + 1);
  cgrpc_code code = CGRPC_STATUS_OK;
  for (int i = 0; i < req->count && code == CGRPC_STATUS_OK; i++) {
    if (req->sleep_ms > 0 && sleep_watching(call, req->sleep_ms)) {
      code = saw_cancel(call);
      break;
    }
    memset(buf, i & 0xff, size);
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.data.data = buf;
    c.data.len = size;
    c.seq = i;
    unsigned flags = i % 3 == 2 && !req->compress_all ? CGRPC_SEND_NO_COMPRESS : 0;
    if (cgrpc_server_call_send_flags(call, &c.base, flags) != 0)
      code = saw_cancel(call);
  }
  free(buf);
  if (code == CGRPC_STATUS_OK && req->status_code != 0)
    code = cgrpc_server_call_set_status(call, (cgrpc_code)req->status_code, "download ended with %d",
                                        req->status_code);
  return code;
}

static cgrpc_code upload_async(E2e__Echo_UploadServerCall *typed, E2e__UploadSummary *resp);

static cgrpc_code upload(E2e__Echo_UploadServerCall *typed, E2e__UploadSummary *resp, void *ud)
{
  (void)ud;
  __atomic_add_fetch(&stat_calls, 1, __ATOMIC_RELAXED);
  cgrpc_server_call *call = e2e__echo_server__upload_call(typed);
  if (cgrpc_metadata_find(cgrpc_server_call_metadata(call), "x-async") != NULL)
    return upload_async(typed, resp);
  const E2e__Chunk *c;
  int rv;
  while ((rv = e2e__echo_server__upload_recv(typed, &c)) == 1) {
    resp->chunks++;
    resp->bytes += (int64_t)c->data.len;
    resp->compressed += cgrpc_server_call_request_compressed(call);
    if (c->sleep_ms > 0)
      sleep_ms(c->sleep_ms);
  }
  return rv < 0 ? saw_cancel(call) : CGRPC_STATUS_OK;
}

static cgrpc_code chat(E2e__Echo_ChatServerCall *typed, void *ud)
{
  (void)ud;
  __atomic_add_fetch(&stat_calls, 1, __ATOMIC_RELAXED);
  cgrpc_server_call *call = e2e__echo_server__chat_call(typed);
  const E2e__Chunk *c;
  int rv;
  while ((rv = e2e__echo_server__chat_recv(typed, &c)) == 1) {
    if (c->status_code != 0)
      return cgrpc_server_call_set_status(call, (cgrpc_code)c->status_code, "chat ended by request");
    if (c->sleep_ms > 0 && sleep_watching(call, c->sleep_ms))
      return saw_cancel(call);
    E2e__Chunk out = *c; /* valid until the next recv */
    if (e2e__echo_server__chat_send(typed, &out) != 0)
      return saw_cancel(call);
  }
  return rv < 0 ? saw_cancel(call) : CGRPC_STATUS_OK;
}

/* Relay: the same echo as Chat, from callbacks on the I/O thread.  Answers the
 * send buffer refuses wait in a queue until on_send_ready. */
typedef struct async_chat {
  E2e__Echo_RelayServerCall *call;
  struct pending {
    struct pending *next;
    E2e__Chunk chunk;
  } *head, **tail;
  int recv_done;
  int finished;
} async_chat;

static void async_chat_finish(async_chat *a, cgrpc_code code)
{
  if (a->finished)
    return;
  a->finished = 1;
  while (a->head != NULL) {
    struct pending *p = a->head;
    a->head = p->next;
    free(p);
  }
  E2e__Echo_RelayServerCall *call = a->call;
  free(a);
  e2e__echo_server__relay_finish(call, code);
}

static void async_chat_flush(async_chat *a)
{
  while (a->head != NULL) {
    int rv = e2e__echo_server__relay_try_send(a->call, &a->head->chunk);
    if (rv == CGRPC_ERR_AGAIN)
      return; /* on_send_ready brings us back */
    if (rv != 0) {
      async_chat_finish(a, CGRPC_STATUS_CANCELLED);
      return;
    }
    struct pending *p = a->head;
    a->head = p->next;
    if (a->head == NULL)
      a->tail = &a->head;
    free(p);
  }
  if (a->recv_done)
    async_chat_finish(a, CGRPC_STATUS_OK);
}

static void async_chat_message(E2e__Echo_RelayServerCall *call, const E2e__Chunk *c, void *ud)
{
  async_chat *a = ud;
  (void)call;
  if (a->finished)
    return;
  struct pending *p = malloc(sizeof *p + c->data.len);
  p->next = NULL;
  p->chunk = *c;
  p->chunk.data.data = (uint8_t *)(p + 1); /* keep a copy: c lives only now */
  if (c->data.len > 0)
    memcpy(p->chunk.data.data, c->data.data, c->data.len);
  *a->tail = p;
  a->tail = &p->next;
  async_chat_flush(a);
}

static void async_chat_recv_done(E2e__Echo_RelayServerCall *call, void *ud)
{
  async_chat *a = ud;
  (void)call;
  a->recv_done = 1;
  async_chat_flush(a);
}

static void async_chat_ready(E2e__Echo_RelayServerCall *call, void *ud)
{
  (void)call;
  async_chat_flush(ud);
}

static void async_chat_cancel(E2e__Echo_RelayServerCall *call, void *ud)
{
  (void)call;
  __atomic_add_fetch(&stat_cancelled, 1, __ATOMIC_RELAXED);
  async_chat_finish(ud, CGRPC_STATUS_CANCELLED);
}

/* Sends its response headers at once, with x-relay, before any message: a client sees them
 * (recv_headers, on_headers) before it has sent anything. */
static cgrpc_code relay(E2e__Echo_RelayServerCall *call, void *ud)
{
  (void)ud;
  __atomic_add_fetch(&stat_calls, 1, __ATOMIC_RELAXED);
  static const E2e__Echo_RelayServerCallbacks cbs = {.on_message = async_chat_message,
                                                     .on_recv_done = async_chat_recv_done,
                                                     .on_send_ready = async_chat_ready,
                                                     .on_cancel = async_chat_cancel};
  cgrpc_server_call_add_initial_metadata(e2e__echo_server__relay_call(call), "x-relay", "callbacks",
                                         9);
  e2e__echo_server__relay_send_headers(call);
  async_chat *a = calloc(1, sizeof *a);
  a->call = call;
  a->tail = &a->head;
  e2e__echo_server__relay_defer(call);
  e2e__echo_server__relay_set_callbacks(call, &cbs, a);
  return CGRPC_STATUS_OK; /* ignored: the callbacks answer */
}

/* Upload with "x-async": the summary is counted in callbacks; no thread waits. */
static void upload_on_message(E2e__Echo_UploadServerCall *call, const E2e__Chunk *c, void *ud)
{
  E2e__UploadSummary *resp = ud;
  resp->chunks++;
  resp->bytes += (int64_t)c->data.len;
  resp->compressed += cgrpc_server_call_request_compressed(e2e__echo_server__upload_call(call));
}

static void upload_on_recv_done(E2e__Echo_UploadServerCall *call, void *ud)
{
  (void)ud;
  e2e__echo_server__upload_finish(call, CGRPC_STATUS_OK);
}

static void upload_on_cancel(E2e__Echo_UploadServerCall *call, void *ud)
{
  (void)ud;
  __atomic_add_fetch(&stat_cancelled, 1, __ATOMIC_RELAXED);
  e2e__echo_server__upload_finish(call, CGRPC_STATUS_CANCELLED);
}

static cgrpc_code upload_async(E2e__Echo_UploadServerCall *call, E2e__UploadSummary *resp)
{
  static const E2e__Echo_UploadServerCallbacks cbs = {.on_message = upload_on_message,
                                                      .on_recv_done = upload_on_recv_done,
                                                      .on_cancel = upload_on_cancel};
  e2e__echo_server__upload_defer(call);
  e2e__echo_server__upload_set_callbacks(call, &cbs, resp); /* the response outlives the call */
  return CGRPC_STATUS_OK; /* ignored */
}

/* Download with "x-async": the chunks go out with try_send, from the handler's thread until
 * the buffer is full, then from on_send_ready; the lock keeps the two apart, and whoever
 * sends the last chunk, or sees the call end, finishes it.  The state is in the call's
 * memory: a callback that already started when another thread finished still has it. */
typedef struct async_download {
  pthread_mutex_t lock; /* nothing to release: never destroyed */
  E2e__Echo_DownloadServerCall *call;
  int count, next, finished;
  size_t size;
} async_download;

static void async_download_pump(async_download *a)
{
  pthread_mutex_lock(&a->lock);
  int rv = 0;
  uint8_t *buf = malloc(a->size + 1);
  while (!a->finished && a->next < a->count) {
    memset(buf, a->next & 0xff, a->size);
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.data.data = buf;
    c.data.len = a->size;
    c.seq = a->next;
    if ((rv = e2e__echo_server__download_try_send(a->call, &c)) != 0)
      break;
    a->next++;
  }
  free(buf);
  int finish = !a->finished && rv != CGRPC_ERR_AGAIN; /* else on_send_ready goes on */
  a->finished |= finish;
  E2e__Echo_DownloadServerCall *call = a->call;
  pthread_mutex_unlock(&a->lock);
  if (finish)
    e2e__echo_server__download_finish(call, rv == 0 ? CGRPC_STATUS_OK : CGRPC_STATUS_CANCELLED);
}

static void download_on_send_ready(E2e__Echo_DownloadServerCall *call, void *ud)
{
  (void)call;
  async_download_pump(ud);
}

static void download_on_cancel(E2e__Echo_DownloadServerCall *call, void *ud)
{
  async_download *a = ud;
  __atomic_add_fetch(&stat_cancelled, 1, __ATOMIC_RELAXED);
  pthread_mutex_lock(&a->lock);
  int finish = !a->finished;
  a->finished = 1;
  pthread_mutex_unlock(&a->lock);
  if (finish)
    e2e__echo_server__download_finish(call, CGRPC_STATUS_CANCELLED);
}

static cgrpc_code download_async(E2e__Echo_DownloadServerCall *call,
                                 const E2e__DownloadRequest *req)
{
  static const E2e__Echo_DownloadServerCallbacks cbs = {.on_send_ready = download_on_send_ready,
                                                        .on_cancel = download_on_cancel};
  async_download *a = cgrpc_server_call_alloc(e2e__echo_server__download_call(call), sizeof *a);
  pthread_mutex_init(&a->lock, NULL);
  a->call = call;
  a->count = req->count;
  a->size = req->size > 0 ? (size_t)req->size : 0;
  a->next = a->finished = 0;
  e2e__echo_server__download_defer(call);
  e2e__echo_server__download_set_callbacks(call, &cbs, a);
  async_download_pump(a);
  return CGRPC_STATUS_OK; /* ignored */
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
  long max_recv = -2, threads = -1, grace = 2000, inflate_budget = 0, frame_timeout = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--unix") == 0)
      unix_path = argv[i + 1];
    else if (strcmp(argv[i], "--max-recv") == 0)
      max_recv = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0)
      threads = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--frame-timeout-ms") == 0)
      frame_timeout = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--inflate-budget") == 0)
      inflate_budget = atol(argv[i + 1]);
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
  if (inflate_budget > 0)
    cgrpc_server_options_set_inflate_budget(opts, (size_t)inflate_budget);
  if (frame_timeout >= 0)
    cgrpc_server_options_set_frame_timeout(opts, frame_timeout);
  cgrpc_server_options_add_interceptor(opts, guard, NULL);
  counting_alloc_init(&heap);
  cgrpc_server_options_set_allocator(opts, &heap.alloc);
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
  impl.download = download;
  impl.upload = upload;
  impl.chat = chat;
  impl.relay = relay;
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
