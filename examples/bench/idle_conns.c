/* idle_conns: opens N concurrent idle HTTP/2 connections to a gRPC server and measures
 * what each costs the server (its VmRSS from /proc, and its malloc heap, which
 * bench_server and grpcxx_server print on SIGUSR1) and this client.  Run by idle_conns.sh.
 *
 * The client side is a baseline, not a cgrpc channel: one epoll thread, and per
 * connection a socket, an nghttp2 client session and a small struct.  (A cgrpc channel
 * per connection would bring a thread each.)  Each connection sends the preface and
 * SETTINGS and counts as open once the server's SETTINGS and the ACK of ours arrived.
 * A unary BenchmarkService/UnaryCall on a sample of them at the end proves them live.
 *
 * Phases: warm-up connections (one call each, so that what a server sets up on first use
 * is in the baseline) -> baseline -> N connections -> measure -> calls on a random
 * sample -> optionally (--call_all) one call on every connection, then measure again:
 * "idle after a call" -> close all (RST: no TIME_WAIT left behind).
 *
 * Flags: --port P [--host H] --conns N [--server_pid PID --server_out FILE]
 *        [--warmup W (8)] [--sample K (10)] [--inflight F (128: handshakes at once)]
 *        [--settle_ms MS (300)] [--call_all 0|1] [--timeout_s S (40)] [--label L]
 * Prints "RESULT label=L conns=N ..." (bytes per connection) and exits 0 when every
 * connection completed its handshake and every call succeeded. */
#define _GNU_SOURCE /* malloc_usable_size, mallinfo2 */

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

/* ---- options ----------------------------------------------------------------------------- */

static const char *host = "127.0.0.1";
static int port;
static int nconns = 1000;
static int warmup = 8;
static int sample = 10;
static int inflight = 128;
static int settle_ms = 300;
static int call_all;
static int timeout_s = 40;
static const char *label = "server";
static pid_t server_pid;
static const char *server_out;

