/* Where a peer's bytes stand in its HTTP/2 frames (frame_watch.h): RFC 9113 4.1 and 6.10. */
#include <string.h>

#include "transport/frame_watch.h"

#define FRAME_HEADER 9
#define TYPE_HEADERS 0x1
#define TYPE_PUSH_PROMISE 0x5
#define TYPE_CONTINUATION 0x9
#define FLAG_END_HEADERS 0x4

void cgrpc_frame_watch_init(cgrpc_frame_watch *f, uint32_t preface)
{
  memset(f, 0, sizeof *f);
  f->skip = preface;
}

/* A frame's header is whole: its payload comes next. */
static void watch_header_done(cgrpc_frame_watch *f)
{
  uint8_t type = f->hd[3], flags = f->hd[4];
  f->left = (uint32_t)f->hd[0] << 16 | (uint32_t)f->hd[1] << 8 | f->hd[2];
  if (type == TYPE_HEADERS || type == TYPE_PUSH_PROMISE)
    f->in_block = !(flags & FLAG_END_HEADERS);
  else if (type == TYPE_CONTINUATION && (flags & FLAG_END_HEADERS))
    f->in_block = 0; /* once its payload is in */
  if (f->left == 0)
    f->hd_have = 0;
}

int cgrpc_frame_watch_feed(cgrpc_frame_watch *f, const uint8_t *p, size_t n)
{
  while (n > 0) {
    size_t k;
    if (f->skip > 0) {
      k = n < f->skip ? n : f->skip;
      f->skip -= (uint32_t)k;
    } else if (f->hd_have < FRAME_HEADER) {
      k = FRAME_HEADER - f->hd_have;
      if (k > n)
        k = n;
      memcpy(f->hd + f->hd_have, p, k);
      f->hd_have += (uint8_t)k;
      if (f->hd_have == FRAME_HEADER)
        watch_header_done(f);
    } else {
      k = n < f->left ? n : f->left;
      f->left -= (uint32_t)k;
      if (f->left == 0)
        f->hd_have = 0;
    }
    p += k;
    n -= k;
  }
  return f->hd_have > 0 || f->in_block;
}
