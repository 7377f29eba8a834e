/* gRPC length-prefixed messages, gathered across HTTP/2 DATA frames. */
#include <string.h>

#include "base/alloc.h"
#include "wire/frame.h"

void cgrpc_frame_write_prefix(uint8_t out[CGRPC_FRAME_PREFIX], int compressed, uint32_t len)
{
  out[0] = compressed ? 1 : 0;
  out[1] = (uint8_t)(len >> 24);
  out[2] = (uint8_t)(len >> 16);
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
}

void cgrpc_frame_decoder_init(cgrpc_frame_decoder *d, const cgrpc_allocator *alloc,
                              int64_t max_len)
{
  memset(d, 0, sizeof *d);
  d->alloc = alloc;
  d->max_len = max_len;
}

void cgrpc_frame_decoder_clear(cgrpc_frame_decoder *d)
{
  cgrpc_free(d->alloc, d->buf);
  d->buf = NULL;
  d->buf_cap = 0;
  d->prefix_len = 0;
  d->have = 0;
  d->msg_len = 0;
}

/* The smallest buffer a split message starts with. */
#define FRAME_BUF_MIN (16 * 1024)

/* Room for need bytes of the message being gathered: the buffer at least doubles (so copies
 * stay linear), up to the message's size. */
static int frame_reserve(cgrpc_frame_decoder *d, size_t need)
{
  if (need <= d->buf_cap)
    return 0;
  size_t cap = d->buf_cap * 2;
  if (cap < FRAME_BUF_MIN)
    cap = FRAME_BUF_MIN;
  if (cap < need)
    cap = need;
  if (cap > d->msg_len)
    cap = d->msg_len;
  uint8_t *buf = cgrpc_realloc(d->alloc, d->buf, cap);
  if (buf == NULL)
    return CGRPC_ERR_NOMEM;
  d->buf = buf;
  d->buf_cap = cap;
  return 0;
}

int cgrpc_frame_decoder_partial(const cgrpc_frame_decoder *d)
{
  return d->prefix_len > 0;
}

int cgrpc_frame_decoder_feed(cgrpc_frame_decoder *d, const uint8_t *data, size_t len,
                             cgrpc_frame_cb cb, void *user_data, size_t *used)
{
  const uint8_t *start = data;
  for (;;) {
    if (d->prefix_len < CGRPC_FRAME_PREFIX) {
      if (len == 0)
        return 0;
      size_t n = CGRPC_FRAME_PREFIX - d->prefix_len;
      if (n > len)
        n = len;
      memcpy(d->prefix + d->prefix_len, data, n);
      d->prefix_len += n;
      data += n;
      len -= n;
      if (d->prefix_len < CGRPC_FRAME_PREFIX)
        return 0;
      if (d->prefix[0] > 1)
        return CGRPC_ERR_PROTO;
      uint32_t mlen = (uint32_t)d->prefix[1] << 24 | (uint32_t)d->prefix[2] << 16 |
                      (uint32_t)d->prefix[3] << 8 | d->prefix[4];
      if (d->max_len >= 0 && (int64_t)mlen > d->max_len) {
        d->too_large_len = mlen;
        return CGRPC_ERR_TOO_LARGE;
      }
      d->msg_len = mlen;
      d->have = 0;
    }
    int rv;
    if (d->buf == NULL && d->msg_len <= len) {
      /* The whole message is here: hand it over in place. */
      d->prefix_len = 0;
      rv = cb(user_data, data, d->msg_len, d->prefix[0]);
      data += d->msg_len;
      len -= d->msg_len;
    } else {
      if (len == 0)
        return 0; /* nothing to keep yet; the body may still come whole */
      size_t n = d->msg_len - d->have;
      if (n > len)
        n = len;
      if (frame_reserve(d, d->have + n) != 0)
        return CGRPC_ERR_NOMEM;
      memcpy(d->buf + d->have, data, n);
      d->have += n;
      data += n;
      len -= n;
      if (d->have < d->msg_len)
        return 0;
      uint8_t *msg = d->buf;
      cgrpc_allocator alloc = *d->alloc; /* cb may end the decoder's owner */
      d->buf = NULL;
      d->buf_cap = 0;
      d->prefix_len = 0;
      rv = cb(user_data, msg, d->msg_len, d->prefix[0]);
      cgrpc_free(&alloc, msg);
    }
    if (rv < 0)
      return rv;
    if (rv == CGRPC_FRAME_PAUSE) {
      if (used != NULL)
        *used = (size_t)(data - start);
      return rv;
    }
  }
}
