/* Internal: gRPC message framing (a 5-byte prefix, then the message) and its reassembly. */
#ifndef CGRPC_FRAME_H
#define CGRPC_FRAME_H

#include <cgrpc/common.h>

#define CGRPC_FRAME_PREFIX 5

/* Writes the prefix: compressed flag, then the big-endian length. */
void cgrpc_frame_write_prefix(uint8_t out[CGRPC_FRAME_PREFIX], int compressed, uint32_t len);

/* Gets one complete message.  msg is valid during the call only.  A negative return stops
 * decoding and is returned by the feed; CGRPC_FRAME_PAUSE stops it after this message (the
 * receiver is full), and the feed returns it with the bytes used so far. */
#define CGRPC_FRAME_PAUSE 2 /* (other positive values go on, as 0 does) */
typedef int (*cgrpc_frame_cb)(void *user_data, const uint8_t *msg, size_t len, int compressed);

/*
 * Reassembles messages from DATA payloads split anywhere.  A message that
 * arrives whole inside one payload is handed over in place, without a
 * copy; a split one is gathered into one buffer that grows with the bytes
 * that arrive (never more than twice them, nor more than the message): a
 * peer announcing a large message pays for the memory by sending it.
 */
typedef struct cgrpc_frame_decoder {
  const cgrpc_allocator *alloc;
  int64_t max_len; /* -1: no limit */
  uint8_t prefix[CGRPC_FRAME_PREFIX];
  size_t prefix_len;
  uint8_t *buf; /* the message being gathered, or NULL */
  size_t buf_cap;
  size_t msg_len;
  size_t have;
  uint32_t too_large_len; /* the length that made feed fail with TOO_LARGE */
} cgrpc_frame_decoder;

void cgrpc_frame_decoder_init(cgrpc_frame_decoder *d, const cgrpc_allocator *alloc,
                              int64_t max_len);
void cgrpc_frame_decoder_clear(cgrpc_frame_decoder *d);

/* Feeds bytes; calls cb for each complete message.  Returns 0 (all of data used),
 * CGRPC_FRAME_PAUSE from cb (*used, if not NULL, says how many bytes of data were used: feed
 * the rest later), CGRPC_ERR_TOO_LARGE (d->too_large_len says how large), CGRPC_ERR_PROTO
 * (bad flag byte), CGRPC_ERR_NOMEM, or a negative value from cb.  After an error the decoder
 * must only be cleared. */
int cgrpc_frame_decoder_feed(cgrpc_frame_decoder *d, const uint8_t *data, size_t len,
                             cgrpc_frame_cb cb, void *user_data, size_t *used);

/* Nonzero while part of a message has arrived (at end of stream: truncated). */
int cgrpc_frame_decoder_partial(const cgrpc_frame_decoder *d);

#endif
