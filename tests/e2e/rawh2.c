/* A raw HTTP/2 client over nghttp2 and a blocking socket, for hostile-input tests. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "rawh2.h"

struct rawh2 {
  int fd;
  nghttp2_session *ng;
  rawh2_result *res;
  int32_t stream_id;
  const uint8_t *body;
  size_t body_len;
  size_t body_off;
  int dead;
  int ping_acks;
  int goaway;
  uint32_t goaway_code;
  char goaway_debug[64];
};

static ssize_t raw_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *ud)
{
  rawh2 *c = ud;
  (void)ng;
  (void)flags;
  ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
  return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int raw_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                         size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                         void *ud)
{
  rawh2 *c = ud;
  (void)ng;
  (void)flags;
  if (c->res == NULL || frame->hd.stream_id != c->stream_id)
    return 0;
  if (namelen == 7 && memcmp(name, ":status", 7) == 0)
    c->res->http_status = atoi((const char *)value);
  else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
    c->res->grpc_status = atoi((const char *)value);
  else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
    size_t n = valuelen < sizeof c->res->grpc_message - 1 ? valuelen : sizeof c->res->grpc_message - 1;
    memcpy(c->res->grpc_message, value, n);
    c->res->grpc_message[n] = '\0';
  }
  return 0;
}

static int raw_on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                       size_t len, void *ud)
{
  rawh2 *c = ud;
  (void)ng;
  (void)flags;
  (void)data;
  if (c->res != NULL && id == c->stream_id)
    c->res->data_len += len;
  return 0;
}

static int raw_on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
  rawh2 *c = ud;
  (void)ng;
  if (c->res == NULL || id != c->stream_id)
    return 0;
  c->res->closed = 1;
  if (code != NGHTTP2_NO_ERROR || c->res->grpc_status < 0) {
    c->res->reset = code != NGHTTP2_NO_ERROR;
    c->res->reset_code = code;
  }
  return 0;
}

static int raw_on_frame(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
  rawh2 *c = ud;
  (void)ng;
  if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK))
    c->ping_acks++;
  if (frame->hd.type == NGHTTP2_GOAWAY && !c->goaway) {
    c->goaway = 1;
    c->goaway_code = frame->goaway.error_code;
    size_t n = frame->goaway.opaque_data_len < sizeof c->goaway_debug - 1
                   ? frame->goaway.opaque_data_len
                   : sizeof c->goaway_debug - 1;
    if (n > 0)
      memcpy(c->goaway_debug, frame->goaway.opaque_data, n);
    c->goaway_debug[n] = '\0';
  }
  if (c->res != NULL && frame->hd.type == NGHTTP2_RST_STREAM && frame->hd.stream_id == c->stream_id) {
    c->res->reset = 1;
    c->res->reset_code = frame->rst_stream.error_code;
  }
  return 0;
}

static ssize_t raw_read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                             uint32_t *flags, nghttp2_data_source *src, void *ud)
{
  rawh2 *c = ud;
  (void)ng;
  (void)id;
  (void)src;
  size_t n = c->body_len - c->body_off;
  if (n > len)
    n = len;
  memcpy(buf, c->body + c->body_off, n);
  c->body_off += n;
  if (c->body_off == c->body_len)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

rawh2 *rawh2_connect(int port)
{
  rawh2 *c = calloc(1, sizeof *c);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    if (c->fd >= 0)
      close(c->fd);
    free(c);
    return NULL;
  }
  nghttp2_session_callbacks *cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, raw_send);
  nghttp2_session_callbacks_set_on_header_callback(cbs, raw_on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, raw_on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, raw_on_close);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, raw_on_frame);
  nghttp2_option *opt;
  nghttp2_option_new(&opt);
  /* Let us send what a well-behaved client would not. */
  nghttp2_option_set_no_http_messaging(opt, 1);
  nghttp2_session_client_new2(&c->ng, cbs, c, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, NULL, 0);
  nghttp2_session_send(c->ng);
  return c;
}

void rawh2_free(rawh2 *c)
{
  if (c == NULL)
    return;
  nghttp2_session_del(c->ng);
  close(c->fd);
  free(c);
}

