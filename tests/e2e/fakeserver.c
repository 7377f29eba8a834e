/* A scripted HTTP/2 server on nghttp2 and poll(), for testing how clients take bad answers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "fakeserver.h"

#define FAKE_MAX_CONNS 16

typedef struct fake_stream {
  char path[128];
  uint8_t body[64];
  const uint8_t *big; /* instead of body, when set (static) */
  size_t len;
  size_t off;
  size_t chunk; /* at most this many bytes per DATA frame; 0: no limit */
  const nghttp2_nv *trailers; /* NULL: END_STREAM on the last DATA */
  size_t ntrailers;
  int endless;   /* the body again and again, never ending */
  int rst_after; /* RST_STREAM INTERNAL_ERROR once the body is out, instead of its end */
} fake_stream;

#define FAKE_MAX_STREAMS 64

typedef struct fake_conn {
  int fd;
  nghttp2_session *ng;
  int close_now;
  fake_stream *streams[FAKE_MAX_STREAMS]; /* open ones, freed at the latest with the conn */
} fake_conn;

struct fakeserver {
  int lfd;
  int port;
  int wake[2];
  pthread_t thread;
  fake_conn conns[FAKE_MAX_CONNS];
};

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE}

static const nghttp2_nv ok_headers[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
static const nghttp2_nv ok_trailers[] = {NV("grpc-status", "0")};
static const nghttp2_nv bad_bin_trailers[] = {NV("grpc-status", "0"), NV("x-data-bin", "!!!")};

static ssize_t fake_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *ud)
{
  fake_conn *c = ud;
  (void)ng;
  (void)flags;
  ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
  return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int fake_on_begin(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  fake_conn *c = ud;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  for (int i = 0; i < FAKE_MAX_STREAMS; i++) {
    if (c->streams[i] == NULL) {
      c->streams[i] = calloc(1, sizeof(fake_stream));
      nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, c->streams[i]);
      break;
    }
  }
  return 0;
}

static int fake_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                          size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                          void *ud)
{
  (void)flags;
  (void)ud;
  fake_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
  if (st != NULL && namelen == 5 && memcmp(name, ":path", 5) == 0 && valuelen < sizeof st->path) {
    memcpy(st->path, value, valuelen);
    st->path[valuelen] = '\0';
  }
  return 0;
}

static ssize_t fake_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
  fake_stream *st = src->ptr;
  (void)ud;
  size_t n = st->len - st->off;
  if (n > len)
    n = len;
  if (st->chunk > 0 && n > st->chunk)
    n = st->chunk;
  if (n == 0 && st->rst_after) {
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
    return NGHTTP2_ERR_DEFERRED;
  }
  memcpy(buf, (st->big != NULL ? st->big : st->body) + st->off, n);
  st->off += n;
  if (st->endless && st->off == st->len)
    st->off = 0;
  else if (st->off == st->len && !st->rst_after) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (st->trailers != NULL) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_submit_trailer(ng, id, st->trailers, st->ntrailers);
    }
  }
  return (ssize_t)n;
}

static void fake_body(fake_conn *c, int32_t id, fake_stream *st, const nghttp2_nv *hdrs, size_t nh,
                      const void *body, size_t len, const nghttp2_nv *trailers, size_t nt)
{
  if (len <= sizeof st->body)
    memcpy(st->body, body, len);
  else
    st->big = body;
  st->len = len;
  st->trailers = trailers;
  st->ntrailers = nt;
  nghttp2_data_provider prd;
  prd.source.ptr = st;
  prd.read_callback = fake_read;
  nghttp2_submit_response(c->ng, id, hdrs, nh, &prd);
}

/* Made once: a gzip message inflating to 5 MiB of zeros (over the client's 4 MiB limit),
 * framed with the compressed flag.  About 5 KiB. */
static const uint8_t *fake_gzip_bomb(size_t *len)
{
  static uint8_t out[16 * 1024];
  static size_t out_len;
  if (out_len == 0) {
    static uint8_t zeros[64 * 1024];
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
      abort();
    z.next_out = out + 5;
    z.avail_out = sizeof out - 5;
    for (int i = 0; i < 80; i++) { /* 80 x 64 KiB */
      z.next_in = zeros;
      z.avail_in = sizeof zeros;
      if (deflate(&z, i == 79 ? Z_FINISH : Z_NO_FLUSH) == Z_STREAM_ERROR)
        abort();
    }
    size_t n = sizeof out - 5 - z.avail_out;
    deflateEnd(&z);
    out[0] = 1;
    out[1] = (uint8_t)(n >> 24);
    out[2] = (uint8_t)(n >> 16);
    out[3] = (uint8_t)(n >> 8);
    out[4] = (uint8_t)n;
    out_len = 5 + n;
  }
  *len = out_len;
  return out;
}

