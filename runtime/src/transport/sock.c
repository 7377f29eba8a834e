/* Sockets for TCP and Unix domain streams, and the plain transport over them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/alloc.h"
#include "transport/sock.h"

int cgrpc_sock_split_host_port(const char *s, char *host_out, size_t host_cap,
                               const char **port_out)
{
  const char *colon;
  size_t hlen;
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (end == NULL || end[1] != ':')
      return CGRPC_ERR_BAD_TARGET;
    hlen = (size_t)(end - s - 1);
    s++;
    colon = end + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
      return CGRPC_ERR_BAD_TARGET; /* no port, or an unbracketed IPv6 address */
    hlen = (size_t)(colon - s);
  }
  if (hlen >= host_cap || colon[1] == '\0')
    return CGRPC_ERR_BAD_TARGET;
  for (const char *p = colon + 1; *p != '\0'; p++)
    if (*p < '0' || *p > '9')
      return CGRPC_ERR_BAD_TARGET;
  memcpy(host_out, s, hlen);
  host_out[hlen] = '\0';
  *port_out = colon + 1;
  return 0;
}

int cgrpc_sock_resolve(const char *host, const char *port, cgrpc_sockaddr *out, int max)
{
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  if (host[0] == '\0') {
    host = NULL;
    hints.ai_flags |= AI_PASSIVE;
  }
  int rv = getaddrinfo(host, port, &hints, &res);
  if (rv == EAI_BADFLAGS || (rv != 0 && host != NULL)) {
    hints.ai_flags &= ~AI_ADDRCONFIG; /* loopback-only hosts */
    rv = getaddrinfo(host, port, &hints, &res);
  }
  if (rv != 0)
    return CGRPC_ERR_ADDRESS;
  int n = 0;
  for (struct addrinfo *ai = res; ai != NULL && n < max; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof out[n].ss)
      continue;
    memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
    out[n].len = ai->ai_addrlen;
    n++;
  }
  freeaddrinfo(res);
  return n > 0 ? n : CGRPC_ERR_ADDRESS;
}

int cgrpc_sock_unix_addr(const char *path, cgrpc_sockaddr *out)
{
  struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof un->sun_path)
    return CGRPC_ERR_ADDRESS;
  memset(un, 0, sizeof *un);
  un->sun_family = AF_UNIX;
  memcpy(un->sun_path, path, len);
  out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  return 0;
}

int cgrpc_sock_listen(const cgrpc_sockaddr *addr, int backlog)
{
  int family = addr->ss.ss_family;
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return CGRPC_ERR_SYSTEM;
  if (family == AF_UNIX) {
    /* Replace a stale socket, never anything else. */
    const char *path = ((const struct sockaddr_un *)&addr->ss)->sun_path;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
      unlink(path);
  } else {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 || listen(fd, backlog) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return CGRPC_ERR_ADDRESS;
  }
  return fd;
}

int cgrpc_sock_connect(const cgrpc_sockaddr *addr)
{
  int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return CGRPC_ERR_SYSTEM;
  if (addr->ss.ss_family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 && errno != EINPROGRESS &&
      errno != EAGAIN) {
    int e = errno;
    close(fd);
    errno = e;
    return CGRPC_ERR_SYSTEM;
  }
  return fd;
}

int cgrpc_sock_connect_result(int fd)
{
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return errno;
  return err;
}

void cgrpc_sock_tune(int fd)
{
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

void cgrpc_sock_addr_name(const cgrpc_sockaddr *addr, char *out, size_t cap)
{
  char host[INET6_ADDRSTRLEN];
  if (addr->ss.ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&addr->ss;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    snprintf(out, cap, "ipv4:%s:%u", host, ntohs(in->sin_port));
  } else if (addr->ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr->ss;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    snprintf(out, cap, "ipv6:[%s]:%u", host, ntohs(in6->sin6_port));
  } else if (addr->ss.ss_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)&addr->ss;
    snprintf(out, cap, "unix:%s",
             addr->len > offsetof(struct sockaddr_un, sun_path) ? un->sun_path : "");
  } else {
    snprintf(out, cap, "unknown");
  }
}

void cgrpc_sock_name(int fd, int peer, char *out, size_t cap)
{
  cgrpc_sockaddr a;
  a.len = sizeof a.ss;
  int rv = peer ? getpeername(fd, (struct sockaddr *)&a.ss, &a.len)
                : getsockname(fd, (struct sockaddr *)&a.ss, &a.len);
  if (rv != 0) {
    snprintf(out, cap, "unknown");
    return;
  }
  cgrpc_sock_addr_name(&a, out, cap);
}

int cgrpc_sock_local_port(int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

/* ---- the plain transport --------------------------------------------------- */

typedef struct sock_transport {
  cgrpc_transport base;
  cgrpc_allocator alloc;
} sock_transport;

ssize_t cgrpc_sock_read(int fd, uint8_t *buf, size_t len, int *err)
{
  for (;;) {
    ssize_t n = read(fd, buf, len);
    if (n >= 0)
      return n;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return CGRPC_TRANSPORT_WANT_READ;
    *err = errno;
    return CGRPC_TRANSPORT_ERROR;
  }
}

ssize_t cgrpc_sock_send(int fd, const uint8_t *buf, size_t len, int *err)
{
  for (;;) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
      return n;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return CGRPC_TRANSPORT_WANT_WRITE;
    *err = errno;
    return CGRPC_TRANSPORT_ERROR;
  }
}

static ssize_t sock_read(cgrpc_transport *t, uint8_t *buf, size_t len)
{
  return cgrpc_sock_read(t->fd, buf, len, &t->last_errno);
}

static ssize_t sock_write(cgrpc_transport *t, const uint8_t *buf, size_t len)
{
  return cgrpc_sock_send(t->fd, buf, len, &t->last_errno);
}

static void sock_destroy(cgrpc_transport *t)
{
  sock_transport *st = (sock_transport *)t;
  cgrpc_allocator a = st->alloc;
  close(t->fd);
  cgrpc_free(&a, st);
}

static const cgrpc_transport_vtable sock_vtable = {sock_read, sock_write, sock_destroy, NULL, NULL,
                                                   NULL};

cgrpc_transport *cgrpc_sock_transport_new(int fd, const cgrpc_allocator *alloc)
{
  sock_transport *st = cgrpc_calloc(alloc, 1, sizeof *st);
  if (st == NULL)
    return NULL;
  st->alloc = *alloc;
  st->base.vt = &sock_vtable;
  st->base.fd = fd;
  return &st->base;
}