/* ---- time, memory ------------------------------------------------------------------------ */

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A field of /proc/PID/status or /proc/meminfo, in KiB; -1 when missing. */
static long proc_kib(const char *path, const char *field)
{
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, field, n) == 0 && line[n] == ':') {
      v = strtol(line + n + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

static long rss_kib(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  return proc_kib(path, "VmRSS");
}

/* Bytes in use in this process's malloc heap (all arenas, and mmapped blocks). */
static long long heap_bytes(void)
{
  struct mallinfo2 mi = mallinfo2();
  return (long long)mi.uordblks + (long long)mi.hblkhd;
}

/* The server's heap: SIGUSR1 makes it print "HEAP <bytes>" on its stdout (server_out). */
static int heap_lines_seen;

static long long server_heap(void)
{
  if (server_pid <= 0 || server_out == NULL)
    return -1;
  if (kill(server_pid, SIGUSR1) != 0)
    return -1;
  double give_up = now_s() + 5;
  while (now_s() < give_up) {
    FILE *f = fopen(server_out, "r");
    char line[256];
    int seen = 0;
    long long last = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
      if (strncmp(line, "HEAP ", 5) == 0) {
        seen++;
        last = strtoll(line + 5, NULL, 10);
      }
    if (f != NULL)
      fclose(f);
    if (seen > heap_lines_seen) {
      heap_lines_seen = seen;
      return last;
    }
    sleep_ms(10);
  }
  return -1;
}

/* nghttp2's own heap in this process, counted exactly (no header: usable sizes). */
static long long ng_bytes;

static void *ng_malloc(size_t size, void *ud)
{
  (void)ud;
  void *p = malloc(size);
  if (p != NULL)
    ng_bytes += (long long)malloc_usable_size(p);
  return p;
}

static void ng_free(void *p, void *ud)
{
  (void)ud;
  if (p != NULL)
    ng_bytes -= (long long)malloc_usable_size(p);
  free(p);
}

static void *ng_calloc(size_t n, size_t size, void *ud)
{
  (void)ud;
  void *p = calloc(n, size);
  if (p != NULL)
    ng_bytes += (long long)malloc_usable_size(p);
  return p;
}

static void *ng_realloc(void *p, size_t size, void *ud)
{
  (void)ud;
  size_t old = p != NULL ? malloc_usable_size(p) : 0;
  void *q = realloc(p, size);
  if (q != NULL || size == 0)
    ng_bytes += (long long)(q != NULL ? malloc_usable_size(q) : 0) - (long long)old;
  return q;
}

static nghttp2_mem ng_mem = {NULL, ng_malloc, ng_free, ng_calloc, ng_realloc};

/* ---- connections ------------------------------------------------------------------------- */

enum { C_CONNECTING, C_OPEN, C_FAILED };

typedef struct conn {
  int fd;
  int state;
  uint32_t events; /* registered with epoll */
  nghttp2_session *ng;
  unsigned got_settings : 1, settings_acked : 1, handshaken : 1;
  /* The current call, if any. */
  unsigned calling : 1, call_done : 1;
  int32_t stream_id;
  int http_status, grpc_status;
  size_t body_off;
} conn;

static int epfd;
static conn **conns; /* all of them: warm-up first */
static int nopen;    /* created so far */
static int handshaking, handshaken, failed;
static int calls_pending, calls_ok, calls_failed;
static char first_error[256];

static void set_error(const char *what, const char *detail)
{
  if (first_error[0] == '\0')
    snprintf(first_error, sizeof first_error, "%s: %s", what, detail);
}

static void conn_fail(conn *c, const char *why)
{
  if (c->state == C_FAILED)
    return;
  set_error("connection failed", why);
  if (!c->handshaken)
    handshaking--;
  if (c->calling && !c->call_done) {
    c->call_done = 1;
    calls_pending--;
    calls_failed++;
  }
  c->state = C_FAILED;
  failed++;
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void conn_watch(conn *c, uint32_t ev)
{
  if (c->state == C_FAILED || ev == c->events)
    return;
  struct epoll_event e = {.events = ev, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) != 0)
    conn_fail(c, strerror(errno));
  else
    c->events = ev;
}

static ssize_t on_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *ud)
{
  conn *c = ud;
  (void)ng;
  (void)flags;
  ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
  if (n >= 0)
    return n;
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    return NGHTTP2_ERR_WOULDBLOCK;
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

static void check_handshake(conn *c)
{
  if (!c->handshaken && c->got_settings && c->settings_acked) {
    c->handshaken = 1;
    handshaking--;
    handshaken++;
  }
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
  conn *c = ud;
  (void)ng;
  if (f->hd.type == NGHTTP2_SETTINGS) {
    if (f->hd.flags & NGHTTP2_FLAG_ACK)
      c->settings_acked = 1;
    else
      c->got_settings = 1;
    check_handshake(c);
  }
  return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ud)
{
  conn *c = ud;
  (void)ng;
  (void)flags;
  (void)valuelen;
  if (f->hd.stream_id != c->stream_id)
    return 0;
  if (namelen == 7 && memcmp(name, ":status", 7) == 0)
    c->http_status = atoi((const char *)value);
  else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
    c->grpc_status = atoi((const char *)value);
  return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
  conn *c = ud;
  (void)ng;
  (void)code;
  if (id != c->stream_id || c->call_done)
    return 0;
  c->call_done = 1;
  calls_pending--;
  if (c->http_status == 200 && c->grpc_status == 0) {
    calls_ok++;
  } else {
    calls_failed++;
    char why[64];
    snprintf(why, sizeof why, "status %d, grpc-status %d", c->http_status, c->grpc_status);
    set_error("call failed", why);
  }
  return 0;
}

static nghttp2_session_callbacks *callbacks;

static void conn_flush(conn *c)
{
  if (c->state != C_OPEN)
    return;
  int rv = nghttp2_session_send(c->ng);
  if (rv != 0) {
    conn_fail(c, nghttp2_strerror(rv));
    return;
  }
  conn_watch(c, EPOLLIN | (nghttp2_session_want_write(c->ng) ? EPOLLOUT : 0));
}

static void conn_open(void)
{
  conn *c = calloc(1, sizeof *c);
  if (c == NULL) {
    fprintf(stderr, "idle_conns: out of memory\n");
    exit(1);
  }
  conns[nopen++] = c;
  handshaking++;
  c->state = C_CONNECTING;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    c->state = C_FAILED;
    handshaking--;
    failed++;
    set_error("socket", strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &sa.sin_addr);
  struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
  c->events = EPOLLOUT;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &e) != 0) {
    c->state = C_FAILED;
    handshaking--;
    failed++;
    set_error("epoll_ctl", strerror(errno));
    return;
  }
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
    conn_fail(c, strerror(errno));
}

