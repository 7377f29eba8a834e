/* Channel targets: host:port and dns:, ipv4:/ipv6: address lists, unix: paths. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <cgrpc/common.h>

#include "client/target.h"

/* "a:p,b:p" ("[a]:p,[b]:p" for IPv6): a fixed list of numeric addresses of family af. */
static int target_parse_list(cgrpc_target *t, const char *list, int af)
{
  char entry[300];
  while (*list != 0) {
    size_t len = strcspn(list, ",");
    if (len == 0 || len >= sizeof entry || t->naddrs == CGRPC_TARGET_MAX_ADDRS ||
        (list[len] == ',' && list[len + 1] == 0))
      return CGRPC_ERR_BAD_TARGET;
    memcpy(entry, list, len);
    entry[len] = 0;
    list += len + (list[len] == ',');
    char host[INET6_ADDRSTRLEN];
    const char *port;
    uint8_t bin[sizeof(struct in6_addr)];
    if (cgrpc_sock_split_host_port(entry, host, sizeof host, &port) != 0 ||
        strlen(port) >= sizeof t->port || inet_pton(af, host, bin) != 1 ||
        cgrpc_sock_resolve(host, port, &t->addrs[t->naddrs], 1) != 1)
      return CGRPC_ERR_BAD_TARGET;
    if (t->naddrs++ == 0) { /* the first names the authority */
      strcpy(t->host, host);
      strcpy(t->port, port);
    }
  }
  return t->naddrs > 0 ? 0 : CGRPC_ERR_BAD_TARGET;
}

int cgrpc_target_parse(cgrpc_target *t, const char *target)
{
  memset(t, 0, sizeof *t);
  const char *port;
  if (strncmp(target, "unix:", 5) == 0) {
    const char *path = target + 5;
    if (strncmp(path, "//", 2) == 0)
      path += 2; /* unix:///abs/path */
    if (*path == 0 || cgrpc_sock_unix_addr(path, &t->addrs[0]) != 0)
      return CGRPC_ERR_BAD_TARGET;
    t->naddrs = 1;
    t->fixed = 1;
    return 0;
  }
  if (strncmp(target, "ipv4:", 5) == 0 || strncmp(target, "ipv6:", 5) == 0) {
    t->fixed = 1;
    return target_parse_list(t, target + 5, target[3] == '4' ? AF_INET : AF_INET6);
  }
  if (strncmp(target, "dns:///", 7) == 0)
    target += 7;
  else if (strncmp(target, "dns://", 6) == 0)
    return CGRPC_ERR_BAD_TARGET; /* a DNS server of its own: not supported */
  else if (strncmp(target, "dns:", 4) == 0)
    target += 4;
  if (cgrpc_sock_split_host_port(target, t->host, sizeof t->host, &port) != 0 ||
      strlen(port) >= sizeof t->port)
    return CGRPC_ERR_BAD_TARGET;
  strcpy(t->port, port);
  return 0;
}

void cgrpc_target_authority(const cgrpc_target *t, char *out, size_t cap)
{
  if (t->host[0] == 0)
    snprintf(out, cap, "localhost"); /* unix: */
  else
    snprintf(out, cap, strchr(t->host, ':') ? "[%s]:%s" : "%s:%s", t->host, t->port);
}
