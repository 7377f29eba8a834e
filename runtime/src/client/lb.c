/* Load balancing: which subchannel (address) an attempt goes to, and the channel's
 * connectivity state.  Policies: pick_first and round_robin. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rand.h"
#include "client/lb.h"

/* ---- addresses ------------------------------------------------------------------------------ */

static int lb_same_addr(const cgrpc_sockaddr *a, const cgrpc_sockaddr *b)
{
  return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* The old subchannel for addr, or NULL. */
static cgrpc_subchannel *lb_find(cgrpc_lb *lb, const cgrpc_sockaddr *addr)
{
  for (int j = 0; j < lb->nsub; j++)
    if (lb_same_addr(&lb->subchannels[j]->addr, addr))
      return lb->subchannels[j];
  return NULL;
}

/* (Re)builds the subchannels from the resolver's answer.  An address already known keeps
 * its subchannel (connections, backoff); the others go -- unless one of them still has
 * connections, and then the old set stays for now.  Returns 0, or nonzero with
 * resolve_why set (the old subchannels stay). */
static int lb_resolve(cgrpc_lb *lb)
{
  cgrpc_target *t = &lb->target;
  if (t->fixed && lb->subchannels != NULL)
    return 0; /* fixed addresses never change */
  cgrpc_sockaddr addrs[CGRPC_TARGET_MAX_ADDRS];
  int n = t->naddrs;
  if (t->fixed) {
    memcpy(addrs, t->addrs, sizeof addrs);
  } else {
    /* Blocking getaddrinfo on the loop thread: fine for numeric hosts and /etc/hosts; it
     * runs only on first use and when every address failed. */
    n = cgrpc_sock_resolve(t->host, t->port, addrs, CGRPC_TARGET_MAX_ADDRS);
    if (n <= 0) {
      snprintf(lb->resolve_why, sizeof lb->resolve_why, "cannot resolve %s", t->host);
      return -1;
    }
  }
  lb->resolve_why[0] = 0;
  for (int j = 0; j < lb->nsub; j++) {
    int kept = 0;
    for (int i = 0; i < n && !kept; i++)
      kept = lb_same_addr(&lb->subchannels[j]->addr, &addrs[i]);
    if (!kept && !cgrpc_list_empty(&lb->subchannels[j]->conns))
      return 0; /* still draining: keep the old set */
  }
  const cgrpc_allocator *alloc = lb->cfg.env.alloc;
  cgrpc_subchannel **subs = cgrpc_calloc(alloc, (size_t)n, sizeof *subs);
  int ok = subs != NULL;
  for (int i = 0; ok && i < n; i++) {
    subs[i] = lb_find(lb, &addrs[i]);
    if (subs[i] == NULL)
      ok = (subs[i] = cgrpc_subchannel_new(&lb->cfg.env, i, &addrs[i])) != NULL;
  }
  if (!ok) {
    for (int i = 0; subs != NULL && i < n; i++)
      if (subs[i] != NULL && lb_find(lb, &addrs[i]) != subs[i])
        cgrpc_subchannel_free(subs[i]);
    cgrpc_free(alloc, subs);
    snprintf(lb->resolve_why, sizeof lb->resolve_why, "out of memory");
    return -1;
  }
  for (int j = 0; j < lb->nsub; j++) {
    int kept = 0;
    for (int i = 0; i < n && !kept; i++)
      kept = subs[i] == lb->subchannels[j];
    if (!kept)
      cgrpc_subchannel_free(lb->subchannels[j]);
  }
  cgrpc_free(alloc, lb->subchannels);
  for (int i = 0; i < n; i++)
    subs[i]->index = i;
  memcpy(t->addrs, addrs, sizeof addrs);
  t->naddrs = n;
  lb->subchannels = subs;
  lb->nsub = n;
  lb->selected = -1;
  lb->pf_next = -1;
  lb->rr_next = 0;
  return 0;
}

/* ---- the state ------------------------------------------------------------------------------- */

static int lb_count(const cgrpc_lb *lb, cgrpc_connectivity_state s)
{
  int n = 0;
  for (int i = 0; i < lb->nsub; i++)
    n += lb->subchannels[i]->state == s;
  return n;
}

static cgrpc_connectivity_state lb_compute_state(const cgrpc_lb *lb)
{
  if (lb->cfg.env.shutting_down)
    return CGRPC_CHANNEL_SHUTDOWN;
  if (lb->resolve_why[0] != 0 && lb_count(lb, CGRPC_CHANNEL_READY) == 0)
    return CGRPC_CHANNEL_TRANSIENT_FAILURE; /* (a READY address still serves) */
  if (lb->cfg.policy == CGRPC_LB_PICK_FIRST) {
    if (lb->selected >= 0)
      return lb->subchannels[lb->selected]->state == CGRPC_CHANNEL_READY
                 ? CGRPC_CHANNEL_READY
                 : CGRPC_CHANNEL_CONNECTING;
    if (lb->pf_next >= 0 || lb_count(lb, CGRPC_CHANNEL_CONNECTING) > 0)
      return CGRPC_CHANNEL_CONNECTING;
    /* A pass that ended with every address failed stays TRANSIENT_FAILURE until the next. */
    return lb->pf_failed ? CGRPC_CHANNEL_TRANSIENT_FAILURE : CGRPC_CHANNEL_IDLE;
  }
  if (lb_count(lb, CGRPC_CHANNEL_READY) > 0)
    return CGRPC_CHANNEL_READY;
  if (lb_count(lb, CGRPC_CHANNEL_CONNECTING) > 0)
    return CGRPC_CHANNEL_CONNECTING;
  if (lb_count(lb, CGRPC_CHANNEL_TRANSIENT_FAILURE) > 0)
    return CGRPC_CHANNEL_TRANSIENT_FAILURE;
  return lb->active ? CGRPC_CHANNEL_CONNECTING : CGRPC_CHANNEL_IDLE;
}

/* Something changed: recompute the state, tell the owner. */
static void lb_changed(cgrpc_lb *lb)
{
  lb->state = lb_compute_state(lb);
  lb->cfg.on_change(lb->cfg.owner);
}

cgrpc_connectivity_state cgrpc_lb_address_state(const cgrpc_lb *lb, int i, const char **name)
{
  *name = lb->subchannels[i]->name;
  return lb->subchannels[i]->state;
}

/* ---- policies -------------------------------------------------------------------------------- */

/* pick_first: tries the addresses from pf_next on, skipping those still backing off. */
static void pf_continue(cgrpc_lb *lb)
{
  while (lb->pf_next >= 0 && lb->pf_next < lb->nsub) {
    cgrpc_subchannel *sc = lb->subchannels[lb->pf_next++];
    if (sc->state == CGRPC_CHANNEL_READY) {
      lb->selected = sc->index;
      lb->pf_next = -1;
      lb->pf_failed = 0;
      return;
    }
    if (cgrpc_subchannel_connect(sc))
      return;
  }
  lb->pf_next = -1; /* every address failed: TRANSIENT_FAILURE */
  lb->pf_failed = 1;
}

/* pick_first: a pass over the addresses, from the first. */
static void pf_start(cgrpc_lb *lb)
{
  lb->pf_next = 0;
  lb->pf_failed = 0;
  pf_continue(lb);
}

/* Nonzero when some address may be tried now (its backoff, if any, has passed). */
static int lb_any_eligible(const cgrpc_lb *lb, cgrpc_time now)
{
  for (int i = 0; i < lb->nsub; i++)
    if (lb->subchannels[i]->reconnect_at == 0 || now >= lb->subchannels[i]->reconnect_at)
      return 1;
  return 0;
}

/* Leaves IDLE: resolves the target if needed and starts connecting as the policy says. */
static void lb_exit_idle(cgrpc_lb *lb)
{
  if (lb->cfg.env.shutting_down)
    return;
  cgrpc_time now = cgrpc_now();
  if (lb->resolve_why[0] != 0 && now < lb->resolve_at)
    return; /* resolving failed a moment ago */
  if (lb->nsub == 0 || lb->resolve_why[0] != 0 ||
      (lb->state == CGRPC_CHANNEL_TRANSIENT_FAILURE && lb_any_eligible(lb, now))) {
    /* First use, or every address failed: ask the resolver (again). */
    if (lb_resolve(lb) != 0) {
      /* Again after a while, also for attempts that wait for ready meanwhile. */
      lb->resolve_at = now + CGRPC_MS_TO_NS(lb->cfg.env.backoff.initial_ms);
      if (cgrpc_loop_timer_start(lb->cfg.env.loop, &lb->resolve_timer, lb->resolve_at) != 0)
        lb->resolve_at = 0;
      lb->state = lb_compute_state(lb);
      return;
    }
  }
  lb->active = 1;
  if (lb->cfg.policy == CGRPC_LB_PICK_FIRST) {
    if (lb->selected >= 0)
      cgrpc_subchannel_connect(lb->subchannels[lb->selected]); /* its connection went away */
    else if (lb->pf_next < 0)
      pf_start(lb);
  } else {
    for (int i = 0; i < lb->nsub; i++)
      if (lb->subchannels[i]->state == CGRPC_CHANNEL_IDLE)
        cgrpc_subchannel_connect(lb->subchannels[i]);
  }
  lb->state = lb_compute_state(lb);
}

void cgrpc_lb_connect(cgrpc_lb *lb)
{
  if (lb->state != CGRPC_CHANNEL_IDLE)
    return;
  lb_exit_idle(lb);
  lb_changed(lb);
}

/* A connection of the policy's choosing, or NULL. */
static cgrpc_conn *lb_choose(cgrpc_lb *lb)
{
  if (lb->cfg.policy == CGRPC_LB_PICK_FIRST)
    return lb->selected >= 0 ? cgrpc_subchannel_pick(lb->subchannels[lb->selected]) : NULL;
  for (int k = 0; k < lb->nsub; k++) {
    int i = (lb->rr_next + k) % lb->nsub;
    if (lb->subchannels[i]->state != CGRPC_CHANNEL_READY)
      continue;
    cgrpc_conn *conn = cgrpc_subchannel_pick(lb->subchannels[i]);
    if (conn != NULL) {
      lb->rr_next = (i + 1) % lb->nsub;
      return conn;
    }
  }
  return NULL;
}

/* Why attempts fail fast in TRANSIENT_FAILURE. */
static void lb_fail_fast(cgrpc_lb *lb, cgrpc_pick *out)
{
  out->code = CGRPC_STATUS_UNAVAILABLE;
  if (lb->resolve_why[0] != 0) {
    snprintf(out->why, sizeof out->why, "%s", lb->resolve_why);
    return;
  }
  const cgrpc_subchannel *last = NULL;
  cgrpc_time next = 0;
  for (int i = 0; i < lb->nsub; i++) {
    const cgrpc_subchannel *sc = lb->subchannels[i];
    if (sc->why[0] != 0)
      last = sc;
    if (sc->reconnect_at != 0 && (next == 0 || sc->reconnect_at < next))
      next = sc->reconnect_at;
  }
  cgrpc_time now = cgrpc_now();
  snprintf(out->why, sizeof out->why, "%s%s (next attempt in %lld ms)",
           lb->nsub > 1 ? "every address failed; last: " : "",
           last != NULL ? last->why : "cannot connect",
           (long long)(next > now ? (next - now) / 1000000 : 0));
}

cgrpc_pick_result cgrpc_lb_pick(cgrpc_lb *lb, int wait_for_ready, int may_connect,
                                cgrpc_pick *out)
{
  out->conn = NULL;
  if (lb->cfg.env.shutting_down) {
    out->code = CGRPC_STATUS_CANCELLED;
    snprintf(out->why, sizeof out->why, "channel closed");
    return CGRPC_PICK_FAIL;
  }
  if ((out->conn = lb_choose(lb)) != NULL)
    return CGRPC_PICK_CONN;
  if (may_connect && (lb->state == CGRPC_CHANNEL_IDLE ||
                      lb->state == CGRPC_CHANNEL_TRANSIENT_FAILURE ||
                      (lb->cfg.policy == CGRPC_LB_PICK_FIRST && lb->selected >= 0))) {
    /* Connects, or (TRANSIENT_FAILURE) tries again once backoffs passed. */
    cgrpc_connectivity_state before = lb->state;
    lb_exit_idle(lb);
    if (lb->state != before)
      lb->cfg.on_change(lb->cfg.owner);
  }
  if (lb->state == CGRPC_CHANNEL_TRANSIENT_FAILURE && !wait_for_ready) {
    lb_fail_fast(lb, out);
    return CGRPC_PICK_FAIL;
  }
  return CGRPC_PICK_QUEUE;
}

/* Resolving failed a while ago: try again if anything wants a connection. */
static void lb_resolve_again(void *ud)
{
  cgrpc_lb *lb = ud;
  if (lb->cfg.env.shutting_down || (lb->cfg.waiting(lb->cfg.owner) == 0 && !lb->active))
    return;
  lb_exit_idle(lb);
  lb_changed(lb);
}

static void lb_change_task(void *ud)
{
  cgrpc_lb *lb = ud;
  if (!lb->cfg.env.shutting_down)
    lb->cfg.on_change(lb->cfg.owner);
}

void cgrpc_lb_stream_freed(cgrpc_lb *lb)
{
  /* After this round of frames, not from inside nghttp2's callbacks. */
  if (lb->cfg.waiting(lb->cfg.owner) > 0 && !lb->cfg.env.shutting_down)
    cgrpc_loop_defer(lb->cfg.env.loop, &lb->change_task);
}

/* A subchannel's state or capacity changed: the policy reacts, the owner hears of it. */
static void lb_on_update(cgrpc_subchannel *sc, void *ud)
{
  cgrpc_lb *lb = ud;
  if (lb->cfg.env.shutting_down) {
    if (lb->cfg.env.live_conns == 0)
      lb->cfg.on_change(lb->cfg.owner);
    return;
  }
  if (lb->cfg.policy == CGRPC_LB_PICK_FIRST) {
    if (sc->state == CGRPC_CHANNEL_READY && lb->selected < 0) {
      lb->selected = sc->index;
      lb->pf_next = -1;
      lb->pf_failed = 0;
    } else if (lb->selected == sc->index && sc->state != CGRPC_CHANNEL_READY &&
               sc->state != CGRPC_CHANNEL_CONNECTING) {
      lb->selected = -1; /* its connection went away: IDLE (or a failed reconnect) */
      if (sc->state == CGRPC_CHANNEL_TRANSIENT_FAILURE)
        pf_start(lb);
    } else if (lb->pf_next > 0 && sc->index == lb->pf_next - 1 &&
               sc->state == CGRPC_CHANNEL_TRANSIENT_FAILURE) {
      pf_continue(lb); /* the address being tried failed: the next one */
    }
    if (lb->selected < 0 && lb->pf_next < 0 && lb->cfg.waiting(lb->cfg.owner) > 0 &&
        sc->state == CGRPC_CHANNEL_IDLE) {
      /* Attempts wait (transparent retries of a lost connection, or attempts waiting for
       * ready when a backoff ended): another pass. */
      pf_start(lb);
    }
  } else if (lb->active && sc->state == CGRPC_CHANNEL_IDLE) {
    cgrpc_subchannel_connect(sc); /* round_robin keeps every address connected */
  }
  lb_changed(lb);
}

void cgrpc_lb_retire(cgrpc_lb *lb, cgrpc_conn *conn)
{
  (void)lb;
  cgrpc_subchannel_retire(conn->owner, conn);
}

/* ---- life ------------------------------------------------------------------------------------ */

void cgrpc_lb_init(cgrpc_lb *lb, const cgrpc_lb_config *cfg, const cgrpc_target *target)
{
  memset(lb, 0, sizeof *lb);
  lb->cfg = *cfg;
  lb->cfg.env.on_update = lb_on_update;
  lb->cfg.env.user_data = lb;
  lb->cfg.env.rng = cgrpc_rand_seed();
  lb->target = *target;
  lb->selected = -1;
  lb->pf_next = -1;
  lb->state = CGRPC_CHANNEL_IDLE;
  cgrpc_task_init(&lb->change_task, lb_change_task, lb);
  cgrpc_timer_init(&lb->resolve_timer, lb_resolve_again, lb);
}

void cgrpc_lb_shutdown(cgrpc_lb *lb)
{
  lb->cfg.env.shutting_down = 1;
  cgrpc_loop_timer_stop(lb->cfg.env.loop, &lb->resolve_timer);
  for (int i = 0; i < lb->nsub; i++)
    cgrpc_subchannel_shutdown(lb->subchannels[i]);
  lb_changed(lb);
}

void cgrpc_lb_free(cgrpc_lb *lb)
{
  for (int i = 0; i < lb->nsub; i++)
    cgrpc_subchannel_free(lb->subchannels[i]);
  cgrpc_free(lb->cfg.env.alloc, lb->subchannels);
  lb->subchannels = NULL;
  lb->nsub = 0;
}