/* Requests answered, and whether refused-once and drop-once have (one server at a time). */
static int requests_seen;
static int refused_once_done;
static int dropped_once_done;
static int goaway_once_done;

static void fake_answer(fake_conn *c, int32_t id, fake_stream *st)
{
  const char *what = strrchr(st->path, '/');
  what = what != NULL ? what + 1 : st->path;
  static const uint8_t empty_msg[] = {0, 0, 0, 0, 0};
  __atomic_add_fetch(&requests_seen, 1, __ATOMIC_RELAXED);
  if (strcmp(what, "refused-once") == 0)
    what = __atomic_exchange_n(&refused_once_done, 1, __ATOMIC_RELAXED) ? "ok" : "rst-refused";
  if (strcmp(what, "goaway-once") == 0)
    what = __atomic_exchange_n(&goaway_once_done, 1, __ATOMIC_RELAXED) ? "ok" : "goaway";
  if (strcmp(what, "drop-once") == 0)
    what = __atomic_exchange_n(&dropped_once_done, 1, __ATOMIC_RELAXED) ? "ok" : "drop";
  if (strncmp(what, "http-", 5) == 0) {
    nghttp2_nv nv = {(uint8_t *)":status", (uint8_t *)what + 5, 7, strlen(what + 5), 0};
    nghttp2_submit_response(c->ng, id, &nv, 1, NULL);
  } else if (strncmp(what, "rst-", 4) == 0) {
    uint32_t code = strcmp(what, "rst-cancel") == 0     ? NGHTTP2_CANCEL
                    : strcmp(what, "rst-refused") == 0  ? NGHTTP2_REFUSED_STREAM
                    : strcmp(what, "rst-calm") == 0     ? NGHTTP2_ENHANCE_YOUR_CALM
                    : strcmp(what, "rst-security") == 0 ? NGHTTP2_INADEQUATE_SECURITY
                                                        : NGHTTP2_INTERNAL_ERROR;
    nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, id, code);
  } else if (strcmp(what, "no-trailers") == 0) {
    fake_body(c, id, st, ok_headers, 2, empty_msg, 5, NULL, 0);
  } else if (strcmp(what, "html") == 0) {
    static const nghttp2_nv html[] = {NV(":status", "200"), NV("content-type", "text/html")};
    fake_body(c, id, st, html, 2, "<html></html>", 13, NULL, 0);
  } else if (strcmp(what, "two-messages") == 0) {
    static const uint8_t two[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    fake_body(c, id, st, ok_headers, 2, two, sizeof two, ok_trailers, 1);
  } else if (strcmp(what, "bad-bin") == 0) {
    fake_body(c, id, st, ok_headers, 2, empty_msg, 5, bad_bin_trailers, 2);
  } else if (strcmp(what, "huge-prefix") == 0) {
    static const uint8_t huge[] = {0, 0x40, 0, 0, 0};
    fake_body(c, id, st, ok_headers, 2, huge, sizeof huge, ok_trailers, 1);
  } else if (strcmp(what, "truncated") == 0) {
    static const uint8_t half[] = {0, 0, 0, 0, 10, 1, 2, 3};
    fake_body(c, id, st, ok_headers, 2, half, sizeof half, ok_trailers, 1);
  } else if (strcmp(what, "split-junk") == 0) {
    static const uint8_t junk[] = {0, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    st->chunk = 4; /* the message arrives in three DATA frames */
    fake_body(c, id, st, ok_headers, 2, junk, sizeof junk, ok_trailers, 1);
  } else if (strcmp(what, "bad-flag") == 0) {
    static const uint8_t flag7[] = {7, 0, 0, 0, 0};
    fake_body(c, id, st, ok_headers, 2, flag7, sizeof flag7, ok_trailers, 1);
  } else if (strcmp(what, "goaway") == 0) {
    /* Shutting down: streams from this one on were never processed (the client may send
     * them again elsewhere); the connection stays open, this stream unanswered. */
    nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE, id - 2 > 0 ? id - 2 : 0, NGHTTP2_NO_ERROR,
                          NULL, 0);
  } else if (strcmp(what, "drop") == 0) {
    c->close_now = 1; /* the connection dies with the request unanswered */
  } else if (strcmp(what, "garbage") == 0) {
    static const char junk[] = "this is not HTTP/2 at all \x00\x01\x02";
    send(c->fd, junk, sizeof junk, MSG_NOSIGNAL);
    c->close_now = 1;
  } else if (strncmp(what, "status-", 7) == 0) {
    nghttp2_nv nv[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                       {(uint8_t *)"grpc-status", (uint8_t *)what + 7, 11, strlen(what + 7), 0},
                       NV("grpc-message", "fake%20says%20no"), NV("x-t", "trailer")};
    nghttp2_submit_response(c->ng, id, nv, sizeof nv / sizeof nv[0], NULL);
  } else if (strcmp(what, "huge-trailers") == 0) {
    /* 100 KiB of trailing metadata in 25 fields: over the 64 KiB header list the client
     * announces. */
    static char value[4 * 1024];
    static nghttp2_nv trailers[26];
    memset(value, 'v', sizeof value);
    trailers[0] = (nghttp2_nv)NV("grpc-status", "0");
    for (int i = 1; i < 26; i++)
      trailers[i] = (nghttp2_nv){(uint8_t *)"x-huge", (uint8_t *)value, 6, sizeof value, 0};
    fake_body(c, id, st, ok_headers, 2, empty_msg, 5, trailers, 26);
  } else if (strcmp(what, "huge-trailer-field") == 0) {
    /* One trailing field of 100 KiB: more than nghttp2 decodes in one field. */
    static char value[100 * 1024];
    memset(value, 'v', sizeof value);
    static nghttp2_nv trailers[] = {NV("grpc-status", "0"),
                                    {(uint8_t *)"x-huge", (uint8_t *)value, 6, sizeof value, 0}};
    fake_body(c, id, st, ok_headers, 2, empty_msg, 5, trailers, 2);
  } else if (strcmp(what, "gzip-bomb") == 0) {
    static const nghttp2_nv gz[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                                    NV("grpc-encoding", "gzip")};
    size_t len;
    const uint8_t *bomb = fake_gzip_bomb(&len);
    fake_body(c, id, st, gz, 3, bomb, len, ok_trailers, 1);
  } else if (strcmp(what, "endless-data") == 0) {
    static const uint8_t msgs[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    st->endless = 1; /* empty messages for as long as the client takes them */
    fake_body(c, id, st, ok_headers, 2, msgs, sizeof msgs, NULL, 0);
  } else if (strcmp(what, "rst-mid-message") == 0) {
    static const uint8_t half[] = {0, 0, 0, 0, 10, 1, 2, 3};
    st->rst_after = 1; /* half a message, then RST_STREAM INTERNAL_ERROR */
    fake_body(c, id, st, ok_headers, 2, half, sizeof half, NULL, 0);
  } else if (strcmp(what, "bad-hpack") == 0) {
    /* HEADERS whose block refers to HPACK index 2^28: no such entry (a COMPRESSION_ERROR for
     * the whole connection), written past nghttp2, which would never send it. */
    nghttp2_session_send(c->ng);
    const uint8_t frame[] = {0, 0, 5, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS,
                             (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
                             (uint8_t)id, 0xff, 0xff, 0xff, 0xff, 0x7f};
    send(c->fd, frame, sizeof frame, MSG_NOSIGNAL);
  } else if (strcmp(what, "unknown-code") == 0) {
    static const nghttp2_nv nv[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                                    NV("grpc-status", "99")};
    nghttp2_submit_response(c->ng, id, nv, 3, NULL);
  } else {
    fake_body(c, id, st, ok_headers, 2, empty_msg, 5, ok_trailers, 1);
  }
}

static int fake_on_frame(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  fake_conn *c = ud;
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  fake_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
  if (st != NULL)
    fake_answer(c, frame->hd.stream_id, st);
  return 0;
}

static int fake_on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
  fake_conn *c = ud;
  fake_stream *st = nghttp2_session_get_stream_user_data(ng, id);
  (void)code;
  for (int i = 0; st != NULL && i < FAKE_MAX_STREAMS; i++)
    if (c->streams[i] == st)
      c->streams[i] = NULL;
  free(st);
  nghttp2_session_set_stream_user_data(ng, id, NULL);
  return 0;
}

static void fake_conn_open(fake_conn *c, int fd)
{
  nghttp2_session_callbacks *cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, fake_send);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, fake_on_begin);
  nghttp2_session_callbacks_set_on_header_callback(cbs, fake_on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, fake_on_frame);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, fake_on_close);
  c->fd = fd;
  c->close_now = 0;
  nghttp2_option *opt;
  nghttp2_option_new(&opt);
  /* huge-trailers: nghttp2 would not send a header block over 64 KiB otherwise. */
  nghttp2_option_set_max_send_header_block_length(opt, 1024 * 1024);
  nghttp2_session_server_new2(&c->ng, cbs, c, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, NULL, 0);
  nghttp2_session_send(c->ng);
}

