/* Internal: one gRPC stream on an HTTP/2 connection, the same engine for client attempts
 * and server calls.  Outgoing: a queue of framed messages that the data provider hands to
 * the connection without a copy, deferring while the queue is empty and resuming when more
 * comes.  Incoming: DATA reassembled into messages, decompressed, handed to the owner; when
 * the owner's queue is full (counted by the messages' inflated size), decoding pauses and the
 * peer's stream window is held back, so a stream buffers at most one window of raw bytes plus
 * the owner's budget of decoded ones.  Loop thread only. */
#ifndef CGRPC_STREAM_H
#define CGRPC_STREAM_H

#include <nghttp2/nghttp2.h>

#include <cgrpc/status.h>

#include "base/bufq.h"
#include "transport/conn.h"
#include "wire/frame.h"

typedef struct cgrpc_stream cgrpc_stream;

/* What the engine asks of the stream's owner (a client attempt, a server call). */
typedef struct cgrpc_stream_ops {
  /* A whole message: msg is its plain bytes (decompressed if it came compressed, unless
   * pass_compressed), valid during the call.  Returns 0 to go on, CGRPC_FRAME_PAUSE when the owner's queue is full (decoding
   * waits for cgrpc_stream_resume_recv), or -1 when the owner has ended the stream. */
  int (*on_message)(cgrpc_stream *s, const uint8_t *msg, size_t len, int compressed);
  /* The incoming bytes cannot be used (too large, malformed, not decompressible): the owner
   * ends the stream with this status.  The engine decodes nothing more. */
  void (*on_recv_error)(cgrpc_stream *s, cgrpc_code code, const char *msg);
  /* Optional: each outgoing buffer once it went out whole, or was dropped unsent (the
   * owner frees or keeps it).  NULL: buffers are the owner's business. */
  void (*on_buf_done)(cgrpc_stream *s, cgrpc_buf *b);
  /* After cgrpc_stream_end_recv returned 0: every message the peer sent has now been
   * handed over. */
  void (*on_recv_end)(cgrpc_stream *s);
  /* Optional (servers): the last outgoing bytes are being sent; submit the trailers now and
   * return 0 (nonzero resets the stream).  NULL: the last DATA frame ends the stream. */
  int (*on_send_end)(cgrpc_stream *s);
} cgrpc_stream_ops;

struct cgrpc_stream {
  const cgrpc_stream_ops *ops;
  const cgrpc_allocator *alloc;
  cgrpc_conn *conn; /* NULL while not attached */
  int32_t id;

  /* Outgoing. */
  cgrpc_conn_source out;
  unsigned send_closed : 1; /* nothing more will be queued: the stream ends after out */
  unsigned deferred : 1;    /* the data provider waits for more */

  /* Incoming. */
  unsigned paused : 1;    /* the owner is full: DATA waits in held */
  unsigned failed : 1;    /* decoding stopped for good */
  unsigned end_pending : 1; /* the peer has ended its side; on_recv_end once held is decoded */
  unsigned pass_compressed : 1; /* on_message gets compressed messages as they came: the owner
                                 * inflates them (on the thread that reads them) */
  int recv_enc;           /* the peer's grpc-encoding (a cgrpc_encoding) */
  int64_t max_recv;       /* largest message, compressed or not; -1: no limit */
  cgrpc_frame_decoder dec;
  uint8_t *held; /* raw bytes that arrived while paused (at most a stream window) */
  size_t held_off;
  size_t held_len;
  size_t held_cap;
  size_t withheld; /* received bytes whose stream window is not given back yet */
  unsigned gen;    /* bumped when the stream starts over: callbacks may do that */
};

void cgrpc_stream_init(cgrpc_stream *s, const cgrpc_stream_ops *ops, const cgrpc_allocator *alloc,
                       int64_t max_recv);
/* Frees what the engine holds; outgoing buffers go to on_buf_done.  Detaches first. */
void cgrpc_stream_clear(cgrpc_stream *s);
/* Starts over for a new HTTP/2 stream (a client's next attempt): the decoder and what was
 * held are dropped, outgoing buffers too (to on_buf_done). */
void cgrpc_stream_reset_state(cgrpc_stream *s);

/* Binds the engine to stream id of conn (submitted with cgrpc_stream_provider's provider). */
void cgrpc_stream_attach(cgrpc_stream *s, cgrpc_conn *conn, int32_t id);
/* Unbinds it: whatever nghttp2 still holds of the provider resets the stream. */
void cgrpc_stream_detach(cgrpc_stream *s);
/* Nonzero while attached to a live connection. */
static inline int cgrpc_stream_live(const cgrpc_stream *s)
{
  return s->conn != NULL && s->id > 0 && !s->conn->dead;
}

/* ---- outgoing ---- */

/* The data provider to submit the stream's HEADERS with. */
void cgrpc_stream_provider(cgrpc_stream *s, nghttp2_data_provider *prd);
/* Queues b (after what is queued). */
void cgrpc_stream_push(cgrpc_stream *s, cgrpc_buf *b);
/* No more buffers: the stream's side ends once the queue is sent. */
void cgrpc_stream_end_send(cgrpc_stream *s);
/* Wakes a deferred data provider and schedules a write round. */
void cgrpc_stream_flush(cgrpc_stream *s);
/* Sends RST_STREAM with error_code (if attached) and schedules a write round. */
void cgrpc_stream_rst(cgrpc_stream *s, uint32_t error_code);

/* ---- incoming ---- */

/* A DATA chunk of the stream (from on_data_chunk_recv): decodes what it can and gives the
 * window back unless the owner is full.  The connection's window is always given back (one
 * slow stream must not stall the others).  May end the stream through the owner's ops. */
void cgrpc_stream_recv(cgrpc_stream *s, const uint8_t *data, size_t len);
/* DATA for a stream nobody reads any more: only the windows come back. */
void cgrpc_stream_discard(cgrpc_conn *conn, int32_t stream_id, size_t len);
/* The owner has room again: decoding goes on with what was held, and once nothing waits
 * the held-back window goes back to the peer. */
void cgrpc_stream_resume_recv(cgrpc_stream *s);
/* The peer ended its side (END_STREAM).  Returns 1 when every message it sent has been handed
 * over, 0 when some still wait for the owner to make room: then on_recv_end runs once they
 * have been (the engine needs no connection for that). */
int cgrpc_stream_end_recv(cgrpc_stream *s);
/* The owner wants no more messages: what is held (and a message half decoded) is dropped, and
 * a pending end no longer waits. */
void cgrpc_stream_drop_held(cgrpc_stream *s);
/* Nonzero when part of a message has arrived but not the rest (at the end of the stream:
 * truncated). */
int cgrpc_stream_partial(const cgrpc_stream *s);

#endif
