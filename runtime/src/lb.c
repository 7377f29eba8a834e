/* Load balancing: which subchannel (address) a call goes to, the channel's connectivity
 * state, and the calls waiting for a connection.  Policies: pick_first and round_robin.
 * Loop thread only, except where noted. */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "channel_internal.h"
#include "client_call.h"
#include "subchannel.h"

/* ---- addresses ------------------------------------------------------------------------------ */

static int lb_same_addr(const cgrpc_sockaddr *a, const cgrpc_sockaddr *b)
{
  return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* The old subchannel for addr, or NULL. */
static cgrpc_subchannel *lb_find(cgrpc_channel *ch, const cgrpc_sockaddr *addr)
{
  for (int j = 0; j < ch->nsub; j++)
    if (lb_same_addr(&ch->subchannels[j]->addr, addr))
      return ch->subchannels[j];
  return NULL;
}

/* (Re)builds the subchannels from the resolver's answer.  An address already known keeps
 * its subchannel (connections, backoff); the others go -- unless one of them still has
 * connections, and then the old set stays for now.  Returns 0, or nonzero with
 * resolve_why set (the old subchannels stay). */
static int lb_resolve(cgrpc_channel *ch)
{
  if (ch->fixed_addrs && ch->subchannels != NULL)
    return 0; /* fixed addresses never change */
  cgrpc_sockaddr addrs[CGRPC_CHANNEL_MAX_ADDRS];
  int n = ch->naddrs;
  if (ch->fixed_addrs) {
    memcpy(addrs, ch->addrs, sizeof addrs);
  } else {
    /* Blocking getaddrinfo on the loop thread: fine for numeric hosts and /etc/hosts; it
     * runs only on first use and when every address failed. */
    n = cgrpc_sock_resolve(ch->host, ch->port, addrs, CGRPC_CHANNEL_MAX_ADDRS);
    if (n <= 0) {
      snprintf(ch->resolve_why, sizeof ch->resolve_why, "cannot resolve %s", ch->host);
      return -1;
    }
  }
  ch->resolve_why[0] = 0;
  for (int j = 0; j < ch->nsub; j++) {
    int kept = 0;
    for (int i = 0; i < n && !kept; i++)
      kept = lb_same_addr(&ch->subchannels[j]->addr, &addrs[i]);
    if (!kept && !cgrpc_list_empty(&ch->subchannels[j]->conns))
      return 0; /* still draining: keep the old set */
  }
  cgrpc_subchannel **subs = cgrpc_calloc(&ch->alloc, (size_t)n, sizeof *subs);
  int ok = subs != NULL;
  for (int i = 0; ok && i < n; i++) {
    subs[i] = lb_find(ch, &addrs[i]);
    if (subs[i] == NULL)
      ok = (subs[i] = cgrpc_subchannel_new(ch, i, &addrs[i])) != NULL;
  }
  if (!ok) {
    for (int i = 0; subs != NULL && i < n; i++)
      if (subs[i] != NULL && lb_find(ch, &addrs[i]) != subs[i])
        cgrpc_subchannel_free(subs[i]);
    cgrpc_free(&ch->alloc, subs);
    snprintf(ch->resolve_why, sizeof ch->resolve_why, "out of memory");
    return -1;
  }
  for (int j = 0; j < ch->nsub; j++) {
    int kept = 0;
    for (int i = 0; i < n && !kept; i++)
      kept = subs[i] == ch->subchannels[j];
    if (!kept)
      cgrpc_subchannel_free(ch->subchannels[j]);
  }
  cgrpc_free(&ch->alloc, ch->subchannels);
  for (int i = 0; i < n; i++)
    subs[i]->index = i;
  memcpy(ch->addrs, addrs, sizeof addrs);
  ch->naddrs = n;
  ch->subchannels = subs;
  ch->nsub = n;
  ch->selected = -1;
  ch->pf_next = -1;
  ch->rr_next = 0;
  return 0;
}

void cgrpc_lb_free(cgrpc_channel *ch)
{
  for (int i = 0; i < ch->nsub; i++)
    cgrpc_subchannel_free(ch->subchannels[i]);
  cgrpc_free(&ch->alloc, ch->subchannels);
  ch->subchannels = NULL;
  ch->nsub = 0;
}

/* ---- the channel's state -------------------------------------------------------------------- */

static int lb_count(const cgrpc_channel *ch, cgrpc_connectivity_state s)
{
  int n = 0;
  for (int i = 0; i < ch->nsub; i++)
    n += ch->subchannels[i]->state == s;
  return n;
}

static cgrpc_connectivity_state lb_compute_state(const cgrpc_channel *ch)
{
  if (ch->shutting_down)
    return CGRPC_CHANNEL_SHUTDOWN;
  if (ch->resolve_why[0] != 0 && lb_count(ch, CGRPC_CHANNEL_READY) == 0)
    return CGRPC_CHANNEL_TRANSIENT_FAILURE; /* (a READY address still serves) */
  if (ch->lb_policy == CGRPC_LB_PICK_FIRST) {
    if (ch->selected >= 0)
      return ch->subchannels[ch->selected]->state == CGRPC_CHANNEL_READY
                 ? CGRPC_CHANNEL_READY
                 : CGRPC_CHANNEL_CONNECTING;
    if (ch->pf_next >= 0 || lb_count(ch, CGRPC_CHANNEL_CONNECTING) > 0)
      return CGRPC_CHANNEL_CONNECTING;
    /* A pass that ended with every address failed stays TRANSIENT_FAILURE until the next. */
    return ch->pf_failed ? CGRPC_CHANNEL_TRANSIENT_FAILURE : CGRPC_CHANNEL_IDLE;
  }
  if (lb_count(ch, CGRPC_CHANNEL_READY) > 0)
    return CGRPC_CHANNEL_READY;
  if (lb_count(ch, CGRPC_CHANNEL_CONNECTING) > 0)
    return CGRPC_CHANNEL_CONNECTING;
  if (lb_count(ch, CGRPC_CHANNEL_TRANSIENT_FAILURE) > 0)
    return CGRPC_CHANNEL_TRANSIENT_FAILURE;
  return ch->active ? CGRPC_CHANNEL_CONNECTING : CGRPC_CHANNEL_IDLE;
}

/* Copies the states where other threads read them, and tells the watcher. */
static void lb_publish(cgrpc_channel *ch)
{
  cgrpc_connectivity_state s = lb_compute_state(ch);
  int changed = s != ch->state;
  ch->state = s;
  pthread_mutex_lock(&ch->state_mu);
  ch->pub_state = s;
  ch->pub_naddrs = ch->nsub;
  for (int i = 0; i < ch->nsub; i++) {
    ch->pub_addr_state[i] = ch->subchannels[i]->state;
    memcpy(ch->pub_addr_name[i], ch->subchannels[i]->name, sizeof ch->pub_addr_name[i]);
  }
  if (changed)
    pthread_cond_broadcast(&ch->state_cv);
  pthread_mutex_unlock(&ch->state_mu);
  if (changed && ch->watcher != NULL)
    ch->watcher(ch, s, ch->watcher_user_data);
}

/* ---- policies ------------------------------------------------------------------------------- */

/* pick_first: tries the addresses from pf_next on, skipping those still backing off. */
static void pf_continue(cgrpc_channel *ch)
{
  while (ch->pf_next >= 0 && ch->pf_next < ch->nsub) {
    cgrpc_subchannel *sc = ch->subchannels[ch->pf_next++];
    if (sc->state == CGRPC_CHANNEL_READY) {
      ch->selected = sc->index;
      ch->pf_next = -1;
      ch->pf_failed = 0;
      return;
    }
    if (cgrpc_subchannel_connect(sc))
      return;
  }
  ch->pf_next = -1; /* every address failed: TRANSIENT_FAILURE */
  ch->pf_failed = 1;
}

/* pick_first: a pass over the addresses, from the first. */
static void pf_start(cgrpc_channel *ch)
{
  ch->pf_next = 0;
  ch->pf_failed = 0;
  pf_continue(ch);
}

/* Nonzero when some address may be tried now (its backoff, if any, has passed). */
static int lb_any_eligible(const cgrpc_channel *ch, cgrpc_time now)
{
  for (int i = 0; i < ch->nsub; i++)
    if (ch->subchannels[i]->reconnect_at == 0 || now >= ch->subchannels[i]->reconnect_at)
      return 1;
  return 0;
}

void cgrpc_lb_exit_idle(cgrpc_channel *ch)
{
  if (ch->shutting_down)
    return;
  cgrpc_time now = cgrpc_now();
  if (ch->resolve_why[0] != 0 && now < ch->resolve_at)
    return; /* resolving failed a moment ago */
  if (ch->nsub == 0 || ch->resolve_why[0] != 0 ||
      (ch->state == CGRPC_CHANNEL_TRANSIENT_FAILURE && lb_any_eligible(ch, now))) {
    /* First use, or every address failed: ask the resolver (again). */
    if (lb_resolve(ch) != 0) {
      /* Again after a while, also for calls that wait for ready meanwhile. */
      ch->resolve_at = now + CGRPC_MS_TO_NS(ch->connect_backoff.initial_ms);
      if (cgrpc_loop_timer_start(ch->loop, &ch->resolve_timer, ch->resolve_at) != 0)
        ch->resolve_at = 0;
      lb_publish(ch);
      return;
    }
  }
  ch->active = 1;
  if (ch->lb_policy == CGRPC_LB_PICK_FIRST) {
    if (ch->selected >= 0)
      cgrpc_subchannel_connect(ch->subchannels[ch->selected]); /* its connection went away */
    else if (ch->pf_next < 0) {
      pf_start(ch);
    }
  } else {
    for (int i = 0; i < ch->nsub; i++)
      if (ch->subchannels[i]->state == CGRPC_CHANNEL_IDLE)
        cgrpc_subchannel_connect(ch->subchannels[i]);
  }
  lb_publish(ch);
}

/* A connection the policy picks for a call, or NULL (the call waits). */
static cgrpc_conn *lb_pick(cgrpc_channel *ch)
{
  if (ch->lb_policy == CGRPC_LB_PICK_FIRST)
    return ch->selected >= 0 ? cgrpc_subchannel_pick(ch->subchannels[ch->selected]) : NULL;
  for (int k = 0; k < ch->nsub; k++) {
    int i = (ch->rr_next + k) % ch->nsub;
    if (ch->subchannels[i]->state != CGRPC_CHANNEL_READY)
      continue;
    cgrpc_conn *conn = cgrpc_subchannel_pick(ch->subchannels[i]);
    if (conn != NULL) {
      ch->rr_next = (i + 1) % ch->nsub;
      return conn;
    }
  }
  return NULL;
}

/* Why calls fail fast in TRANSIENT_FAILURE. */
static void lb_fail_fast(cgrpc_channel *ch, cgrpc_call *call)
{
  if (ch->resolve_why[0] != 0) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_UNAVAILABLE, "%s", ch->resolve_why);
    return;
  }
  const cgrpc_subchannel *last = NULL;
  cgrpc_time next = 0;
  for (int i = 0; i < ch->nsub; i++) {
    const cgrpc_subchannel *sc = ch->subchannels[i];
    if (sc->why[0] != 0)
      last = sc;
    if (sc->reconnect_at != 0 && (next == 0 || sc->reconnect_at < next))
      next = sc->reconnect_at;
  }
  cgrpc_time now = cgrpc_now();
  cgrpc_client_call_abort(call, CGRPC_STATUS_UNAVAILABLE, "%s%s (next attempt in %lld ms)",
                          ch->nsub > 1 ? "every address failed; last: " : "",
                          last != NULL ? last->why : "cannot connect",
                          (long long)(next > now ? (next - now) / 1000000 : 0));
}

