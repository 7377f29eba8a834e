/* Server connection lifetime limits (gRFC A9): idle and age, with a grace period. */
#include <nghttp2/nghttp2.h>

#include "base/rand.h"
#include "transport/conn.h" /* cycle: a part of the connection, in a file of its own */
#include "transport/conn_age.h"


static void age_arm(cgrpc_conn *conn, cgrpc_time when)
{
  cgrpc_loop_timer_stop(conn->loop, &conn->age.timer);
  if (cgrpc_loop_timer_start(conn->loop, &conn->age.timer, when) != 0)
    cgrpc_conn_fail(conn, "out of memory (connection age timer)");
}

static void age_goaway(cgrpc_conn *conn, const char *why, cgrpc_time now)
{
  cgrpc_conn_age *a = &conn->age;
  a->draining = 1;
  cgrpc_conn_goaway_graceful(conn, why); /* closes once its calls are done */
  if (a->cfg.grace_ms > 0) {
    a->close_at = now + CGRPC_MS_TO_NS(a->cfg.grace_ms);
    age_arm(conn, a->close_at);
  }
}

static void age_fire(void *ud)
{
  cgrpc_conn *conn = ud;
  cgrpc_conn_age *a = &conn->age;
  if (conn->dead)
    return;
  cgrpc_time now = cgrpc_now();
  if (a->draining) {
    if (a->close_at != 0 && now >= a->close_at)
      cgrpc_conn_fail(conn, "max_connection_age_grace passed"); /* its calls are cancelled */
    else if (a->close_at != 0)
      age_arm(conn, a->close_at);
    return;
  }
  if (a->age_at != 0 && now >= a->age_at) {
    age_goaway(conn, "max_age", now);
    return;
  }
  cgrpc_time next = a->age_at != 0 ? a->age_at : CGRPC_TIME_INFINITE;
  if (a->cfg.idle_ms > 0) {
    /* Idle: no call open, and nothing read (no new call arrived) for idle_ms. */
    cgrpc_time idle_at = conn->ka.last_read + CGRPC_MS_TO_NS(a->cfg.idle_ms);
    if (cgrpc_list_empty(&conn->streams) && now >= idle_at) {
      age_goaway(conn, "max_idle", now);
      return;
    }
    cgrpc_time check = now >= idle_at ? now + CGRPC_MS_TO_NS(a->cfg.idle_ms) : idle_at;
    if (check < next)
      next = check;
  }
  if (next != CGRPC_TIME_INFINITE)
    age_arm(conn, next);
}

void cgrpc_conn_age_start(cgrpc_conn *conn, const cgrpc_conn_age_config *cfg, uint64_t *seed)
{
  cgrpc_conn_age *a = &conn->age;
  a->cfg = *cfg;
  cgrpc_timer_init(&a->timer, age_fire, conn);
  if (cfg->idle_ms <= 0 && cfg->age_ms <= 0)
    return;
  cgrpc_time now = cgrpc_now();
  if (cfg->age_ms > 0) {
    /* A9: +-10%, so that connections made together do not all go at once. */
    double f = 0.9 + 0.2 * cgrpc_rand_uniform(seed);
    a->age_at = now + (cgrpc_time)((double)CGRPC_MS_TO_NS(cfg->age_ms) * f);
  }
  cgrpc_time first = a->age_at != 0 ? a->age_at : CGRPC_TIME_INFINITE;
  if (cfg->idle_ms > 0 && now + CGRPC_MS_TO_NS(cfg->idle_ms) < first)
    first = now + CGRPC_MS_TO_NS(cfg->idle_ms);
  age_arm(conn, first);
}

void cgrpc_conn_age_stop(cgrpc_conn *conn)
{
  if (conn->age.timer.cb != NULL)
    cgrpc_loop_timer_stop(conn->loop, &conn->age.timer);
}
