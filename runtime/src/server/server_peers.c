/* Glitch budgets per connection and per client address. */
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "server/server_core.h"
#include "server/server_peers.h"

/* Addresses share slots by hash: a slot taken by another address starts over (so the table
 * stays small; an address that loses its slot gets a fresh budget, never a spent one). */
#define PEER_SLOTS 1024

typedef struct peer_slot {
  char addr[64]; /* without the port: a client's connections share it */
  cgrpc_rate rate;
} peer_slot;

struct cgrpc_server_peers {
  peer_slot slots[PEER_SLOTS];
};

/* The address part of "1.2.3.4:5678" or "[::1]:5678". */
static size_t peer_addr_len(const char *peer)
{
  const char *colon = strrchr(peer, ':');
  return colon != NULL && colon != peer && colon[-1] != ':' ? (size_t)(colon - peer) : strlen(peer);
}

static peer_slot *peer_slot_of(cgrpc_server *srv, const char *peer)
{
  if (srv->peers == NULL) {
    srv->peers = cgrpc_calloc(&srv->alloc, 1, sizeof *srv->peers);
    if (srv->peers == NULL)
      return NULL;
  }
  size_t len = peer_addr_len(peer);
  if (len >= sizeof srv->peers->slots[0].addr)
    len = sizeof srv->peers->slots[0].addr - 1;
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < len; i++)
    h = (h ^ (uint8_t)peer[i]) * 16777619u;
  peer_slot *s = &srv->peers->slots[h % PEER_SLOTS];
  if (strncmp(s->addr, peer, len) != 0 || s->addr[len] != '\0') {
    memcpy(s->addr, peer, len);
    s->addr[len] = '\0';
    memset(&s->rate, 0, sizeof s->rate);
  }
  return s;
}

int cgrpc_server_glitch(cgrpc_server *srv, cgrpc_conn *conn)
{
  if (conn->dead || conn->glitched)
    return 0;
  cgrpc_time now = cgrpc_now();
  double burst = srv->glitch_burst, rate = srv->glitch_rate;
  peer_slot *peer = peer_slot_of(srv, conn->peer);
  int ok = cgrpc_rate_take(&conn->glitches, burst, rate, now);
  if (peer != NULL && !cgrpc_rate_take(&peer->rate, burst, rate, now))
    ok = 0;
  if (ok)
    return 1;
  conn->glitched = 1;
  if (cgrpc_rate_take(&srv->glitch_log, 1, 0.1, now)) /* at most one line in 10 s */
    cgrpc_log(CGRPC_LOG_WARNING,
              "%s: too many resets and empty frames (over %.0f, then %.0f/s): GOAWAY "
              "ENHANCE_YOUR_CALM",
              conn->peer, burst, rate);
  cgrpc_conn_terminate(conn, NGHTTP2_ENHANCE_YOUR_CALM);
  return 0;
}

void cgrpc_server_peers_free(cgrpc_server *srv)
{
  cgrpc_free(&srv->alloc, srv->peers);
  srv->peers = NULL;
}
