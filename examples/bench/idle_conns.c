/* idle_conns: opens N concurrent idle HTTP/2 connections to a gRPC server and measures
 * what each costs the server (its VmRSS from /proc, and its malloc heap, which
 * bench_server and grpcxx_server print on SIGUSR1) and this client.  Run by idle_conns.sh.
 *
 * Two clients (--client):
 *
 * raw (the default): a baseline, not a cgrpc channel: one epoll thread, and per
 * connection a socket, an nghttp2 client session and a small struct.  Each connection
 * sends the preface and SETTINGS and counts as open once the server's SETTINGS and the
 * ACK of ours arrived.  A unary BenchmarkService/UnaryCall on a sample of them at the end
 * proves them live.  Phases: warm-up connections (one call each, so that what a server
 * sets up on first use is in the baseline) -> baseline -> N connections -> measure ->
 * calls on a random sample -> optionally (--call_all) one call on every connection, then
 * measure again: "idle after a call" -> close all (RST: no TIME_WAIT left behind).
 *
 * cgrpc: one cgrpc channel with a connection pool of N (cgrpc_channel_options_set_pool(N,
 * N)) holds the N connections, and its allocator counts what it holds (split by the
 * caller: libnghttp2 or the rest -- cgrpc, protobuf-c).  Phases: a warm-up channel
 * (default pool: 1 connection) makes --warmup calls and stays open -> measure -> the
 * pooled channel is created (IDLE) -> measure (the channel's fixed cost) ->
 * cgrpc_channel_get_state(ch, 1): the pool opens its connections, one at a time (the next
 * when one is READY) -> wait until this process holds N TCP sockets to the server, each
 * ESTABLISHED, with bytes received and none left unread (TCP_INFO, FIONREAD: the
 * server's SETTINGS were read, so the connection is READY) -> measure -> with --call_all
 * N asynchronous calls at once (the channel sends each to its least busy connection),
 * checked to have landed on every connection (each socket's tcpi_bytes_received grew),
 * then measure ("idle after a call") -> --seq_calls blocking calls in a row on the
 * pooled channel and on the warm-up channel (the cost of picking among N connections)
 * -> close (sockets set to RST first) and free the channel.
 *
 * Flags: --port P [--host H] --conns N [--server_pid PID --server_out FILE]
 *        [--client raw|cgrpc] [--warmup W (8)] [--sample K (10; raw)]
 *        [--inflight F (128: handshakes at once; raw)] [--seq_calls C (200; cgrpc)]
 *        [--keepalive_ms MS (0: off; cgrpc: keepalive with permit_without_calls)]
 *        [--sizes 0|1 (cgrpc: live allocations by size, per connection, on stderr)]
 *        [--settle_ms MS (300)] [--call_all 0|1] [--timeout_s S (40)] [--label L]
 * Prints "RESULT label=L client=C conns=N ..." (bytes per connection) and exits 0 when
 * every connection opened and every call succeeded. */
#define _GNU_SOURCE /* malloc_usable_size, mallinfo2, dl_iterate_phdr */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received; TCP_NODELAY */
#include <malloc.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include <cgrpc/cgrpc.h>

#include "grpc/testing/benchmark_service.cgrpc.h"

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
static int client_cgrpc; /* --client cgrpc */
static int seq_calls = 200;
static int keepalive_ms;
static int show_sizes;

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
          "       [--client raw|cgrpc] [--warmup W] [--sample K] [--inflight F]\n"
          "       [--seq_calls C] [--keepalive_ms MS] [--sizes 0|1]\n"
          "       [--settle_ms MS] [--call_all 0|1] [--timeout_s S] [--label L]\n",
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
  long long client_alloc[2]; /* cgrpc: the channel's allocator: [0] cgrpc etc., [1] nghttp2 */
  long slab_kib;
} snap;

static long long alloc_live(int who);

