/* Feeds a server's bytes (SETTINGS, then any HTTP/2 frames) to a client connection on which a
 * unary, a server-streaming and a bidi call have been started, with retries and an interceptor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cgrpc/channel.h>
#include <cgrpc/interceptor.h>

#include "client/channel_core.h"
#include "fuzz_common.h"

/*
 * A channel creates its connections itself, over sockets, and runs them on a thread of its
 * own.  Here that thread is stopped as soon as the channel exists and this thread runs the
 * channel's loop round by round instead (cgrpc_loop_run_once), with the server's end of the
 * connection: a Unix socket this process listens on.  So everything happens on one thread,
 * in the same order every time: the input is written a frame at a time, with a few rounds
 * after each, then the socket is closed, the calls left are cancelled, and the channel shuts
 * down.
 */

#define NCALLS 3
#define ROUNDS_TO_CONNECT 100 /* rounds for the client to connect (it needs a few) */
#define ROUNDS_PER_FRAME 3    /* a frame's effects may go through a posted task or two (the
                               * SETTINGS that make the connection READY send the calls) */
#define ROUNDS_AFTER_INPUT 4  /* rounds for the client to read the last frames before EOF */
#define ROUNDS_TO_END 200     /* rounds for the calls to end by themselves, then to cancel */

static int listen_fd = -1;
static char target[sizeof(struct sockaddr_un) + 8];
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static cgrpc_channel_options *opts;
static cgrpc_call_options *call_opts;

typedef struct call_state {
  int done;     /* times the outcome was told: must end at 1 */
  int messages; /* messages received */
  int late;     /* callbacks after the outcome: must stay 0 */
} call_state;

static void unary_done(cgrpc_status *status, ProtobufCMessage *response, void *ud)
{
  call_state *s = ud;
  s->done++;
  if ((response != NULL) != (status->code == CGRPC_STATUS_OK))
    abort(); /* a response exactly when OK */
  if (response != NULL)
    protobuf_c_message_free_unpacked(response, NULL);
}

static void stream_message(cgrpc_call *call, ProtobufCMessage *msg, void *ud)
{
  (void)call;
  call_state *s = ud;
  s->messages++;
  s->late += s->done > 0;
  protobuf_c_message_free_unpacked(msg, NULL);
}

static void stream_done(cgrpc_call *call, cgrpc_status *status, void *ud)
{
  (void)call;
  (void)status;
  call_state *s = ud;
  s->done++;
}

static void stream_headers(cgrpc_call *call, const cgrpc_metadata *md, void *ud)
{
  (void)call;
  call_state *s = ud;
  s->late += s->done > 0;
  (void)cgrpc_metadata_get(md, "x-echo-bin");
}

static const cgrpc_call_callbacks stream_callbacks = {
    .on_message = stream_message,
    .on_done = stream_done,
    .on_headers = stream_headers,
};

/* An interceptor with every hook, so that the call's stages run around the network one. */
static void intercept_done(cgrpc_client_ctx *ctx, void *ud)
{
  (void)ud;
  cgrpc_client_ctx_finish(ctx);
}

static void intercept_start(cgrpc_client_ctx *ctx, void *ud)
{
  (void)ud;
  cgrpc_client_ctx_proceed(ctx, intercept_done, NULL);
}

static void intercept_on_done(cgrpc_client_ctx *ctx, const cgrpc_status *status, void *ud)
{
  (void)ctx;
  (void)ud;
  if ((unsigned)status->code >= CGRPC_STATUS_CODE_COUNT)
    abort();
}

static const cgrpc_client_interceptor_hooks intercept = {
    .start = intercept_start,
    .on_done = intercept_on_done,
};

/* Retries without randomness: a retryable status that comes with grpc-retry-pushback-ms 0 is
 * tried again at once (a stream the input may answer), any other 10 s later: never, here. */
static const cgrpc_retry_policy retry = {
    .max_attempts = 3,
    .initial_backoff_ms = 10000,
    .max_backoff_ms = 10000,
    .backoff_multiplier = 1.0,
    .jitter = 0.0,
    .retryable_codes = 1u << CGRPC_STATUS_UNAVAILABLE | 1u << CGRPC_STATUS_ABORTED |
                       1u << CGRPC_STATUS_RESOURCE_EXHAUSTED,
};

static void remove_socket(void)
{
  unlink(sock_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(sock_path, sizeof sock_path, "/tmp/cgrpc-fuzz-client-%d.sock", (int)getpid());
  snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
  snprintf(target, sizeof target, "unix:%s", sock_path);
  unlink(sock_path);
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(listen_fd, 16) != 0) {
    fprintf(stderr, "fuzz_client_conn: cannot listen on %s: %s\n", sock_path, strerror(errno));
    abort();
  }
  atexit(remove_socket);
  if (cgrpc_channel_options_new(&opts) != 0 ||
      cgrpc_channel_options_add_interceptor_hooks(opts, &intercept, NULL) != 0 ||
      cgrpc_call_options_new(&call_opts) != 0 ||
      cgrpc_call_options_set_retry_policy(call_opts, &retry) != 0 ||
      /* The same requests every time (else a random key), with a deadline that never comes. */
      cgrpc_call_options_set_idempotency_key(call_opts, "fuzz-key") != 0)
    abort();
  cgrpc_call_options_set_timeout_ms(call_opts, 3600 * 1000);
  cgrpc_channel_options_set_max_recv_message_size(opts, 1024); /* reachable from small inputs */
  return 0;
}

