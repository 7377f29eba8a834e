/* Keepalive pings and their policing (gRFC A8). */
#include <nghttp2/nghttp2.h>

#include "base/log.h"
#include "transport/conn.h" /* cycle: a part of the connection, in a file of its own */
#include "transport/keepalive.h"

static void ka_arm(cgrpc_conn *conn, cgrpc_time when)
{
  cgrpc_loop_timer_stop(conn->loop, &conn->ka.timer);
  if (cgrpc_loop_timer_start(conn->loop, &conn->ka.timer, when) != 0)
    cgrpc_conn_fail(conn, "out of memory (keepalive timer)");
}

static void ka_fire(void *ud)
{
  cgrpc_conn *conn = ud;
  cgrpc_keepalive *ka = &conn->ka;
  if (conn->dead)
    return;
  cgrpc_time now = cgrpc_now();
  if (ka->ping_sent != 0) {
    if (ka->last_read > ka->ping_sent) { /* something came back: the peer is there */
      ka->ping_sent = 0;
    } else {
      cgrpc_log(CGRPC_LOG_WARNING, "%s: keepalive: no answer to a ping within %lld ms; closing",
                conn->peer, (long long)ka->cfg.timeout_ms);
      cgrpc_conn_fail(conn, "keepalive: no answer to a ping within %lld ms",
                      (long long)ka->cfg.timeout_ms);
      return;
    }
  }
  cgrpc_time due = ka->last_read + CGRPC_MS_TO_NS(ka->cfg.time_ms);
  if (now < due) {
    ka_arm(conn, due); /* reads came: not yet */
    return;
  }
  /* A client pings for its calls (A8); a server pings every connection, to find clients
   * that went away without a word. */
  if (!conn->is_server && cgrpc_list_empty(&conn->streams) && !ka->cfg.permit_without_calls) {
    ka_arm(conn, now + CGRPC_MS_TO_NS(ka->cfg.time_ms)); /* nothing to keep alive */
    return;
  }
  /* Like grpc-core, a client pings a quiet connection only so often before it sends
   * something itself: servers (grpc-core's at default settings, ours) count the pings
   * that come while they send nothing, and a third strike is GOAWAY too_many_pings.
   * Pings already answered showed the peer alive; look again after keepalive_time. */
  int max_pings = ka->cfg.max_pings_without_data != 0 ? ka->cfg.max_pings_without_data
                                                     : CGRPC_KEEPALIVE_MAX_PINGS_WITHOUT_DATA;
  if (!conn->is_server && max_pings > 0 && ka->pings_without_data >= max_pings) {
    ka_arm(conn, now + CGRPC_MS_TO_NS(ka->cfg.time_ms));
    return;
  }
  if (nghttp2_submit_ping(conn->ng, NGHTTP2_FLAG_NONE, NULL) != 0) {
    cgrpc_conn_fail(conn, "out of memory (keepalive ping)");
    return;
  }
  cgrpc_conn_kick(conn);
  ka->ping_sent = now;
  ka->pings_without_data++;
  ka_arm(conn, now + CGRPC_MS_TO_NS(ka->cfg.timeout_ms));
}

void cgrpc_keepalive_start(cgrpc_conn *conn, const cgrpc_keepalive_config *cfg)
{
  cgrpc_keepalive *ka = &conn->ka;
  ka->cfg = *cfg;
  if (ka->cfg.timeout_ms <= 0)
    ka->cfg.timeout_ms = CGRPC_KEEPALIVE_TIMEOUT_MS_DEFAULT;
  ka->last_read = cgrpc_now();
  cgrpc_timer_init(&ka->timer, ka_fire, conn);
  if (ka->cfg.time_ms > 0)
    ka_arm(conn, ka->last_read + CGRPC_MS_TO_NS(ka->cfg.time_ms));
}

void cgrpc_keepalive_stop(cgrpc_conn *conn)
{
  if (conn->ka.timer.cb != NULL)
    cgrpc_loop_timer_stop(conn->loop, &conn->ka.timer);
}

void cgrpc_keepalive_on_ping(cgrpc_conn *conn, int ack)
{
  cgrpc_keepalive *ka = &conn->ka;
  cgrpc_time now = cgrpc_now();
  if (ack) {
    if (ka->ping_sent != 0) {
      ka->ping_sent = 0;
      ka_arm(conn, now + CGRPC_MS_TO_NS(ka->cfg.time_ms));
    }
    return;
  }
  if (!conn->is_server || ka->cfg.min_ping_interval_ms <= 0)
    return;
  /* A8: a ping sooner than the policy allows after the previous one is a strike; too many
   * and the client is told to calm down.  Sending headers or data resets the count. */
  int64_t allowed = cgrpc_list_empty(&conn->streams) && !ka->cfg.permit_without_calls
                        ? CGRPC_SERVER_IDLE_PING_INTERVAL_MS
                        : ka->cfg.min_ping_interval_ms;
  if (ka->last_ping_recv != 0 && now - ka->last_ping_recv < CGRPC_MS_TO_NS(allowed) &&
      ++ka->strikes > CGRPC_SERVER_MAX_PING_STRIKES && !conn->goaway_sent_calm) {
    cgrpc_conn_goaway(conn, NGHTTP2_ENHANCE_YOUR_CALM, "too_many_pings");
    conn->goaway_sent_calm = 1;
  }
  ka->last_ping_recv = now;
}

void cgrpc_keepalive_on_send(cgrpc_conn *conn)
{
  conn->ka.last_ping_recv = 0; /* server */
  conn->ka.strikes = 0;
  conn->ka.pings_without_data = 0; /* client */
}
