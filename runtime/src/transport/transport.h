/* Internal: a byte stream under an HTTP/2 connection (a plain socket, or TLS). */
#ifndef CGRPC_TRANSPORT_H
#define CGRPC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Results of read and write besides a byte count (0 from read is EOF). */
#define CGRPC_TRANSPORT_WANT_READ (-1)  /* try again when the fd is readable */
#define CGRPC_TRANSPORT_WANT_WRITE (-2) /* try again when the fd is writable */
#define CGRPC_TRANSPORT_ERROR (-3)      /* the stream is broken */

typedef struct cgrpc_transport cgrpc_transport;

typedef struct cgrpc_transport_vtable {
  ssize_t (*read)(cgrpc_transport *t, uint8_t *buf, size_t len);
  ssize_t (*write)(cgrpc_transport *t, const uint8_t *buf, size_t len);
  /* Closes the fd and frees the transport. */
  void (*destroy)(cgrpc_transport *t);
  /* Optional: why the last CGRPC_TRANSPORT_ERROR (or EOF) happened, in words; NULL: see
   * last_errno. */
  const char *(*error)(cgrpc_transport *t);
  /* Optional: the authenticated peer, once known: "=subject\0san\0san\0\0" (a TLS client
   * certificate; '=' first so that an empty subject is not the end); NULL: none. */
  const char *(*peer_identity)(cgrpc_transport *t);
  /* Optional: nonzero when read has bytes to give that no readiness event will announce
   * (TLS: decrypted and buffered inside the library). */
  int (*pending)(cgrpc_transport *t);
} cgrpc_transport_vtable;

struct cgrpc_transport {
  const cgrpc_transport_vtable *vt;
  int fd;
  int last_errno; /* of the failure that produced CGRPC_TRANSPORT_ERROR */
  int secure;     /* TLS */
};

#endif
