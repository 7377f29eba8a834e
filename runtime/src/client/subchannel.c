/* Subchannels: one address, its pool of connections, its state and its reconnect backoff. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/rand.h"
#include "client/subchannel.h"

static int sc_usable(const cgrpc_conn *conn)
{
  return conn->ready && !conn->dead && !conn->goaway_received;
}

/* The state follows from the pool: a usable connection makes it READY; else a connect
 * under way CONNECTING; else a failed connect whose backoff runs TRANSIENT_FAILURE. */
static void sc_update(cgrpc_subchannel *sc)
{
  sc->state = sc->nready > 0              ? CGRPC_CHANNEL_READY
              : sc->connecting != NULL    ? CGRPC_CHANNEL_CONNECTING
              : sc->reconnect_at != 0     ? CGRPC_CHANNEL_TRANSIENT_FAILURE
                                          : CGRPC_CHANNEL_IDLE;
  sc->env->on_update(sc, sc->env->user_data);
}

/* ---- connection events ------------------------------------------------------------------ */

/* A working pool smaller than configured (it just connected, or lost a connection) opens
 * another. */
static void sc_refill(cgrpc_subchannel *sc)
{
  if (sc->nready > 0 && sc->nconns < sc->env->pool_size && !sc->env->shutting_down)
    cgrpc_subchannel_connect(sc);
}

static void sc_on_connected(cgrpc_conn *conn, int err)
{
  cgrpc_subchannel *sc = conn->owner;
  (void)err; /* failures arrive as dead */
  static const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 4 * 1024 * 1024},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 64 * 1024},
  };
  if (cgrpc_conn_start(conn, settings, sizeof settings / sizeof settings[0]) != 0) {
    cgrpc_conn_fail(conn, "cannot start the HTTP/2 session");
    return;
  }
  cgrpc_keepalive_start(conn, &sc->env->keepalive);
  /* READY waits for the server's SETTINGS. */
}

static void sc_on_ready(cgrpc_conn *conn)
{
  cgrpc_subchannel *sc = conn->owner;
  cgrpc_subchannel_env *env = sc->env;
  if (sc->connecting == conn) {
    sc->connecting = NULL;
    cgrpc_loop_timer_stop(env->loop, &sc->connect_timer);
  }
  sc->nready++;
  cgrpc_log(CGRPC_LOG_INFO, "server %s: connected", conn->peer);
  /* The server answered: the backoff starts over. */
  sc->cur_backoff_ms = env->backoff.initial_ms;
  sc->reconnect_at = 0;
  cgrpc_loop_timer_stop(env->loop, &sc->backoff_timer);
  sc->grow_at = 0;
  sc_refill(sc);
  sc_update(sc);
}

static void sc_on_goaway(cgrpc_conn *conn, uint32_t error_code)
{
  cgrpc_subchannel *sc = conn->owner;
  cgrpc_subchannel_env *env = sc->env;
  (void)error_code;
  /* A8: the server found our pings too frequent: halve their rate for the connections to come. */
  if (conn->ka.too_many_pings && env->keepalive.time_ms > 0 && env->keepalive.time_ms < INT64_MAX / 2)
    env->keepalive.time_ms *= 2;
  sc->nconns--;
  sc->nready -= conn->ready;
  sc_refill(sc);
  sc_update(sc);
}

/* The connect failed: no other attempt on this address before the backoff delay (with
 * jitter) passes, and the next delay grows by the multiplier, up to the max. */
static void sc_back_off(cgrpc_subchannel *sc)
{
  cgrpc_subchannel_env *env = sc->env;
  cgrpc_connect_backoff *b = &env->backoff;
  double j = b->jitter * (2 * cgrpc_rand_uniform(&env->rng) - 1);
  int64_t delay = (int64_t)((double)sc->cur_backoff_ms * (1 + j));
  sc->reconnect_at = cgrpc_now() + CGRPC_MS_TO_NS(delay);
  double next = (double)sc->cur_backoff_ms * b->multiplier;
  sc->cur_backoff_ms = next < (double)b->max_ms ? (int64_t)next : b->max_ms;
  if (cgrpc_loop_timer_start(env->loop, &sc->backoff_timer, sc->reconnect_at) != 0)
    sc->reconnect_at = 0; /* out of memory: no timer would end it */
}