static void take(snap *s)
{
  sleep_ms(settle_ms);
  /* Keep answering whatever arrived meanwhile (a server's pings, window updates). */
  if (!client_cgrpc)
    run_events(0);
  s->server_rss_kib = server_pid > 0 ? rss_kib(server_pid) : -1;
  s->server_heap = server_heap();
  s->client_rss_kib = rss_kib(getpid());
  s->client_heap = heap_bytes();
  s->client_ng = ng_bytes;
  s->client_alloc[0] = alloc_live(0);
  s->client_alloc[1] = alloc_live(1);
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

/* ---- the cgrpc client: one channel, a pool of N connections -------------------------------- */

/* The pooled channel's allocator: live bytes (malloc's usable sizes), by caller -- [1] when
 * the caller is in libnghttp2 (its sessions allocate through the channel's allocator), [0]
 * for the rest (cgrpc itself, and protobuf-c for messages).  The loop thread and ours
 * both allocate: atomics.  With --sizes, also live allocations by usable size. */
#define SIZE_BUCKETS 4097 /* usable size / 16, the last one for 64 KiB and more */
static atomic_llong alloc_bytes[2];
static atomic_int alloc_sizes[2][SIZE_BUCKETS];
static uintptr_t ng_text_lo, ng_text_hi;

static long long alloc_live(int who)
{
  return atomic_load_explicit(&alloc_bytes[who], memory_order_relaxed);
}

static int find_nghttp2(struct dl_phdr_info *info, size_t size, void *ud)
{
  (void)size;
  (void)ud;
  if (info->dlpi_name == NULL || strstr(info->dlpi_name, "libnghttp2") == NULL)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
      continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (ng_text_lo == 0 || lo < ng_text_lo)
      ng_text_lo = lo;
    if (hi > ng_text_hi)
      ng_text_hi = hi;
  }
  return 1;
}

static void alloc_count(const void *caller, void *p, int sign)
{
  uintptr_t a = (uintptr_t)caller;
  int who = a >= ng_text_lo && a < ng_text_hi;
  size_t n = malloc_usable_size(p);
  atomic_fetch_add_explicit(&alloc_bytes[who], sign * (long long)n, memory_order_relaxed);
  if (show_sizes) {
    size_t b = n / 16 < SIZE_BUCKETS - 1 ? n / 16 : SIZE_BUCKETS - 1;
    atomic_fetch_add_explicit(&alloc_sizes[who][b], sign, memory_order_relaxed);
  }
}

static void *ca_malloc(size_t size, void *ud)
{
  (void)ud;
  void *p = malloc(size);
  if (p != NULL)
    alloc_count(__builtin_return_address(0), p, 1);
  return p;
}

static void ca_free(void *p, void *ud)
{
  (void)ud;
  if (p == NULL)
    return;
  alloc_count(__builtin_return_address(0), p, -1);
  free(p);
}

static void *ca_calloc(size_t n, size_t size, void *ud)
{
  (void)ud;
  void *p = calloc(n, size);
  if (p != NULL)
    alloc_count(__builtin_return_address(0), p, 1);
  return p;
}

static void *ca_realloc(void *p, size_t size, void *ud)
{
  (void)ud;
  const void *caller = __builtin_return_address(0);
  if (p != NULL && size == 0) {
    alloc_count(caller, p, -1);
    free(p);
    return NULL;
  }
  size_t old = p != NULL ? malloc_usable_size(p) : 0;
  void *q = realloc(p, size);
  if (q == NULL)
    return NULL;
  /* The old block as it was, the new one as it is. */
  uintptr_t a = (uintptr_t)caller;
  int who = a >= ng_text_lo && a < ng_text_hi;
  atomic_fetch_sub_explicit(&alloc_bytes[who], (long long)old, memory_order_relaxed);
  if (show_sizes && p != NULL) {
    size_t b = old / 16 < SIZE_BUCKETS - 1 ? old / 16 : SIZE_BUCKETS - 1;
    atomic_fetch_sub_explicit(&alloc_sizes[who][b], 1, memory_order_relaxed);
  }
  alloc_count(caller, q, 1);
  return q;
}

static const cgrpc_allocator counting_alloc = {ca_malloc, ca_free, ca_calloc, ca_realloc, NULL};

/* This process's TCP sockets to the server, less those of pre_fds (the warm-up channel's):
 * how many, how many are READY as far as the socket can tell -- ESTABLISHED, bytes
 * received (the server speaks first: its SETTINGS) and nothing left unread (the channel's
 * loop read them, and nghttp2 with them) -- and each one's tcpi_bytes_received (rx, by fd,
 * when not NULL). */
