/* Internal: sockets: addresses, listening, connecting, and the plain-socket transport. */
#ifndef CGRPC_SOCK_H
#define CGRPC_SOCK_H

#include <sys/socket.h>

#include <cgrpc/common.h>

#include "transport/transport.h"

/* A resolved address. */
typedef struct cgrpc_sockaddr {
  struct sockaddr_storage ss;
  socklen_t len;
} cgrpc_sockaddr;

/* Splits "host:port", "[v6]:port" into host and port (copies into host_out,
 * of size host_cap).  Returns 0 or CGRPC_ERR_BAD_TARGET. */
int cgrpc_sock_split_host_port(const char *s, char *host_out, size_t host_cap,
                               const char **port_out);

/* Resolves host:port (numeric or by getaddrinfo) into up to max addresses.
 * Returns the count (>0) or CGRPC_ERR_ADDRESS. */
int cgrpc_sock_resolve(const char *host, const char *port, cgrpc_sockaddr *out, int max);

/* Fills *out for a Unix socket path.  Returns 0 or CGRPC_ERR_ADDRESS (too long). */
int cgrpc_sock_unix_addr(const char *path, cgrpc_sockaddr *out);

/* A non-blocking, close-on-exec socket bound and listening on addr.
 * Returns the fd or CGRPC_ERR_SYSTEM / CGRPC_ERR_ADDRESS with errno set. */
int cgrpc_sock_listen(const cgrpc_sockaddr *addr, int backlog);

/* Starts a non-blocking connect.  Returns the fd (connecting or connected)
 * or CGRPC_ERR_SYSTEM with errno set. */
int cgrpc_sock_connect(const cgrpc_sockaddr *addr);

/* After a connecting fd becomes writable: 0, or the connect's errno. */
int cgrpc_sock_connect_result(int fd);

/* Sets TCP_NODELAY (on TCP sockets) and non-blocking mode on an accepted fd. */
void cgrpc_sock_tune(int fd);

/* "ipv4:1.2.3.4:5", "ipv6:[::1]:5" or "unix:/path" for addr. */
void cgrpc_sock_addr_name(const cgrpc_sockaddr *addr, char *out, size_t cap);

/* The same for the peer or local
 * address of fd (peer nonzero: the peer). */
void cgrpc_sock_name(int fd, int peer, char *out, size_t cap);

/* The port addr is bound to (0 for Unix sockets). */
int cgrpc_sock_local_port(int fd);

/* One read / send (MSG_NOSIGNAL) on a non-blocking fd, EINTR retried: a byte count (0 from
 * read: EOF), CGRPC_TRANSPORT_WANT_READ / _WANT_WRITE, or CGRPC_TRANSPORT_ERROR with *err
 * set to errno. */
ssize_t cgrpc_sock_read(int fd, uint8_t *buf, size_t len, int *err);
ssize_t cgrpc_sock_send(int fd, const uint8_t *buf, size_t len, int *err);

/* Wraps fd in a plain transport (which then owns it).  NULL on no memory. */
cgrpc_transport *cgrpc_sock_transport_new(int fd, const cgrpc_allocator *alloc);

#endif