static void sc_on_dead(cgrpc_conn *conn)
{
  cgrpc_subchannel *sc = conn->owner;
  cgrpc_subchannel_env *env = sc->env;
  cgrpc_list_remove(&conn->owner_node);
  env->live_conns--;
  if (!conn->goaway_received) {
    sc->nconns--;
    sc->nready -= conn->ready;
  }
  if (!conn->ready) {
    if (sc->connecting == conn) {
      sc->connecting = NULL;
      cgrpc_loop_timer_stop(env->loop, &sc->connect_timer);
    }
    if (sc->nready > 0) {
      /* Growing a working pool failed: not the address's failure; wait before another. */
      sc->grow_at = cgrpc_now() + CGRPC_MS_TO_NS(env->backoff.initial_ms);
    } else if (!env->shutting_down) {
      snprintf(sc->why, sizeof sc->why, "failed to connect to %s: %s", sc->name, conn->error);
      sc_back_off(sc);
    }
  }
  cgrpc_conn_free(conn);
  sc_refill(sc);
  sc_update(sc);
}

/* The connection died: its attempts end UNAVAILABLE (or retry, as their policy says). */
static void sc_fail_streams(cgrpc_conn *conn)
{
  cgrpc_subchannel *sc = conn->owner;
  char why[400];
  snprintf(why, sizeof why, "connection to %s lost: %s", conn->peer, conn->error);
  sc->env->end_streams(conn, CGRPC_STATUS_UNAVAILABLE, why);
}

static const cgrpc_conn_events sc_conn_events = {
    .connected = sc_on_connected,
    .goaway = sc_on_goaway,
    .dead = sc_on_dead,
    .fail_streams = sc_fail_streams,
    .ready = sc_on_ready,
};

static void sc_connect_timeout(void *ud)
{
  cgrpc_subchannel *sc = ud;
  if (sc->connecting != NULL)
    cgrpc_conn_fail(sc->connecting, "connect timed out");
}

static void sc_backoff_done(void *ud)
{
  cgrpc_subchannel *sc = ud;
  sc->reconnect_at = 0;
  sc_update(sc);
}

/* ---- the pool ------------------------------------------------------------------------------ */

int cgrpc_subchannel_connect(cgrpc_subchannel *sc)
{
  cgrpc_subchannel_env *env = sc->env;
  if (sc->connecting != NULL)
    return 1;
  if (env->shutting_down)
    return 0;
  if (sc->nready > 0 && sc->grow_at != 0 && cgrpc_now() < sc->grow_at)
    return 0; /* growing the pool failed a moment ago */
  if (sc->nready == 0 && sc->reconnect_at != 0) {
    if (cgrpc_now() < sc->reconnect_at)
      return 0; /* backing off */
    sc->reconnect_at = 0; /* the timer has not run yet */
    cgrpc_loop_timer_stop(env->loop, &sc->backoff_timer);
  }
  cgrpc_conn *conn;
  if (cgrpc_conn_new(&conn, env->loop, env->alloc, NULL, 0, env->conn_setup,
                     &sc_conn_events, sc) != 0) {
    snprintf(sc->why, sizeof sc->why, "failed to connect to %s: out of memory", sc->name);
    sc_back_off(sc);
    return 0;
  }
  cgrpc_list_push_back(&sc->conns, &conn->owner_node);
  sc->nconns++;
  env->live_conns++;
  sc->connecting = conn;
  if (sc->nready == 0)
    sc->state = CGRPC_CHANNEL_CONNECTING; /* growing a READY pool leaves it READY */
  /* The attempt may take max(min_connect_timeout, the current backoff). */
  int64_t limit = sc->cur_backoff_ms > env->backoff.min_connect_timeout_ms
                      ? sc->cur_backoff_ms
                      : env->backoff.min_connect_timeout_ms;
  if (cgrpc_loop_timer_start(env->loop, &sc->connect_timer, cgrpc_now() + CGRPC_MS_TO_NS(limit)) != 0)
    cgrpc_conn_fail(conn, "out of memory (connect timer)");
  else if (cgrpc_conn_connect(conn, &sc->addr, env->tls, env->tls_host) != 0)
    cgrpc_conn_fail(conn, "connect: %s", strerror(errno));
  return 1;
}