/* Takes the connections the channel makes after the first, and closes them at once. */
static void refuse_others(void)
{
  int fd;
  while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
    close(fd);
}

/* Reads and drops what the client wrote, so that it never waits for room. */
static void drain(int fd)
{
  uint8_t buf[16384];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    fuzz_record(buf, (size_t)n);
}

/* The length of the next piece to write: a frame, as far as its length field says. */
static size_t next_piece(const uint8_t *p, size_t left)
{
  size_t n = left >= 9 ? 9 + ((size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2]) : left;
  return n < left ? n : left;
}

static int all_done(const call_state *st)
{
  for (int i = 0; i < NCALLS; i++)
    if (st[i].done == 0)
      return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cgrpc_channel *ch;
  if (cgrpc_channel_new(&ch, target, opts) != 0)
    abort();
  /* Its thread goes; this one runs the loop from now on. */
  cgrpc_loop_stop(ch->loop);
  cgrpc_loop_join(ch->loop);

  FuzzMsg req;
  fuzz_msg_init(&req);
  req.data.data = (uint8_t *)"ping";
  req.data.len = 4;
  call_state st[NCALLS] = {{0}};
  cgrpc_call *calls[NCALLS] = {NULL};
  if (cgrpc_unary_call_start(ch, &fuzz_methods[FUZZ_UNARY], &req.base, call_opts, unary_done,
                             &st[0], &calls[0]) != 0 ||
      cgrpc_call_start_stream_async(ch, &fuzz_methods[FUZZ_SERVER_STREAM], &req.base, call_opts,
                                    &stream_callbacks, &st[1], &calls[1]) != 0 ||
      cgrpc_call_start_stream_async(ch, &fuzz_methods[FUZZ_BIDI], NULL, call_opts,
                                    &stream_callbacks, &st[2], &calls[2]) != 0)
    abort();
  cgrpc_call_try_send(calls[2], &req.base); /* and its sending side stays open */

  /* The server's side: one frame a round once the client has connected, then EOF. */
  int fd = -1;
  for (int round = 0; fd < 0; round++) {
    if (round == ROUNDS_TO_CONNECT) {
      fprintf(stderr, "fuzz_client_conn: the channel did not connect\n");
      abort();
    }
    cgrpc_loop_run_once(ch->loop, 0);
    fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  }
  size_t off = 0;
  while (off < size) {
    size_t n = next_piece(data + off, size - off);
    ssize_t w = send(fd, data + off, n, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN)
      break; /* the client closed: the rest would go nowhere */
    off += w > 0 ? (size_t)w : 0;
    for (int i = 0; i < ROUNDS_PER_FRAME; i++) {
      cgrpc_loop_run_once(ch->loop, 0);
      drain(fd);
    }
  }
  for (int i = 0; i < ROUNDS_AFTER_INPUT; i++) {
    cgrpc_loop_run_once(ch->loop, 0);
    drain(fd);
  }
  close(fd);

  /* The calls end by themselves (EOF fails what is left), or are cancelled. */
  for (int round = 0; !all_done(st); round++) {
    if (round == ROUNDS_TO_END)
      for (int i = 0; i < NCALLS; i++)
        cgrpc_call_cancel(calls[i]);
    if (round == 2 * ROUNDS_TO_END) {
      fprintf(stderr, "fuzz_client_conn: a call did not end after its cancel\n");
      abort();
    }
    cgrpc_loop_run_once(ch->loop, 0);
    refuse_others();
  }
  for (int i = 0; i < NCALLS; i++)
    if (st[i].done != 1 || st[i].late != 0) {
      fprintf(stderr, "fuzz_client_conn: call %d told its outcome %d times, %d callbacks late\n",
              i, st[i].done, st[i].late);
      abort();
    }

  /* What cgrpc_channel_free would have its thread do: shut down, until no connection is left. */
  cgrpc_loop_post(ch->loop, &ch->shutdown_task);
  for (int round = 0; round == 0 || ch->lb.cfg.env.live_conns > 0; round++) {
    if (round == ROUNDS_TO_END) {
      fprintf(stderr, "fuzz_client_conn: connections outlived the channel's shutdown\n");
      abort();
    }
    cgrpc_loop_run_once(ch->loop, 0);
    refuse_others();
  }
  for (int i = 0; i < NCALLS; i++)
    cgrpc_call_free(calls[i]);
  cgrpc_channel_free(ch);
  fuzz_record_end();
  return 0;
}
