/* Internal: what each client (by address, across its connections) may get wrong per second.
 *
 * "Glitches" are frames that serve no request and cost the server work: streams the client
 * resets, streams the server has to reset because the client broke a rule (flow control,
 * concurrency, header limits), empty DATA frames.  nghttp2 counts a connection's resets, but
 * a client that reconnects starts afresh, so they are counted here too, per connection and per
 * client address: past the limit, the connection ends with GOAWAY ENHANCE_YOUR_CALM, and so
 * does every connection of that address that glitches while its budget is spent. */
#ifndef CGRPC_SERVER_PEERS_H
#define CGRPC_SERVER_PEERS_H

#include "transport/conn.h"

typedef struct cgrpc_server cgrpc_server;

/* One glitch on conn (loop thread).  Returns 1 while within the limits, 0 when conn has been
 * told to go away. */
int cgrpc_server_glitch(cgrpc_server *srv, cgrpc_conn *conn);
/* Frees the table of addresses. */
void cgrpc_server_peers_free(cgrpc_server *srv);

#endif