typedef struct sockscan {
  int tcp, ready;
} sockscan;

static int fd_cap;              /* size of the arrays below */
static unsigned char *pre_fds;  /* fds open before the pooled channel connected */
static unsigned long long *rx0; /* bytes received per fd, at the idle measurement */
static unsigned long long *rx1; /* ... after the calls */

static int is_server_socket(int fd, struct tcp_info *ti)
{
  socklen_t len = sizeof *ti;
  memset(ti, 0, sizeof *ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len) != 0)
    return 0;
  struct sockaddr_in sa;
  socklen_t salen = sizeof sa;
  if (getpeername(fd, (struct sockaddr *)&sa, &salen) != 0 || sa.sin_family != AF_INET ||
      ntohs(sa.sin_port) != port)
    return 0;
  return 1;
}

static void scan_sockets(sockscan *s, unsigned long long *rx)
{
  memset(s, 0, sizeof *s);
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == dirfd(d) || (fd < fd_cap && pre_fds[fd]))
      continue;
    struct tcp_info ti;
    if (!is_server_socket(fd, &ti))
      continue;
    s->tcp++;
    int unread = -1;
    if (ti.tcpi_state == 1 /* TCP_ESTABLISHED */ && ti.tcpi_bytes_received > 0 &&
        ioctl(fd, FIONREAD, &unread) == 0 && unread == 0)
      s->ready++;
    if (rx != NULL && fd < fd_cap)
      rx[fd] = ti.tcpi_bytes_received;
  }
  closedir(d);
}

/* Open fds (cheap: no syscall per fd). */
static int count_fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the directory's own */
}

/* Marks the fds open now, or (mark 0) sets SO_LINGER 0 on the server sockets not marked. */
static void walk_fds(int mark)
{
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == dirfd(d) || fd >= fd_cap)
      continue;
    if (mark) {
      pre_fds[fd] = 1;
    } else if (!pre_fds[fd]) {
      struct tcp_info ti;
      struct linger lg = {1, 0};
      if (is_server_socket(fd, &ti))
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
  }
  closedir(d);
}

/* The asynchronous calls of the burst. */
static pthread_mutex_t burst_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t burst_cv = PTHREAD_COND_INITIALIZER;
static int burst_done, burst_ok;
static ProtobufCAllocator *burst_pb_alloc;

static void burst_on_done(cgrpc_status *status, Grpc__Testing__SimpleResponse *response,
                          void *user_data)
{
  (void)user_data;
  if (response != NULL)
    protobuf_c_message_free_unpacked(&response->base, burst_pb_alloc);
  pthread_mutex_lock(&burst_mu);
  burst_done++;
  if (status->code == CGRPC_STATUS_OK)
    burst_ok++;
  else
    set_error("call failed", status->message != NULL ? status->message
                                                     : cgrpc_code_name(status->code));
  pthread_cond_signal(&burst_cv);
  pthread_mutex_unlock(&burst_mu);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  return n > 0 ? t[n / 2] : -1;
}

/* One blocking call on ch; its time in microseconds, or -1 when it failed. */
static double timed_call(cgrpc_channel *ch)
{
  Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
  cgrpc_status st = CGRPC_STATUS_INIT;
  Grpc__Testing__SimpleResponse *resp = NULL;
  double t0 = now_s();
  cgrpc_code code = grpc__testing__benchmark_service_client__unary_call(ch, &req, &resp, NULL, &st);
  double us = (now_s() - t0) * 1e6;
  if (code != CGRPC_STATUS_OK) {
    set_error("call failed", st.message != NULL ? st.message : cgrpc_code_name(code));
    us = -1;
  }
  if (resp != NULL)
    protobuf_c_message_free_unpacked(&resp->base, cgrpc_channel_protobuf_allocator(ch));
  cgrpc_status_clear(&st);
  return us;
}

/* n blocking calls in a row on each of a and b (b may be NULL), alternating, so that both
 * see the same machine; the medians in microseconds (-1 when none succeeded).  Returns how
 * many calls succeeded. */
