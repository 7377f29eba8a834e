/* Internal: load balancing over a channel's target -- resolving it, one subchannel per
 * address, the pick_first and round_robin policies -- and the connectivity state that
 * follows.  It only picks: a connection for an attempt, "wait", or "fail, because"; it never
 * calls into the call layers, and tells its owner through on_change when a pick may go
 * otherwise now.  Loop thread only. */
#ifndef CGRPC_LB_H
#define CGRPC_LB_H

#include <nghttp2/nghttp2.h>

#include <cgrpc/channel.h>

#include "base/loop.h"
#include "client/subchannel.h"
#include "client/target.h"
#include "transport/conn.h"
#include "transport/keepalive.h"
#include "transport/sock.h"

typedef enum cgrpc_lb_policy { CGRPC_LB_PICK_FIRST, CGRPC_LB_ROUND_ROBIN } cgrpc_lb_policy;

/* What the load balancer is given by its owner, the channel. */
typedef struct cgrpc_lb_config {
  cgrpc_lb_policy policy;
  /* What subchannels connect with (the load balancer sets its on_update and user_data). */
  cgrpc_subchannel_env env;
  /* Picks may answer otherwise now (a state changed, a stream was freed), or (shutting
   * down) the last connection is gone. */
  void (*on_change)(void *owner);
  /* How many attempts wait for a pick (pick_first starts another pass for them). */
  size_t (*waiting)(void *owner);
  void *owner;
} cgrpc_lb_config;

typedef struct cgrpc_lb {
  cgrpc_lb_config cfg;
  cgrpc_target target;
  cgrpc_subchannel **subchannels; /* one per address, in the resolver's order */
  int nsub;
  int active;    /* left IDLE: round_robin keeps every address connected */
  int selected;  /* pick_first: the subchannel in use, or -1 */
  int pf_next;   /* pick_first: the next address a pass tries; -1: no pass */
  int pf_failed; /* pick_first: the last pass found no address: TRANSIENT_FAILURE */
  int rr_next;   /* round_robin: where the next pick starts */
  char resolve_why[320]; /* why resolving failed, or "" */
  cgrpc_time resolve_at;     /* after a failure: not again before */
  cgrpc_timer resolve_timer; /* ... and then again */
  cgrpc_task change_task;    /* on_change after a stream was freed */
  cgrpc_connectivity_state state;
} cgrpc_lb;

/* What a pick says. */
typedef enum cgrpc_pick_result {
  CGRPC_PICK_CONN,  /* go out on conn */
  CGRPC_PICK_QUEUE, /* wait: on_change will say when to ask again */
  CGRPC_PICK_FAIL   /* fail the attempt with code and why */
} cgrpc_pick_result;

typedef struct cgrpc_pick {
  cgrpc_conn *conn;
  cgrpc_code code;
  char why[448]; /* room for the last address's failure and a few words */
} cgrpc_pick;

/* cfg and target are copied. */
void cgrpc_lb_init(cgrpc_lb *lb, const cgrpc_lb_config *cfg, const cgrpc_target *target);
/* Frees the subchannels (after the last connection is gone). */
void cgrpc_lb_free(cgrpc_lb *lb);

/* A connection for an attempt.  may_connect: a first pick, which may start connecting (an
 * IDLE channel, or one whose backoff has passed); a waiting attempt asking again does not.
 * In TRANSIENT_FAILURE an attempt that does not wait for ready fails. */
cgrpc_pick_result cgrpc_lb_pick(cgrpc_lb *lb, int wait_for_ready, int may_connect,
                                cgrpc_pick *out);

/* Leaves IDLE (cgrpc_channel_get_state's try_to_connect). */
void cgrpc_lb_connect(cgrpc_lb *lb);

/* A stream on one of the connections ended: waiting attempts may fit now (on_change runs
 * after this round of frames). */
void cgrpc_lb_stream_freed(cgrpc_lb *lb);

/* conn has used up its stream ids: no new streams on it. */
void cgrpc_lb_retire(cgrpc_lb *lb, cgrpc_conn *conn);

/* Closing: every connection's streams end CANCELLED and the connections close; on_change
 * runs once the last is gone (live_conns 0). */
void cgrpc_lb_shutdown(cgrpc_lb *lb);

/* The state of address i (0 <= i < nsub) and its name. */
cgrpc_connectivity_state cgrpc_lb_address_state(const cgrpc_lb *lb, int i, const char **name);

#endif