static void conn_connected(conn *c)
{
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    conn_fail(c, strerror(err));
    return;
  }
  if (nghttp2_session_client_new3(&c->ng, callbacks, c, NULL, &ng_mem) != 0) {
    conn_fail(c, "nghttp2_session_client_new3");
    return;
  }
  c->state = C_OPEN;
  /* What a gRPC client says; the server's defaults do the rest. */
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, settings, 1);
  conn_flush(c);
}

static void conn_read(conn *c)
{
  static uint8_t buf[16384];
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (nghttp2_session_mem_recv(c->ng, buf, (size_t)n) < 0) {
        conn_fail(c, "http2 protocol error");
        return;
      }
      if ((size_t)n < sizeof buf)
        break;
    } else if (n == 0) {
      conn_fail(c, "closed by the server");
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      conn_fail(c, strerror(errno));
      return;
    }
  }
  conn_flush(c);
}

static void run_events(int timeout_ms)
{
  struct epoll_event ev[256];
  int n = epoll_wait(epfd, ev, 256, timeout_ms);
  for (int i = 0; i < n; i++) {
    conn *c = ev[i].data.ptr;
    if (c->state == C_CONNECTING)
      conn_connected(c);
    else if (c->state == C_OPEN && (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
      conn_read(c);
    else if (c->state == C_OPEN && (ev[i].events & EPOLLOUT))
      conn_flush(c);
  }
}

/* Opens connections up to index `upto` (exclusive), at most `inflight` handshakes at once,
 * and waits for them.  Returns 0 when all are open before the deadline. */
static int open_until(int upto, double deadline)
{
  while ((nopen < upto || handshaking > 0) && now_s() < deadline) {
    while (nopen < upto && handshaking < inflight)
      conn_open();
    run_events(50);
  }
  return nopen == upto && handshaking == 0 && failed == 0 ? 0 : -1;
}

/* ---- calls ------------------------------------------------------------------------------- */

static ssize_t body_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
  conn *c = src->ptr;
  (void)ng;
  (void)id;
  (void)ud;
  static const uint8_t msg[5] = {0, 0, 0, 0, 0}; /* an empty SimpleRequest, gRPC-framed */
  size_t n = sizeof msg - c->body_off;
  if (n > len)
    n = len;
  memcpy(buf, msg + c->body_off, n);
  c->body_off += n;
  if (c->body_off == sizeof msg)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static char authority[300];

static void call_start(conn *c)
{
  if (c->state != C_OPEN) {
    calls_failed++;
    return;
  }
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
  const nghttp2_nv nva[] = {
      NV(":method", "POST"),
      NV(":scheme", "http"),
      NV(":path", "/grpc.testing.BenchmarkService/UnaryCall"),
      NV(":authority", authority),
      NV("content-type", "application/grpc"),
      NV("te", "trailers"),
  };
#undef NV
  nghttp2_data_provider dp = {.source.ptr = c, .read_callback = body_read};
  c->calling = 1;
  c->call_done = 0;
  c->http_status = 0;
  c->grpc_status = -1;
  c->body_off = 0;
  c->stream_id = nghttp2_submit_request(c->ng, NULL, nva, sizeof nva / sizeof nva[0], &dp, c);
  if (c->stream_id < 0) {
    c->call_done = 1;
    calls_failed++;
    set_error("submit_request", nghttp2_strerror(c->stream_id));
    return;
  }
  calls_pending++;
  conn_flush(c);
}

static void wait_calls(double deadline)
{
  while (calls_pending > 0 && now_s() < deadline)
    run_events(50);
}

/* ---- main -------------------------------------------------------------------------------- */

static void usage(const char *argv0)
{
  fprintf(stderr,
          "usage: %s --port P [--host H] --conns N [--server_pid PID --server_out FILE]\n"
          "       [--warmup W] [--sample K] [--inflight F] [--settle_ms MS] [--call_all 0|1]\n"
          "       [--timeout_s S] [--label L]\n",
          argv0);
  exit(2);
}

static int parse_int(const char *argv0, const char *s, int min, int max)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
    usage(argv0);
  return (int)v;
}

/* A snapshot of both sides' memory. */
typedef struct snap {
  long server_rss_kib;
  long long server_heap;
  long client_rss_kib;
  long long client_heap;
  long long client_ng;
  long slab_kib;
} snap;

static void take(snap *s)
{
  sleep_ms(settle_ms);
  /* Keep answering whatever arrived meanwhile (a server's pings, window updates). */
  run_events(0);
  s->server_rss_kib = server_pid > 0 ? rss_kib(server_pid) : -1;
  s->server_heap = server_heap();
  s->client_rss_kib = rss_kib(getpid());
  s->client_heap = heap_bytes();
  s->client_ng = ng_bytes;
  s->slab_kib = proc_kib("/proc/meminfo", "Slab");
}

/* Bytes per connection between two snapshots; -1 when unknown. */
static long long per_kib(long a, long b, int n)
{
  return a < 0 || b < 0 ? -1 : (long long)(b - a) * 1024 / n;
}

static long long per_bytes(long long a, long long b, int n)
{
  return a < 0 || b < 0 ? -1 : (b - a) / n;
}

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc)
      usage(argv[0]);
    const char *arg = argv[i], *v = argv[++i];
    if (strcmp(arg, "--port") == 0)
      port = parse_int(argv[0], v, 1, 65535);
    else if (strcmp(arg, "--host") == 0)
      host = v;
    else if (strcmp(arg, "--conns") == 0)
      nconns = parse_int(argv[0], v, 1, 1000000);
    else if (strcmp(arg, "--warmup") == 0)
      warmup = parse_int(argv[0], v, 0, 1000);
    else if (strcmp(arg, "--sample") == 0)
      sample = parse_int(argv[0], v, 0, 1000000);
    else if (strcmp(arg, "--inflight") == 0)
      inflight = parse_int(argv[0], v, 1, 100000);
    else if (strcmp(arg, "--settle_ms") == 0)
      settle_ms = parse_int(argv[0], v, 0, 60000);
    else if (strcmp(arg, "--call_all") == 0)
      call_all = parse_int(argv[0], v, 0, 1);
    else if (strcmp(arg, "--timeout_s") == 0)
      timeout_s = parse_int(argv[0], v, 1, 3600);
    else if (strcmp(arg, "--label") == 0)
      label = v;
    else if (strcmp(arg, "--server_pid") == 0)
      server_pid = parse_int(argv[0], v, 1, 1 << 30);
    else if (strcmp(arg, "--server_out") == 0)
      server_out = v;
    else
      usage(argv[0]);
  }
  if (port == 0)
    usage(argv[0]);
  if (sample > nconns)
    sample = nconns;
  snprintf(authority, sizeof authority, "%s:%d", host, port);

  /* One fd per connection, and a few. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)(nconns + warmup + 32)) {
    fprintf(stderr, "idle_conns: %d connections need %d fds; the limit is %ld (ulimit -n)\n",
            nconns, nconns + warmup + 32, (long)rl.rlim_cur);
    return 2;
  }
  /* The server's heap lines printed before we started. */
  if (server_out != NULL && server_pid > 0) {
    FILE *f = fopen(server_out, "r");
    char line[256];
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
      heap_lines_seen += strncmp(line, "HEAP ", 5) == 0;
    if (f != NULL)
      fclose(f);
  }

  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_send_callback(callbacks, on_send);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  conns = calloc((size_t)(nconns + warmup), sizeof *conns);
  if (epfd < 0 || conns == NULL) {
    perror("idle_conns");
    return 1;
  }
  double t_start = now_s();
  double deadline = t_start + timeout_s;

  /* Warm-up: a few connections with a call each, kept open. */
  if (open_until(warmup, deadline) != 0) {
    fprintf(stderr, "idle_conns: warm-up connections failed: %s\n", first_error);
    return 1;
  }
  for (int i = 0; i < warmup; i++)
    call_start(conns[i]);
  wait_calls(deadline);
  if (calls_ok != warmup) {
    fprintf(stderr, "idle_conns: warm-up calls: %d of %d OK: %s\n", calls_ok, warmup,
            first_error);
    return 1;
  }

  snap before, idle, used;
  take(&before);

  double t0 = now_s();
  int rc = open_until(warmup + nconns, deadline);
  double setup_s = now_s() - t0;
  if (rc != 0) {
    fprintf(stderr, "idle_conns: %d of %d connections open after %.1f s (%d failed, %d still "
            "in handshake): %s\n",
            handshaken - warmup, nconns, setup_s, failed, handshaking, first_error);
    return 1;
  }
  take(&idle);

  /* Calls on a random sample: the connections are live. */
  srand((unsigned)getpid());
  int calls_before = calls_ok;
  for (int k = 0; k < sample; k++) {
    conn *c = conns[warmup + rand() % nconns];
    if (c->calling) { /* drawn already: the next not drawn */
      for (int j = 0; j < nconns && c->calling; j++)
        c = conns[warmup + j];
    }
    call_start(c);
  }
  wait_calls(deadline);
  int sample_ok = calls_ok - calls_before;

  /* One call on each, in batches: then idle again. */
  int all_ok = -1;
  if (call_all) {
    calls_before = calls_ok;
    for (int i = 0; i < nconns && now_s() < deadline; i += 500) {
      for (int j = i; j < i + 500 && j < nconns; j++)
        if (!conns[warmup + j]->calling)
          call_start(conns[warmup + j]);
      wait_calls(deadline);
    }
    all_ok = calls_ok - calls_before + sample_ok;
    take(&used);
  }
  double total_s = now_s() - t_start;

  printf("RESULT label=%s conns=%d setup_s=%.2f sample_ok=%d/%d", label, nconns, setup_s,
         sample_ok, sample);
  printf(" server_rss_kib_before=%ld server_rss_kib_idle=%ld", before.server_rss_kib,
         idle.server_rss_kib);
  printf(" server_rss_per_conn=%lld server_heap_per_conn=%lld",
         per_kib(before.server_rss_kib, idle.server_rss_kib, nconns),
         per_bytes(before.server_heap, idle.server_heap, nconns));
  printf(" client_rss_per_conn=%lld client_heap_per_conn=%lld client_nghttp2_per_conn=%lld",
         per_kib(before.client_rss_kib, idle.client_rss_kib, nconns),
         per_bytes(before.client_heap, idle.client_heap, nconns),
         per_bytes(before.client_ng, idle.client_ng, nconns));
  printf(" kernel_slab_per_conn_both_ends=%lld", per_kib(before.slab_kib, idle.slab_kib, nconns));
  if (call_all)
    printf(" used_ok=%d/%d used_server_rss_per_conn=%lld used_server_heap_per_conn=%lld"
           " used_client_heap_per_conn=%lld",
           all_ok, nconns, per_kib(before.server_rss_kib, used.server_rss_kib, nconns),
           per_bytes(before.server_heap, used.server_heap, nconns),
           per_bytes(before.client_heap, used.client_heap, nconns));
  printf(" total_s=%.2f\n", total_s);
  fflush(stdout);

  /* Close: RST (linger 0), so that repeated runs leave no TIME_WAIT behind. */
  for (int i = 0; i < nopen; i++) {
    conn *c = conns[i];
    if (c->fd >= 0) {
      struct linger lg = {1, 0};
      setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close(c->fd);
    }
    nghttp2_session_del(c->ng);
    free(c);
  }
  free(conns);
  close(epfd);
  nghttp2_session_callbacks_del(callbacks);
  int ok = sample_ok == sample && (!call_all || all_ok == nconns) && failed == 0;
  if (!ok)
    fprintf(stderr, "idle_conns: %s\n", first_error[0] ? first_error : "calls failed");
  return ok ? 0 : 1;
}