static void fake_conn_close(fake_conn *c)
{
  nghttp2_session_del(c->ng);
  for (int i = 0; i < FAKE_MAX_STREAMS; i++) {
    free(c->streams[i]); /* streams still open: nghttp2 does not close them for us */
    c->streams[i] = NULL;
  }
  close(c->fd);
  c->fd = -1;
}

static void *fake_main(void *arg)
{
  fakeserver *s = arg;
  for (;;) {
    struct pollfd p[FAKE_MAX_CONNS + 2];
    int map[FAKE_MAX_CONNS + 2];
    int n = 0;
    p[n].fd = s->wake[0];
    p[n++].events = POLLIN;
    p[n].fd = s->lfd;
    p[n++].events = POLLIN;
    for (int i = 0; i < FAKE_MAX_CONNS; i++) {
      if (s->conns[i].fd >= 0) {
        map[n] = i;
        p[n].fd = s->conns[i].fd;
        p[n++].events = POLLIN;
      }
    }
    if (poll(p, (nfds_t)n, -1) < 0)
      continue;
    if (p[0].revents)
      break;
    if (p[1].revents & POLLIN) {
      int fd = accept(s->lfd, NULL, NULL);
      for (int i = 0; fd >= 0 && i < FAKE_MAX_CONNS; i++) {
        if (s->conns[i].fd < 0) {
          fake_conn_open(&s->conns[i], fd);
          fd = -1;
        }
      }
      if (fd >= 0)
        close(fd);
    }
    for (int k = 2; k < n; k++) {
      if (!p[k].revents)
        continue;
      fake_conn *c = &s->conns[map[k]];
      uint8_t buf[16384];
      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r <= 0 || nghttp2_session_mem_recv(c->ng, buf, (size_t)r) < 0) {
        fake_conn_close(c);
        continue;
      }
      nghttp2_session_send(c->ng);
      if (c->close_now)
        fake_conn_close(c);
    }
  }
  for (int i = 0; i < FAKE_MAX_CONNS; i++)
    if (s->conns[i].fd >= 0)
      fake_conn_close(&s->conns[i]);
  return NULL;
}

fakeserver *fakeserver_start(void)
{
  fakeserver *s = calloc(1, sizeof *s);
  __atomic_store_n(&requests_seen, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&refused_once_done, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&dropped_once_done, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&goaway_once_done, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < FAKE_MAX_CONNS; i++)
    s->conns[i].fd = -1;
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->lfd, 16) != 0 ||
      getsockname(s->lfd, (struct sockaddr *)&sa, &len) != 0 || pipe(s->wake) != 0) {
    free(s);
    return NULL;
  }
  s->port = ntohs(sa.sin_port);
  pthread_create(&s->thread, NULL, fake_main, s);
  return s;
}

int fakeserver_requests(void)
{
  return __atomic_load_n(&requests_seen, __ATOMIC_RELAXED);
}

int fakeserver_port(const fakeserver *s)
{
  return s->port;
}

void fakeserver_stop(fakeserver *s)
{
  if (s == NULL)
    return;
  if (write(s->wake[1], "x", 1) != 1)
    abort();
  pthread_join(s->thread, NULL);
  close(s->lfd);
  close(s->wake[0]);
  close(s->wake[1]);
  free(s);
}
