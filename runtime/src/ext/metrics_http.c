/* The /metrics endpoint: libmicrohttpd on a thread of its own, serving a registry's text. */
#include "config.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ext/metrics_internal.h"

#ifdef HAVE_MICROHTTPD
#include <microhttpd.h>

struct cgrpc_metrics_http {
  struct MHD_Daemon *daemon;
  cgrpc_metrics *m;
  size_t guess; /* the last text's size: the next buffer's first try (atomic) */
};

static enum MHD_Result http_answer(struct MHD_Connection *c, unsigned code, const char *text)
{
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
  if (r == NULL)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  enum MHD_Result rv = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return rv;
}

static enum MHD_Result http_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **req_cls)
{
  (void)version;
  (void)upload_data;
  (void)upload_data_size;
  (void)req_cls;
  cgrpc_metrics_http *h = cls;
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return http_answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
  if (strcmp(url, "/metrics") != 0)
    return http_answer(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
  /* The text may grow between two tries: try until it fits. */
  size_t size = __atomic_load_n(&h->guess, __ATOMIC_RELAXED) + 4096, len;
  char *buf = NULL;
  for (;;) {
    char *bigger = realloc(buf, size);
    if (bigger == NULL) {
      free(buf);
      return http_answer(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    buf = bigger;
    len = cgrpc_metrics_write(h->m, buf, size);
    if (len < size)
      break;
    size = len + 4096;
  }
  __atomic_store_n(&h->guess, len, __ATOMIC_RELAXED);
  struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
  if (r == NULL) {
    free(buf);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CGRPC_METRICS_CONTENT_TYPE);
  enum MHD_Result rv = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return rv;
}

/* "host:port" or "[v6]:port" resolved for a listening socket.  Returns 0 or an error. */
static int http_resolve(const char *address, struct addrinfo **out)
{
  char host[256];
  const char *colon = strrchr(address, ':');
  if (colon == NULL || colon == address || (size_t)(colon - address) >= sizeof host)
    return CGRPC_ERR_INVALID_ARGUMENT;
  const char *h = address;
  size_t hlen = (size_t)(colon - address);
  if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
    h++;
    hlen -= 2;
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || colon[1] == '\0' || port < 0 || port > 65535)
    return CGRPC_ERR_INVALID_ARGUMENT;
  struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM};
  return getaddrinfo(hlen > 0 ? host : NULL, colon + 1, &hints, out) == 0 ? 0 : CGRPC_ERR_ADDRESS;
}

int cgrpc_metrics_http_start(cgrpc_metrics_http **out, cgrpc_metrics *m, const char *address,
                             int *port_out)
{
  if (out == NULL || m == NULL || address == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  struct addrinfo *ai;
  int rv = http_resolve(address, &ai);
  if (rv != 0)
    return rv;
  cgrpc_metrics_http *h = calloc(1, sizeof *h);
  if (h == NULL) {
    freeaddrinfo(ai);
    return CGRPC_ERR_NOMEM;
  }
  h->m = m;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
  if (ai->ai_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  /* Scrapes are small and rare: a few connections, a short timeout for idle ones. */
  h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, http_on_request, h, MHD_OPTION_SOCK_ADDR,
                               ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (h->daemon == NULL) {
    free(h);
    return CGRPC_ERR_ADDRESS;
  }
  if (port_out != NULL) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *port_out = info != NULL ? info->port : 0;
  }
  *out = h;
  return 0;
}

void cgrpc_metrics_http_stop(cgrpc_metrics_http *h)
{
  if (h == NULL)
    return;
  MHD_stop_daemon(h->daemon);
  free(h);
}

#else /* !HAVE_MICROHTTPD */

int cgrpc_metrics_http_start(cgrpc_metrics_http **out, cgrpc_metrics *m, const char *address,
                             int *port_out)
{
  (void)out;
  (void)m;
  (void)address;
  (void)port_out;
  return CGRPC_ERR_STATE; /* built without libmicrohttpd (configure --without-microhttpd) */
}

void cgrpc_metrics_http_stop(cgrpc_metrics_http *h)
{
  (void)h;
}

#endif
