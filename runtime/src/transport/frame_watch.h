/* Internal: where a peer's bytes stand in its HTTP/2 frames, read alongside nghttp2: between
 * frames, or inside a frame or a header block -- for how long a peer may leave one open. */
#ifndef CGRPC_FRAME_WATCH_H
#define CGRPC_FRAME_WATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct cgrpc_frame_watch {
  uint32_t skip;    /* bytes before the first frame still to come (the client preface) */
  uint32_t left;    /* of the current frame's payload */
  uint8_t hd[9];    /* the current frame's header, as far as it came */
  uint8_t hd_have;  /* 9 while inside a payload */
  uint8_t in_block; /* a header block began (HEADERS, PUSH_PROMISE) and has not ended */
} cgrpc_frame_watch;

/* Before any byte; the first preface bytes are not frames (24 for a server's peer). */
void cgrpc_frame_watch_init(cgrpc_frame_watch *f, uint32_t preface);
/* Follows n more bytes.  Returns 1 when they leave a frame or a header block unfinished, 0
 * when they end between frames (and outside a header block). */
int cgrpc_frame_watch_feed(cgrpc_frame_watch *f, const uint8_t *p, size_t n);

#endif