static int seq_probe(cgrpc_channel *a, cgrpc_channel *b, int n, double *a_p50, double *b_p50)
{
  double *ta = calloc(n > 0 ? (size_t)n : 1, sizeof *ta);
  double *tb = calloc(n > 0 ? (size_t)n : 1, sizeof *tb);
  int na = 0, nb = 0;
  for (int i = 0; i < n && ta != NULL && tb != NULL; i++) {
    double us = timed_call(a);
    if (us >= 0)
      ta[na++] = us;
    if (b != NULL && (us = timed_call(b)) >= 0)
      tb[nb++] = us;
  }
  *a_p50 = na > 0 ? median(ta, na) : -1;
  *b_p50 = nb > 0 ? median(tb, nb) : -1;
  free(ta);
  free(tb);
  return na + nb;
}

/* --sizes: live allocations that changed between two copies of alloc_sizes, per
 * connection, largest total first. */
static void print_sizes(int (*a)[SIZE_BUCKETS], int (*b)[SIZE_BUCKETS], const char *when)
{
  for (int shown = 0; shown < 16; shown++) {
    int bw = -1, bi = -1;
    long best = 0;
    for (int w = 0; w < 2; w++)
      for (int i = 0; i < SIZE_BUCKETS; i++) {
        long bytes = (long)(b[w][i] - a[w][i]) * (i * 16 + 8);
        if (labs(bytes) > labs(best)) {
          best = bytes;
          bw = w;
          bi = i;
        }
      }
    if (bw < 0 || labs(best) < nconns * 8L) /* below 8 bytes per connection */
      break;
    fprintf(stderr, "SIZES %s %-7s usable %5d%s B: %+.2f per conn (%+.0f B)\n", when,
            bw ? "nghttp2" : "cgrpc", bi * 16 + 8, bi == SIZE_BUCKETS - 1 ? "+" : "",
            (double)(b[bw][bi] - a[bw][bi]) / nconns, (double)best / nconns);
    a[bw][bi] = b[bw][bi]; /* shown */
  }
}

