/* The gRPC stream engine shared by client attempts and server calls. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "stream/stream.h"
#include "wire/compress.h"

static void stream_buf_done(cgrpc_bufq *q, cgrpc_buf *b)
{
  cgrpc_stream *s = cgrpc_container_of(q, cgrpc_stream, out.q);
  if (s->ops->on_buf_done != NULL)
    s->ops->on_buf_done(s, b);
}

void cgrpc_stream_init(cgrpc_stream *s, const cgrpc_stream_ops *ops, const cgrpc_allocator *alloc,
                       int64_t max_recv)
{
  memset(s, 0, sizeof *s); /* the decoder's state with it */
  s->ops = ops;
  s->alloc = alloc;
  s->max_recv = max_recv;
  s->out.q.done = stream_buf_done;
  s->dec.alloc = alloc;
  s->dec.max_len = max_recv;
}

void cgrpc_stream_reset_state(cgrpc_stream *s)
{
  s->gen++;
  cgrpc_stream_detach(s);
  cgrpc_bufq_drop(&s->out.q);
  cgrpc_frame_decoder_clear(&s->dec);
  cgrpc_frame_decoder_init(&s->dec, s->alloc, s->max_recv);
  cgrpc_free(s->alloc, s->held);
  s->held = NULL;
  s->held_off = s->held_len = s->held_cap = 0;
  s->withheld = 0;
  s->send_closed = s->deferred = s->paused = s->failed = s->end_pending = 0;
  s->recv_enc = CGRPC_ENCODING_IDENTITY;
}

void cgrpc_stream_clear(cgrpc_stream *s)
{
  s->gen++;
  cgrpc_stream_detach(s);
  cgrpc_bufq_drop(&s->out.q);
  cgrpc_frame_decoder_clear(&s->dec);
  cgrpc_free(s->alloc, s->held);
  s->held = NULL;
  s->held_off = s->held_len = s->held_cap = 0;
}

void cgrpc_stream_attach(cgrpc_stream *s, cgrpc_conn *conn, int32_t id)
{
  s->conn = conn;
  s->id = id;
  s->out.stream_id = id;
}

void cgrpc_stream_detach(cgrpc_stream *s)
{
  s->out.stream_id = 0; /* what nghttp2 still holds of the provider resets the stream */
  s->conn = NULL;
  s->id = 0;
}

/* ---- outgoing ----------------------------------------------------------------------------- */

