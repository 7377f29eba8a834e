/* Internal: the two message queues between a streaming call's application threads and its loop. */
#ifndef CGRPC_PIPE_H
#define CGRPC_PIPE_H

#include <pthread.h>

#include <protobuf-c/protobuf-c.h>

#include "conn.h"

/*
 * Outgoing: the application writes framed messages; the loop takes them into
 * the stream's send queue and reports the bytes sent.  Writers wait (or get
 * CGRPC_ERR_AGAIN) while out_bytes -- written and not yet sent -- is at the
 * limit, so a writer faster than the peer is held back by HTTP/2 flow
 * control plus a bounded buffer.
 *
 * Incoming: the loop delivers decoded messages; readers take them.  The loop
 * gives the peer stream window back only for bytes the application has
 * taken (credit), once more than in_limit bytes wait unread; so a slow
 * reader slows the peer down instead of growing the queue.
 */
typedef struct cgrpc_pipe_msg {
  struct cgrpc_pipe_msg *next;
  void *msg;
  size_t wire;    /* its bytes on the wire, for flow control */
  int compressed; /* it arrived compressed */
} cgrpc_pipe_msg;

typedef struct cgrpc_pipe {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  const cgrpc_allocator *alloc;
  void (*free_msg)(void *msg, void *user_data); /* for messages never read */
  void *free_user_data;

  cgrpc_sendbuf *out_head;
  cgrpc_sendbuf *out_tail;
  size_t out_bytes;
  size_t out_limit;
  int out_closed;      /* the application has closed its side */
  int want_send_ready; /* a try_write got CGRPC_ERR_AGAIN */

  cgrpc_pipe_msg *in_head;
  cgrpc_pipe_msg *in_tail;
  size_t in_bytes; /* delivered and not yet read */
  size_t in_limit;
  size_t withheld; /* received bytes whose window is not given back yet */
  size_t credit;   /* withheld bytes now due back (readers caught up) */
  int in_done;     /* no more messages will come */

  int over; /* the call has ended: everybody stops waiting */
} cgrpc_pipe;

void cgrpc_pipe_init(cgrpc_pipe *p, const cgrpc_allocator *alloc, size_t out_limit, size_t in_limit,
                     void (*free_msg)(void *msg, void *user_data), void *free_user_data);
/* Frees whatever is still queued, both ways. */
void cgrpc_pipe_clear(cgrpc_pipe *p);

/* A sendbuf with room for len bytes after it (data points there), from alloc. */
cgrpc_sendbuf *cgrpc_pipe_buf_new(const cgrpc_allocator *alloc, size_t len);

/* A sendbuf holding msg framed for the wire, compressed with encoding
 * (a cgrpc_encoding) unless that is identity.  A message whose serialised
 * size is over max (max >= 0) is CGRPC_ERR_TOO_LARGE.  Returns NULL with
 * *err set (CGRPC_ERR_TOO_LARGE, CGRPC_ERR_NOMEM) on failure. */
cgrpc_sendbuf *cgrpc_pipe_buf_message(const cgrpc_allocator *alloc, const ProtobufCMessage *msg,
                                      int encoding, int64_t max, int *err);

/* ---- application side (any thread) ---- */

/* Queues b (the pipe takes it on 0).  block: wait for room; else
 * CGRPC_ERR_AGAIN when full (and want_send_ready is set).  CGRPC_ERR_CLOSED
 * when the call is over or the side closed. */
int cgrpc_pipe_write(cgrpc_pipe *p, cgrpc_sendbuf *b, int block);
/* Returns 0, or CGRPC_ERR_CLOSED if already over. */
int cgrpc_pipe_close_out(cgrpc_pipe *p);
/* Takes the next message: 1 with *msg, 0 when done (or over), waiting while
 * empty unless block is 0 (then CGRPC_ERR_AGAIN).  *owe_credit is set when
 * window became due to the peer: the loop should run cgrpc_pipe_take_credit. */
int cgrpc_pipe_read(cgrpc_pipe *p, void **msg, int block, int *owe_credit, int *compressed);
/* Waits until the call is over. */
void cgrpc_pipe_wait_over(cgrpc_pipe *p);

/* ---- loop side ---- */

/* Takes everything written since the last call; *closed says whether the
 * application has closed its side. */
cgrpc_sendbuf *cgrpc_pipe_take_out(cgrpc_pipe *p, int *closed);
/* n bytes went out.  Returns nonzero when a try_write was refused and there
 * is room now (time for on_send_ready). */
int cgrpc_pipe_sent(cgrpc_pipe *p, size_t n);
/* Queues a received message (the pipe owns it). */
void cgrpc_pipe_deliver(cgrpc_pipe *p, void *msg, size_t wire, int compressed);
/* bytes of DATA arrived (after delivering what they completed): returns how
 * many to give back as window now; the rest waits for readers. */
size_t cgrpc_pipe_received(cgrpc_pipe *p, size_t bytes);
/* Window the application's reads have freed since the last call. */
size_t cgrpc_pipe_take_credit(cgrpc_pipe *p);
/* No more messages will come. */
void cgrpc_pipe_in_done(cgrpc_pipe *p);
/* The call is over: waiters return. */
void cgrpc_pipe_set_over(cgrpc_pipe *p);

#endif