static int run_cgrpc(void)
{
  static int sz_before[2][SIZE_BUCKETS], sz_idle[2][SIZE_BUCKETS], sz_used[2][SIZE_BUCKETS];
  char target[300];
  snprintf(target, sizeof target, "%s:%d", host, port);
  dl_iterate_phdr(find_nghttp2, NULL);
  if (ng_text_hi == 0)
    fprintf(stderr, "idle_conns: libnghttp2 not found among the loaded objects: its share "
            "is counted as cgrpc's\n");
  fd_cap = nconns + warmup + 1024;
  pre_fds = calloc((size_t)fd_cap, 1);
  rx0 = calloc((size_t)fd_cap, sizeof *rx0);
  rx1 = calloc((size_t)fd_cap, sizeof *rx1);
  if (pre_fds == NULL || rx0 == NULL || rx1 == NULL) {
    perror("idle_conns");
    return 1;
  }
  double t_start = now_s();
  double deadline = t_start + timeout_s;

  /* Warm-up: a channel with the default pool (one connection) and a few calls; it stays. */
  cgrpc_channel *warm = NULL;
  if (cgrpc_channel_new(&warm, target, NULL) != 0) {
    fprintf(stderr, "idle_conns: cannot create the warm-up channel\n");
    return 1;
  }
  double p50, unused;
  if (seq_probe(warm, NULL, warmup > 0 ? warmup : 1, &p50, &unused) != (warmup > 0 ? warmup : 1)) {
    fprintf(stderr, "idle_conns: warm-up calls failed: %s\n", first_error);
    return 1;
  }

  snap pre, before, idle, used;
  take(&pre);

  /* The pooled channel: N connections to the one address, all kept open. */
  cgrpc_channel_options *opts;
  cgrpc_channel *ch = NULL;
  if (cgrpc_channel_options_new(&opts) != 0 ||
      cgrpc_channel_options_set_pool(opts, nconns, nconns) != 0) {
    fprintf(stderr, "idle_conns: pool(%d, %d) refused\n", nconns, nconns);
    return 1;
  }
  cgrpc_channel_options_set_allocator(opts, &counting_alloc);
  if (keepalive_ms > 0 && cgrpc_channel_options_set_keepalive(opts, keepalive_ms, 0, 1) != 0) {
    fprintf(stderr, "idle_conns: keepalive %d ms refused\n", keepalive_ms);
    return 1;
  }
  if (cgrpc_channel_new(&ch, target, opts) != 0) {
    fprintf(stderr, "idle_conns: cannot create the pooled channel\n");
    return 1;
  }
  cgrpc_channel_options_free(opts);
  burst_pb_alloc = cgrpc_channel_protobuf_allocator(ch);
  take(&before);
  memcpy(sz_before, alloc_sizes, sizeof sz_before);
  walk_fds(1);
  int base_fds = count_fds();

  /* Connect, and wait for N READY connections. */
  double t0 = now_s();
  cgrpc_channel_get_state(ch, 1);
  sockscan sc = {0, 0};
  double t_all_open = 0;
  for (;;) {
    int open = count_fds() - base_fds;
    if (open >= nconns) {
      if (t_all_open == 0)
        t_all_open = now_s();
      scan_sockets(&sc, NULL);
      if (sc.ready == nconns && sc.tcp == nconns)
        break;
    }
    if (now_s() > deadline) {
      scan_sockets(&sc, NULL);
      fprintf(stderr, "idle_conns: after %.1f s the pool holds %d sockets to the server, %d "
              "READY, of %d (cgrpc_channel_get_state: %s)\n",
              now_s() - t0, sc.tcp, sc.ready, nconns,
              cgrpc_connectivity_state_name(cgrpc_channel_get_state(ch, 0)));
      return 1;
    }
    sleep_ms(open >= nconns ? 5 : 20);
  }
  double setup_s = now_s() - t0;
  take(&idle);
  memcpy(sz_idle, alloc_sizes, sizeof sz_idle);
  scan_sockets(&sc, rx0);

  /* N calls at once: the channel sends each to its least busy connection. */
  int used_ok = -1, used_conns = -1;
  double burst_s = -1;
  if (call_all) {
    Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
    double tb = now_s();
    int started = 0;
    for (int i = 0; i < nconns; i++) {
      if (grpc__testing__benchmark_service_client__unary_call_async(ch, &req, NULL,
                                                                    burst_on_done, NULL,
                                                                    NULL) != 0) {
        set_error("call", "cannot start");
        break;
      }
      started++;
    }
    pthread_mutex_lock(&burst_mu);
    while (burst_done < started && now_s() < deadline) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 50 * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&burst_cv, &burst_mu, &ts);
    }
    used_ok = burst_ok;
    int pending = started - burst_done;
    pthread_mutex_unlock(&burst_mu);
    burst_s = now_s() - tb;
    if (pending > 0) {
      fprintf(stderr, "idle_conns: %d of %d calls still running at the deadline\n", pending,
              nconns);
      return 1;
    }
    /* Which connections carried one: the server answers nothing else on them. */
    sockscan after;
    scan_sockets(&after, rx1);
    used_conns = 0;
    for (int fd = 0; fd < fd_cap; fd++)
      used_conns += rx1[fd] > rx0[fd];
    if (after.tcp != nconns)
      set_error("pool", "the number of connections changed during the calls");
    take(&used);
    memcpy(sz_used, alloc_sizes, sizeof sz_used);
  }

  /* Calls in a row: through N connections, and through the warm-up channel's one. */
  double pool_p50 = -1, one_p50 = -1;
  int seq_ok = seq_probe(ch, warm, seq_calls, &pool_p50, &one_p50);
  double total_s = now_s() - t_start;

  printf("RESULT label=%s client=cgrpc conns=%d setup_s=%.2f conn_per_s=%.0f"
         " all_open_s=%.2f", label, nconns, setup_s, setup_s > 0 ? nconns / setup_s : 0,
         t_all_open - t0);
  printf(" server_rss_kib_before=%ld server_rss_kib_idle=%ld", before.server_rss_kib,
         idle.server_rss_kib);
  printf(" server_rss_per_conn=%lld server_heap_per_conn=%lld",
         per_kib(before.server_rss_kib, idle.server_rss_kib, nconns),
         per_bytes(before.server_heap, idle.server_heap, nconns));
  printf(" client_rss_per_conn=%lld client_heap_per_conn=%lld client_alloc_per_conn=%lld"
         " client_nghttp2_per_conn=%lld client_cgrpc_per_conn=%lld",
         per_kib(before.client_rss_kib, idle.client_rss_kib, nconns),
         per_bytes(before.client_heap, idle.client_heap, nconns),
         per_bytes(before.client_alloc[0] + before.client_alloc[1],
                   idle.client_alloc[0] + idle.client_alloc[1], nconns),
         per_bytes(before.client_alloc[1], idle.client_alloc[1], nconns),
         per_bytes(before.client_alloc[0], idle.client_alloc[0], nconns));
  printf(" channel_rss_kib=%ld channel_heap=%lld channel_alloc=%lld",
         before.client_rss_kib - pre.client_rss_kib, before.client_heap - pre.client_heap,
         before.client_alloc[0] + before.client_alloc[1]);
  printf(" kernel_slab_per_conn_both_ends=%lld", per_kib(before.slab_kib, idle.slab_kib, nconns));
  if (call_all)
    printf(" used_ok=%d/%d used_conns=%d burst_s=%.2f used_server_rss_per_conn=%lld"
           " used_server_heap_per_conn=%lld used_client_rss_per_conn=%lld"
           " used_client_heap_per_conn=%lld used_client_alloc_per_conn=%lld"
           " used_client_nghttp2_per_conn=%lld",
           used_ok, nconns, used_conns, burst_s,
           per_kib(before.server_rss_kib, used.server_rss_kib, nconns),
           per_bytes(before.server_heap, used.server_heap, nconns),
           per_kib(before.client_rss_kib, used.client_rss_kib, nconns),
           per_bytes(before.client_heap, used.client_heap, nconns),
           per_bytes(before.client_alloc[0] + before.client_alloc[1],
                     used.client_alloc[0] + used.client_alloc[1], nconns),
           per_bytes(before.client_alloc[1], used.client_alloc[1], nconns));
  printf(" seq_ok=%d/%d pool_call_p50_us=%.0f one_call_p50_us=%.0f", seq_ok, 2 * seq_calls,
         pool_p50, one_p50);
  fflush(stdout);
  if (show_sizes) {
    print_sizes(sz_before, sz_idle, "idle");
    if (call_all)
      print_sizes(sz_idle, sz_used, "call");
  }

  /* Close: RST (linger 0), so that repeated runs leave no TIME_WAIT behind. */
  walk_fds(0);
  double tc = now_s();
  cgrpc_channel_free(ch);
  double close_s = now_s() - tc;
  cgrpc_channel_free(warm);
  printf(" close_s=%.2f total_s=%.2f\n", close_s, total_s);
  fflush(stdout);
  int ok = seq_ok == 2 * seq_calls && (!call_all || (used_ok == nconns && used_conns == nconns)) &&
           first_error[0] == '\0';
  if (!ok)
    fprintf(stderr, "idle_conns: %s\n",
            first_error[0] ? first_error
            : used_conns != nconns ? "the calls did not reach every connection"
                                   : "calls failed");
  return ok ? 0 : 1;
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
    else if (strcmp(arg, "--client") == 0 && (strcmp(v, "raw") == 0 || strcmp(v, "cgrpc") == 0))
      client_cgrpc = strcmp(v, "cgrpc") == 0;
    else if (strcmp(arg, "--seq_calls") == 0)
      seq_calls = parse_int(argv[0], v, 0, 1000000);
    else if (strcmp(arg, "--keepalive_ms") == 0)
      keepalive_ms = parse_int(argv[0], v, 0, 1 << 30);
    else if (strcmp(arg, "--sizes") == 0)
      show_sizes = parse_int(argv[0], v, 0, 1);
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

  if (client_cgrpc)
    return run_cgrpc();

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

  printf("RESULT label=%s client=raw conns=%d setup_s=%.2f sample_ok=%d/%d", label, nconns, setup_s,
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
           " used_client_rss_per_conn=%lld used_client_heap_per_conn=%lld",
           all_ok, nconns, per_kib(before.server_rss_kib, used.server_rss_kib, nconns),
           per_bytes(before.server_heap, used.server_heap, nconns),
           per_kib(before.client_rss_kib, used.client_rss_kib, nconns),
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