/* Sends waiting calls out where the policy now allows; in TRANSIENT_FAILURE fails those
 * that do not wait for ready. */
static void lb_dispatch(cgrpc_channel *ch)
{
  if (cgrpc_list_empty(&ch->pending))
    return;
  cgrpc_list todo;
  cgrpc_list_init(&todo);
  /* Take the whole list: calls that still wait go back to ch->pending. */
  todo.next = ch->pending.next;
  todo.prev = ch->pending.prev;
  todo.next->prev = &todo;
  todo.prev->next = &todo;
  cgrpc_list_init(&ch->pending);
  while (!cgrpc_list_empty(&todo)) {
    cgrpc_call *call = cgrpc_container_of(todo.next, cgrpc_call, node);
    cgrpc_list_remove(&call->node);
    cgrpc_conn *conn = lb_pick(ch);
    if (conn != NULL)
      cgrpc_client_call_submit(call, conn);
    else if (ch->state == CGRPC_CHANNEL_TRANSIENT_FAILURE && !call->wait_for_ready)
      lb_fail_fast(ch, call);
    else
      cgrpc_list_push_back(&ch->pending, &call->node);
  }
}

static void lb_dispatch_task(void *ud)
{
  lb_dispatch(ud);
}

/* Resolving failed a while ago: try again if anything wants a connection. */
static void lb_resolve_again(void *ud)
{
  cgrpc_channel *ch = ud;
  if (ch->shutting_down || (cgrpc_list_empty(&ch->pending) && !ch->active))
    return;
  cgrpc_lb_exit_idle(ch);
  lb_dispatch(ch);
}

