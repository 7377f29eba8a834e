/* Internal: the two message queues between a streaming call's application threads and its
 * loop, with backpressure both ways. */
#ifndef CGRPC_PIPE_H
#define CGRPC_PIPE_H

#include <pthread.h>

#include <protobuf-c/protobuf-c.h>

#include <cgrpc/status.h>

#include "base/budget.h"
#include "base/bufq.h"
#include "base/queue.h"

/*
 * Outgoing: the application writes framed messages; the loop takes them into the stream's
 * queue and reports the bytes sent.  Writers wait (or get CGRPC_ERR_AGAIN) while out_bytes
 * -- written and not yet sent -- is at the limit, so a writer faster than the peer is held
 * back by HTTP/2 flow control plus a bounded buffer.
 *
 * Incoming: the loop delivers decoded messages; readers take them.  Messages count by their
 * decoded size (what they cost here, however small they were on the wire); once in_limit
 * bytes wait unread the loop stops decoding (the stream engine holds the peer's window back)
 * until a reader has made room, so a slow reader slows the peer down instead of growing the
 * queue.  A compressed message may wait as it came (cgrpc_pipe_deliver_compressed): the
 * reader's thread inflates and decodes it when it takes it, so the I/O thread never inflates
 * for a reader of its own, and what waits costs what was sent.
 *
 * A writer that may wait also takes what it queues from out_budget, when set: a budget the
 * pipes of one connection share, so that many streams whose peer reads nothing hold at most
 * that much between them.
 */
typedef struct cgrpc_pipe {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  const cgrpc_allocator *alloc;
  void (*free_msg)(void *msg, void *user_data); /* for messages never read */
  void *free_user_data;
  /* Decodes a message delivered compressed (with free_user_data): CGRPC_STATUS_OK and *msg,
   * or the status the call ends with and why. */
  cgrpc_code (*decode)(void *user_data, int encoding, const uint8_t *bytes, size_t len, void **msg,
                       char *why, size_t why_len);
  cgrpc_code fail_code; /* the first message a reader could not decode */
  char fail_why[128];

  cgrpc_queue out; /* of cgrpc_buf */
  size_t out_bytes;
  size_t out_limit;
  int out_closed;      /* the application has closed its side */
  int out_stopped;     /* the peer takes no more: writes fail */
  int want_send_ready; /* a try_write got CGRPC_ERR_AGAIN */
  cgrpc_budget *out_budget; /* or NULL; its owner keeps it alive past cgrpc_pipe_clear */
  size_t out_taken;         /* of it, for bytes queued and not yet sent */

  cgrpc_queue in; /* of cgrpc_pipe_msg */
  size_t in_bytes; /* delivered and not yet read, decoded size */
  size_t in_limit;
  int in_paused; /* the loop stopped decoding on a full queue: the next reader resumes it */
  int in_done;   /* no more messages will come */

  int headers; /* the peer's headers arrived */
  int over;    /* the call has ended: everybody stops waiting */
} cgrpc_pipe;

void cgrpc_pipe_init(cgrpc_pipe *p, const cgrpc_allocator *alloc, size_t out_limit, size_t in_limit,
                     void (*free_msg)(void *msg, void *user_data), void *free_user_data);
/* Frees whatever is still queued, both ways. */
void cgrpc_pipe_clear(cgrpc_pipe *p);

/* ---- application side (any thread) ---- */

/* Queues b (the pipe takes it on 0).  block: wait for room; else CGRPC_ERR_AGAIN when full
 * (and want_send_ready is set).  CGRPC_ERR_CLOSED when the call is over or the side closed. */
int cgrpc_pipe_write(cgrpc_pipe *p, cgrpc_buf *b, int block);
/* Encodes msg for the wire (wire/message.h: compressed with encoding, framed) and writes it
 * as cgrpc_pipe_write does.  Returns 0, CGRPC_ERR_TOO_LARGE (over max), CGRPC_ERR_NOMEM,
 * CGRPC_ERR_AGAIN or CGRPC_ERR_CLOSED. */
int cgrpc_pipe_write_message(cgrpc_pipe *p, const ProtobufCMessage *msg, int encoding, int64_t max,
                             int block);
/* Returns 0, or CGRPC_ERR_CLOSED if already over. */
int cgrpc_pipe_close_out(cgrpc_pipe *p);
/* Takes the next message: 1 with *msg, 0 when done (or over), waiting while empty unless
 * block is 0 (then CGRPC_ERR_AGAIN); CGRPC_ERR_PROTO when it could not be decoded.  *resume is set when this read made room after the loop
 * paused decoding: the loop should run cgrpc_stream_resume_recv. */
int cgrpc_pipe_read(cgrpc_pipe *p, void **msg, int block, int *resume, int *compressed);
/* CGRPC_ERR_PROTO from cgrpc_pipe_read: a message could not be decoded.  Returns the status
 * the call must end with, and why. */
cgrpc_code cgrpc_pipe_read_failure(cgrpc_pipe *p, char *why, size_t why_len);
/* Waits until the call is over. */
void cgrpc_pipe_wait_over(cgrpc_pipe *p);
/* Waits until the peer's headers arrived (returns 1) or the call is over without them (0). */
int cgrpc_pipe_wait_headers(cgrpc_pipe *p);

/* ---- loop side ---- */

/* Moves everything written since the last call to the end of *into; *closed says whether the
 * application has closed its side. */
void cgrpc_pipe_take_out(cgrpc_pipe *p, cgrpc_queue *into, int *closed);
/* n bytes went out.  Returns nonzero when a try_write was refused and there is room now
 * (time for on_send_ready). */
int cgrpc_pipe_sent(cgrpc_pipe *p, size_t n);
/* Queues a received message (the pipe owns it) of size decoded bytes.  Returns
 * CGRPC_FRAME_PAUSE when the queue is full now (decoding should wait; a reader resumes it),
 * CGRPC_ERR_NOMEM when it could not be queued (it is freed: the call must end), else 0. */
int cgrpc_pipe_deliver(cgrpc_pipe *p, void *msg, size_t size, int compressed);
/* Queues a compressed message as it came (copied), for the reader to decode (p->decode must be
 * set).  Returns as cgrpc_pipe_deliver, or CGRPC_ERR_NOMEM. */
int cgrpc_pipe_deliver_compressed(cgrpc_pipe *p, const uint8_t *bytes, size_t len, int encoding);
/* No more messages will come. */
void cgrpc_pipe_in_done(cgrpc_pipe *p);
/* The peer takes no more messages: writers return CGRPC_ERR_CLOSED from now on. */
void cgrpc_pipe_stop_out(cgrpc_pipe *p);
/* The peer's headers arrived. */
void cgrpc_pipe_set_headers(cgrpc_pipe *p);
/* The call is over: waiters return. */
void cgrpc_pipe_set_over(cgrpc_pipe *p);

#endif