cgrpc_conn *cgrpc_subchannel_pick(cgrpc_subchannel *sc)
{
  cgrpc_conn *best = NULL;
  for (cgrpc_list *n = sc->conns.next; n != &sc->conns; n = n->next) {
    cgrpc_conn *conn = cgrpc_container_of(n, cgrpc_conn, owner_node);
    if (sc_usable(conn) && (best == NULL || conn->nstreams < best->nstreams)) {
      best = conn;
      if (conn->nstreams == 0)
        break; /* none is less busy: no need to look at a large pool's every connection */
    }
  }
  if (best == NULL)
    return NULL;
  uint32_t limit =
      nghttp2_session_get_remote_settings(best->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  if (best->nstreams < limit) {
    /* To the back of the list: among equally busy connections the next call takes the
     * next one. */
    if (best->owner_node.next != &sc->conns) {
      cgrpc_list_remove(&best->owner_node);
      cgrpc_list_push_back(&sc->conns, &best->owner_node);
    }
    return best;
  }
  /* Every connection is full: open another if the pool may grow, and wait for it. */
  if (sc->nconns < sc->env->pool_max && cgrpc_subchannel_connect(sc))
    return NULL;
  return best;
}

void cgrpc_subchannel_retire(cgrpc_subchannel *sc, cgrpc_conn *conn)
{
  if (!conn->goaway_received) {
    conn->goaway_received = 1; /* no new streams here */
    sc->nconns--;
    sc->nready -= conn->ready;
  }
  cgrpc_conn_goaway(conn, NGHTTP2_NO_ERROR, NULL);
  sc_update(sc);
}

void cgrpc_subchannel_shutdown(cgrpc_subchannel *sc)
{
  cgrpc_loop_timer_stop(sc->env->loop, &sc->connect_timer);
  cgrpc_loop_timer_stop(sc->env->loop, &sc->backoff_timer);
  for (cgrpc_list *n = sc->conns.next; n != &sc->conns; n = n->next) {
    cgrpc_conn *conn = cgrpc_container_of(n, cgrpc_conn, owner_node);
    sc->env->end_streams(conn, CGRPC_STATUS_CANCELLED, "channel closed");
    cgrpc_conn_fail(conn, "channel closed");
  }
}

/* ---- life ---------------------------------------------------------------------------------- */

cgrpc_subchannel *cgrpc_subchannel_new(cgrpc_subchannel_env *env, int index,
                                       const cgrpc_sockaddr *addr)
{
  cgrpc_subchannel *sc = cgrpc_calloc(env->alloc, 1, sizeof *sc);
  if (sc == NULL)
    return NULL;
  sc->env = env;
  sc->index = index;
  sc->addr = *addr;
  cgrpc_sock_addr_name(addr, sc->name, sizeof sc->name);
  sc->state = CGRPC_CHANNEL_IDLE;
  cgrpc_list_init(&sc->conns);
  sc->cur_backoff_ms = env->backoff.initial_ms;
  cgrpc_timer_init(&sc->connect_timer, sc_connect_timeout, sc);
  cgrpc_timer_init(&sc->backoff_timer, sc_backoff_done, sc);
  return sc;
}

void cgrpc_subchannel_free(cgrpc_subchannel *sc)
{
  if (sc == NULL)
    return;
  cgrpc_loop_timer_stop(sc->env->loop, &sc->connect_timer);
  cgrpc_loop_timer_stop(sc->env->loop, &sc->backoff_timer);
  cgrpc_free(sc->env->alloc, sc);
}