void cgrpc_lb_init_tasks(cgrpc_channel *ch)
{
  cgrpc_task_init(&ch->dispatch_task, lb_dispatch_task, ch);
  cgrpc_timer_init(&ch->resolve_timer, lb_resolve_again, ch);
}

void cgrpc_lb_stream_freed(cgrpc_channel *ch)
{
  /* After this round of frames, not from inside nghttp2's callbacks. */
  if (!cgrpc_list_empty(&ch->pending) && !ch->shutting_down)
    cgrpc_loop_defer(ch->loop, &ch->dispatch_task);
}

void cgrpc_lb_update(cgrpc_channel *ch, cgrpc_subchannel *sc)
{
  if (ch->shutting_down) {
    if (ch->live_conns == 0)
      cgrpc_loop_stop(ch->loop);
    return;
  }
  if (ch->lb_policy == CGRPC_LB_PICK_FIRST) {
    if (sc->state == CGRPC_CHANNEL_READY && ch->selected < 0) {
      ch->selected = sc->index;
      ch->pf_next = -1;
      ch->pf_failed = 0;
    } else if (ch->selected == sc->index && sc->state != CGRPC_CHANNEL_READY &&
               sc->state != CGRPC_CHANNEL_CONNECTING) {
      ch->selected = -1; /* its connection went away: IDLE (or a failed reconnect) */
      if (sc->state == CGRPC_CHANNEL_TRANSIENT_FAILURE) {
        pf_start(ch);
      }
    } else if (ch->pf_next > 0 && sc->index == ch->pf_next - 1 &&
               sc->state == CGRPC_CHANNEL_TRANSIENT_FAILURE) {
      pf_continue(ch); /* the address being tried failed: the next one */
    }
    if (ch->selected < 0 && ch->pf_next < 0 && !cgrpc_list_empty(&ch->pending) &&
        sc->state == CGRPC_CHANNEL_IDLE) {
      /* Calls wait (transparent retries of a lost connection, or calls waiting for ready
       * when a backoff ended): another pass. */
      pf_start(ch);
    }
  } else if (ch->active && sc->state == CGRPC_CHANNEL_IDLE) {
    cgrpc_subchannel_connect(sc); /* round_robin keeps every address connected */
  }
  lb_publish(ch);
  lb_dispatch(ch);
}