static ssize_t stream_read_cb(nghttp2_session *ng, int32_t stream_id, uint8_t *buf, size_t length,
                              uint32_t *data_flags, nghttp2_data_source *source, void *ud)
{
  cgrpc_conn_source *src = source->ptr;
  (void)ng;
  (void)buf;
  (void)ud;
  if (src->stream_id != stream_id)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* abandoned: reset it */
  cgrpc_stream *s = cgrpc_container_of(src, cgrpc_stream, out);
  if (src->q.bytes == 0 && !s->send_closed) {
    s->deferred = 1; /* cgrpc_stream_flush resumes it */
    return NGHTTP2_ERR_DEFERRED;
  }
  size_t n = src->q.bytes < length ? src->q.bytes : length;
  *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY; /* the connection copies from src (conn.c) */
  if (n < src->q.bytes || !s->send_closed)
    return (ssize_t)n;
  *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  if (s->ops->on_send_end != NULL) {
    /* The trailers end the stream; they must be submitted before this returns. */
    *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    if (s->ops->on_send_end(s) != 0)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  return (ssize_t)n;
}

void cgrpc_stream_provider(cgrpc_stream *s, nghttp2_data_provider *prd)
{
  prd->source.ptr = &s->out;
  prd->read_callback = stream_read_cb;
}

void cgrpc_stream_push(cgrpc_stream *s, cgrpc_buf *b)
{
  cgrpc_bufq_push(&s->out.q, b);
}

void cgrpc_stream_end_send(cgrpc_stream *s)
{
  s->send_closed = 1;
}

void cgrpc_stream_flush(cgrpc_stream *s)
{
  if (!cgrpc_stream_live(s))
    return;
  if (s->deferred) {
    s->deferred = 0;
    nghttp2_session_resume_data(s->conn->ng, s->id);
  }
  cgrpc_conn_kick(s->conn);
}

void cgrpc_stream_rst(cgrpc_stream *s, uint32_t error_code)
{
  if (!cgrpc_stream_live(s))
    return;
  nghttp2_submit_rst_stream(s->conn->ng, NGHTTP2_FLAG_NONE, s->id, error_code);
  cgrpc_conn_kick(s->conn);
}

/* ---- incoming ----------------------------------------------------------------------------- */

/* Owner callbacks may end the stream and start it over (cgrpc_stream_reset_state bumps gen):
 * after each, the engine checks gen and touches nothing of the old stream if it changed. */

static void stream_fail(cgrpc_stream *s, cgrpc_code code, const char *msg)
{
  s->failed = 1;
  s->ops->on_recv_error(s, code, msg);
}

static int stream_on_frame(void *ud, const uint8_t *msg, size_t len, int compressed)
{
  cgrpc_stream *s = ud;
  uint8_t *plain = NULL;
  if (compressed && s->recv_enc <= CGRPC_ENCODING_IDENTITY) {
    stream_fail(s, CGRPC_STATUS_INTERNAL, "compressed message without a grpc-encoding we support");
    return -1;
  }
  if (compressed && !s->pass_compressed) {
    int rv = cgrpc_decompress((cgrpc_encoding)s->recv_enc, s->alloc, msg, len, s->max_recv,
                              &plain, &len);
    if (rv != 0) {
      char why[96];
      stream_fail(s, cgrpc_decompress_failure(rv, s->max_recv, why, sizeof why), why);
      return -1;
    }
    msg = plain;
  }
  const cgrpc_allocator *alloc = s->alloc;
  unsigned gen = s->gen;
  int rv = s->ops->on_message(s, msg, len, compressed);
  cgrpc_free(alloc, plain);
  if (s->gen != gen)
    return -1; /* the owner ended the stream */
  if (rv < 0)
    s->failed = 1;
  else if (rv == CGRPC_FRAME_PAUSE)
    s->paused = 1;
  return rv;
}

/* Decodes data.  Returns how many bytes were used (all of them unless the owner paused), or
 * -1 when decoding is over for this stream (it failed, or the owner ended it). */
static ssize_t stream_decode(cgrpc_stream *s, const uint8_t *data, size_t len)
{
  unsigned gen = s->gen;
  size_t used = len;
  int rv = cgrpc_frame_decoder_feed(&s->dec, data, len, stream_on_frame, s, &used);
  if (s->gen != gen || s->failed)
    return -1;
  if (rv >= 0)
    return rv == CGRPC_FRAME_PAUSE ? (ssize_t)used : (ssize_t)len;
  char why[96];
  if (rv == CGRPC_ERR_TOO_LARGE) {
    snprintf(why, sizeof why, "received message larger than max (%u vs. %lld)",
             s->dec.too_large_len, (long long)s->max_recv);
    stream_fail(s, CGRPC_STATUS_RESOURCE_EXHAUSTED, why);
  } else if (rv == CGRPC_ERR_PROTO) {
    stream_fail(s, CGRPC_STATUS_INTERNAL, "malformed message prefix");
  } else {
    stream_fail(s, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  }
  return -1;
}

/* Keeps bytes that arrived while paused.  Returns 0, or -1 without memory. */
static int stream_hold(cgrpc_stream *s, const uint8_t *data, size_t len)
{
  if (s->held_off > 0 && s->held_off == s->held_len)
    s->held_off = s->held_len = 0;
  if (s->held_len + len > s->held_cap) {
    if (s->held_off > 0) {
      memmove(s->held, s->held + s->held_off, s->held_len - s->held_off);
      s->held_len -= s->held_off;
      s->held_off = 0;
    }
    if (s->held_len + len > s->held_cap) {
      size_t cap = s->held_cap ? s->held_cap : 16384;
      while (cap < s->held_len + len)
        cap *= 2;
      uint8_t *p = cgrpc_realloc(s->alloc, s->held, cap);
      if (p == NULL)
        return -1;
      s->held = p;
      s->held_cap = cap;
    }
  }
  memcpy(s->held + s->held_len, data, len);
  s->held_len += len;
  return 0;
}

void cgrpc_stream_discard(cgrpc_conn *conn, int32_t stream_id, size_t len)
{
  nghttp2_session_consume_connection(conn->ng, len);
  nghttp2_session_consume_stream(conn->ng, stream_id, len);
}

void cgrpc_stream_recv(cgrpc_stream *s, const uint8_t *data, size_t len)
{
  cgrpc_conn *conn = s->conn;
  int32_t id = s->id;
  /* The connection's window always comes back: one slow stream must not stall the others. */
  nghttp2_session_consume_connection(conn->ng, len);
  if (s->failed) {
    nghttp2_session_consume_stream(conn->ng, id, len);
    return;
  }
  ssize_t used = 0;
  if (!s->paused && (used = stream_decode(s, data, len)) < 0)
    return;
  if (!s->paused) {
    nghttp2_session_consume_stream(conn->ng, id, len);
    return;
  }
  /* The owner is full: the rest waits here, and the window of this chunk with it. */
  s->withheld += len;
  if ((size_t)used < len && stream_hold(s, data + used, len - (size_t)used) != 0)
    stream_fail(s, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
}

void cgrpc_stream_resume_recv(cgrpc_stream *s)
{
  if (!s->paused || s->failed)
    return;
  s->paused = 0;
  while (!s->paused && s->held_off < s->held_len) {
    ssize_t n = stream_decode(s, s->held + s->held_off, s->held_len - s->held_off);
    if (n < 0)
      return;
    s->held_off += (size_t)n;
  }
  if (s->paused)
    return;
  cgrpc_free(s->alloc, s->held); /* caught up: an idle stream holds nothing */
  s->held = NULL;
  s->held_off = s->held_len = s->held_cap = 0;
  size_t n = s->withheld;
  s->withheld = 0;
  if (n > 0 && cgrpc_stream_live(s)) {
    nghttp2_session_consume_stream(s->conn->ng, s->id, n);
    cgrpc_conn_kick(s->conn);
  }
  if (s->end_pending) {
    s->end_pending = 0;
    s->ops->on_recv_end(s);
  }
}

int cgrpc_stream_end_recv(cgrpc_stream *s)
{
  if (s->paused && !s->failed && s->held_off < s->held_len) {
    s->end_pending = 1;
    return 0;
  }
  return 1;
}

void cgrpc_stream_drop_held(cgrpc_stream *s)
{
  cgrpc_free(s->alloc, s->held);
  s->held = NULL;
  s->held_off = s->held_len = s->held_cap = 0;
  cgrpc_frame_decoder_clear(&s->dec);
  s->paused = 0;
  s->end_pending = 0;
}

int cgrpc_stream_partial(const cgrpc_stream *s)
{
  return cgrpc_frame_decoder_partial(&s->dec) || s->held_off < s->held_len;
}
