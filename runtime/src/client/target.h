/* Internal: a channel's target, as written by the user, parsed. */
#ifndef CGRPC_TARGET_H
#define CGRPC_TARGET_H

#include "transport/sock.h"

#define CGRPC_TARGET_MAX_ADDRS 32

/* Where to connect: a name to resolve, or a fixed list of addresses (ipv4:/ipv6: lists and
 * unix:). */
typedef struct cgrpc_target {
  int fixed;
  char host[256]; /* "" for unix: */
  char port[8];
  cgrpc_sockaddr addrs[CGRPC_TARGET_MAX_ADDRS];
  int naddrs;
} cgrpc_target;

/* Parses a channel target ("host:port", "dns:///host:port", "ipv4:a:p,b:p",
 * "ipv6:[a]:p,[b]:p", "unix:/path").  Returns 0 or CGRPC_ERR_BAD_TARGET. */
int cgrpc_target_parse(cgrpc_target *t, const char *target);

/* The authority a target names by default: "host:port" ("[host]:port" for IPv6), the first
 * entry's of a list, "localhost" for unix:. */
void cgrpc_target_authority(const cgrpc_target *t, char *out, size_t cap);

#endif