void cgrpc_channel_start_attempt(cgrpc_channel *ch, cgrpc_call *call)
{
  if (ch->shutting_down) {
    cgrpc_client_call_abort(call, CGRPC_STATUS_CANCELLED, "channel closed");
    return;
  }
  cgrpc_conn *conn = lb_pick(ch);
  if (conn != NULL) {
    cgrpc_client_call_submit(call, conn);
    return;
  }
  if (ch->state == CGRPC_CHANNEL_IDLE || ch->state == CGRPC_CHANNEL_TRANSIENT_FAILURE ||
      (ch->lb_policy == CGRPC_LB_PICK_FIRST && ch->selected >= 0))
    cgrpc_lb_exit_idle(ch); /* connects, or (TRANSIENT_FAILURE) retries once backoffs passed */
  if (ch->state == CGRPC_CHANNEL_TRANSIENT_FAILURE && !call->wait_for_ready) {
    lb_fail_fast(ch, call);
    return;
  }
  cgrpc_list_push_back(&ch->pending, &call->node);
}

void cgrpc_lb_shutdown(cgrpc_channel *ch)
{
  ch->shutting_down = 1;
  cgrpc_loop_timer_stop(ch->loop, &ch->resolve_timer);
  while (!cgrpc_list_empty(&ch->pending)) {
    cgrpc_call *call = cgrpc_container_of(ch->pending.next, cgrpc_call, node);
    cgrpc_client_call_abort(call, CGRPC_STATUS_CANCELLED, "channel closed");
  }
  for (int i = 0; i < ch->nsub; i++)
    cgrpc_subchannel_shutdown(ch->subchannels[i]);
  lb_publish(ch);
  if (ch->live_conns == 0)
    cgrpc_loop_stop(ch->loop);
}