/* Reads and processes input for up to timeout_ms or until done(c). */
static int raw_pump(rawh2 *c, int timeout_ms, int (*done)(rawh2 *))
{
  int waited = 0;
  while (!done(c)) {
    if (c->dead || waited >= timeout_ms)
      return -1;
    nghttp2_session_send(c->ng);
    struct pollfd p = {c->fd, POLLIN, 0};
    int n = poll(&p, 1, 10);
    waited += 10;
    if (n <= 0)
      continue;
    uint8_t buf[16384];
    ssize_t r = read(c->fd, buf, sizeof buf);
    if (r <= 0) {
      c->dead = 1;
      continue;
    }
    if (nghttp2_session_mem_recv(c->ng, buf, (size_t)r) < 0)
      c->dead = 1;
  }
  nghttp2_session_send(c->ng);
  return 0;
}

static int raw_stream_done(rawh2 *c)
{
  return c->res->closed;
}

static int32_t raw_submit(rawh2 *c, const char *const *headers, const uint8_t *body, size_t len)
{
  nghttp2_nv nv[32];
  size_t n = 0;
  for (; headers[2 * n] != NULL && n < 32; n++) {
    nv[n].name = (uint8_t *)headers[2 * n];
    nv[n].namelen = strlen(headers[2 * n]);
    nv[n].value = (uint8_t *)headers[2 * n + 1];
    nv[n].valuelen = strlen(headers[2 * n + 1]);
    nv[n].flags = NGHTTP2_NV_FLAG_NONE;
  }
  c->body = body;
  c->body_len = len;
  c->body_off = 0;
  nghttp2_data_provider prd;
  prd.source.ptr = NULL;
  prd.read_callback = raw_read_body;
  return nghttp2_submit_request(c->ng, NULL, nv, n, body != NULL ? &prd : NULL, NULL);
}

int rawh2_request(rawh2 *c, const char *const *headers, const uint8_t *body, size_t len,
                  rawh2_result *res, int timeout_ms)
{
  memset(res, 0, sizeof *res);
  res->grpc_status = -1;
  c->res = res;
  c->stream_id = raw_submit(c, headers, body, len);
  if (c->stream_id < 0)
    return -1;
  int rv = raw_pump(c, timeout_ms, raw_stream_done);
  c->res = NULL;
  return rv;
}

static int raw_body_sent(rawh2 *c)
{
  return c->body_off == c->body_len && !nghttp2_session_want_write(c->ng);
}

int rawh2_request_and_reset(rawh2 *c, const char *const *headers, const uint8_t *body,
                            size_t len)
{
  int32_t id = raw_submit(c, headers, body, len);
  if (id < 0 || raw_pump(c, 10000, raw_body_sent) != 0)
    return -1;
  nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  return nghttp2_session_send(c->ng) == 0 ? 0 : -1;
}

int rawh2_send_raw(rawh2 *c, const void *data, size_t len)
{
  return send(c->fd, data, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int raw_is_dead(rawh2 *c)
{
  return c->dead;
}

int rawh2_wait_closed(rawh2 *c, int timeout_ms)
{
  raw_pump(c, timeout_ms, raw_is_dead);
  return c->dead;
}

static int raw_got_goaway(rawh2 *c)
{
  return c->goaway;
}

int rawh2_ping(rawh2 *c, int timeout_ms)
{
  int before = c->ping_acks;
  if (nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_NONE, NULL) != 0)
    return -1;
  int waited = 0;
  while (c->ping_acks == before && !c->goaway && !c->dead && waited < timeout_ms) {
    raw_pump(c, 10, raw_got_goaway);
    waited += 10;
  }
  return c->ping_acks > before ? 0 : -1;
}

int rawh2_wait_goaway(rawh2 *c, int timeout_ms, uint32_t *code, char *debug, size_t debug_len)
{
  raw_pump(c, timeout_ms, raw_got_goaway);
  if (!c->goaway)
    return 0;
  if (code != NULL)
    *code = c->goaway_code;
  if (debug != NULL && debug_len > 0) {
    strncpy(debug, c->goaway_debug, debug_len - 1);
    debug[debug_len - 1] = '\0';
  }
  return 1;
}
