/* The TLS transport: mbedTLS over a non-blocking socket.  The handshake runs inside the first
 * reads and writes; its failures become messages that say what went wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>

#include "transport/sock.h"
#include "transport/tls.h"

typedef struct tls_transport {
  cgrpc_transport base;
  cgrpc_tls_ctx *ctx;
  mbedtls_ssl_context ssl;
  int handshake_done;
  size_t write_pending; /* an earlier write returned WANT_*: mbedTLS holds this many bytes */
  uint8_t first[8];     /* the peer's first bytes, to recognise a plaintext peer */
  size_t nfirst;
  char why[224];        /* the failure, in words */
  char *identity;       /* the peer's certificate: "=subject\0san\0...\0" */
} tls_transport;

/* ---- the socket under mbedTLS ------------------------------------------------------------- */

/* Not mbedtls_net_send: it would raise SIGPIPE in the application. */
static int tls_bio_send(void *ud, const unsigned char *buf, size_t len)
{
  tls_transport *t = ud;
  ssize_t n = cgrpc_sock_send(t->base.fd, buf, len, &t->base.last_errno);
  return n >= 0                              ? (int)n
         : n == CGRPC_TRANSPORT_WANT_WRITE ? MBEDTLS_ERR_SSL_WANT_WRITE
                                             : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int tls_bio_recv(void *ud, unsigned char *buf, size_t len)
{
  tls_transport *t = ud;
  ssize_t n = cgrpc_sock_read(t->base.fd, buf, len, &t->base.last_errno);
  if (n > 0 && t->nfirst < sizeof t->first) { /* kept to recognise a plaintext peer */
    size_t k = (size_t)n < sizeof t->first - t->nfirst ? (size_t)n : sizeof t->first - t->nfirst;
    memcpy(t->first + t->nfirst, buf, k);
    t->nfirst += k;
  }
  return n >= 0                             ? (int)n
         : n == CGRPC_TRANSPORT_WANT_READ ? MBEDTLS_ERR_SSL_WANT_READ
                                            : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* ---- failures in words --------------------------------------------------------------------- */

/* The peer's first bytes are not a TLS record: it speaks HTTP/2 (or HTTP/1) in plaintext. */
static int tls_peer_is_plaintext(const tls_transport *t)
{
  if (t->nfirst >= 5 && memcmp(t->first, "PRI *", 5) == 0)
    return 1; /* an HTTP/2 client's preface */
  if (t->nfirst >= 5 && memcmp(t->first, "HTTP/", 5) == 0)
    return 1;
  /* An HTTP/2 server's first frame: SETTINGS (type 4) on stream 0.  TLS records start with
   * a content type of 20..23 instead. */
  return t->nfirst >= 4 && t->first[0] == 0 && t->first[3] == 0x04;
}

static void tls_explain(tls_transport *t, int rv)
{
  const char *side = t->ctx->is_server ? "client" : "server";
  uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
  if (tls_peer_is_plaintext(t)) {
    snprintf(t->why, sizeof t->why, "TLS handshake failed: the %s speaks plaintext, not TLS",
             side);
  } else if (rv == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags != (uint32_t)-1 && flags != 0) {
    const char *what = (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) ? "unknown CA (not signed by a trusted root)"
                       : (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) ? "name mismatch"
                       : (flags & MBEDTLS_X509_BADCERT_EXPIRED)     ? "certificate expired"
                       : (flags & MBEDTLS_X509_BADCERT_FUTURE)      ? "certificate not valid yet"
                       : (flags & MBEDTLS_X509_BADCERT_REVOKED)     ? "certificate revoked"
                                                                    : "certificate rejected";
    int n = snprintf(t->why, sizeof t->why, "TLS handshake failed: %s certificate: %s", side,
                     what);
    if ((flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) && n > 0 && (size_t)n < sizeof t->why &&
        t->ssl.hostname != NULL)
      snprintf(t->why + n, sizeof t->why - (size_t)n, " (not valid for \"%.64s\")",
               t->ssl.hostname);
  } else if (rv == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && t->ssl.in_msg != NULL) {
    /* The peer refused the handshake; its alert says why. */
    int alert = t->ssl.in_msg[1];
    const char *what = alert == MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL
                           ? "no ALPN \"h2\" in common"
                       : alert == MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA ? "it does not trust our certificate (unknown CA)"
                       : alert == MBEDTLS_SSL_ALERT_MSG_BAD_CERT || alert == MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN
                           ? "it rejected our certificate"
                       : alert == MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE
                           ? "no cipher suite, version or certificate acceptable to both"
                       : alert == MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION ? "no TLS version in common"
                                                                           : NULL;
    if (what != NULL)
      snprintf(t->why, sizeof t->why, "TLS handshake failed: the %s refused it: %s", side, what);
    else
      snprintf(t->why, sizeof t->why, "TLS handshake failed: the %s sent alert %d", side, alert);
  } else if (rv == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE ||
             (t->ctx->is_server && rv == MBEDTLS_ERR_SSL_PEER_VERIFY_FAILED)) {
    snprintf(t->why, sizeof t->why, "TLS handshake failed: the client sent no certificate");
  } else if (rv == MBEDTLS_ERR_NET_RECV_FAILED || rv == MBEDTLS_ERR_NET_SEND_FAILED) {
    snprintf(t->why, sizeof t->why, "TLS: %s", strerror(t->base.last_errno));
  } else {
    char detail[128];
    mbedtls_strerror(rv, detail, sizeof detail);
    snprintf(t->why, sizeof t->why, "TLS%s: %s", t->handshake_done ? "" : " handshake failed",
             detail);
  }
}

/* ---- the handshake ------------------------------------------------------------------------- */

/* Keeps the peer certificate's subject and subjectAltNames for handlers. */
static void tls_keep_identity(tls_transport *t)
{
  const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&t->ssl);
  if (crt == NULL || !t->ctx->is_server)
    return;
  char buf[1024];
  buf[0] = '='; /* so that the block never starts with its terminator (empty subjects) */
  int n = mbedtls_x509_dn_gets(buf + 1, sizeof buf - 2, &crt->subject); /* room for 2 NULs */
  if (n < 0)
    return;
  size_t len = (size_t)n + 2;
  for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL && s->buf.p != NULL;
       s = s->next) {
    int tag = s->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK;
    const char *kind = tag == 2 ? "DNS:" : tag == 6 ? "URI:" : tag == 1 ? "email:" : NULL;
    if (kind == NULL || len + 8 + s->buf.len + 2 > sizeof buf ||
        memchr(s->buf.p, 0, s->buf.len) != NULL) /* "admin\0.evil" is not "admin" */
      continue;
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.*s", kind, (int)s->buf.len,
                            (const char *)s->buf.p) + 1;
  }
  buf[len++] = 0;
  t->identity = malloc(len);
  if (t->identity != NULL)
    memcpy(t->identity, buf, len);
}

/* 0 once done, else a CGRPC_TRANSPORT_* code. */
static int tls_handshake(tls_transport *t)
{
  int rv = mbedtls_ssl_handshake(&t->ssl);
  if (rv == MBEDTLS_ERR_SSL_WANT_READ)
    return CGRPC_TRANSPORT_WANT_READ;
  if (rv == MBEDTLS_ERR_SSL_WANT_WRITE)
    return CGRPC_TRANSPORT_WANT_WRITE;
  if (rv != 0) {
    if (rv == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) /* mbedTLS sends no alert of its own */
      mbedtls_ssl_send_alert_message(&t->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                     MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
    tls_explain(t, rv);
    return CGRPC_TRANSPORT_ERROR;
  }
  const char *alpn = mbedtls_ssl_get_alpn_protocol(&t->ssl);
  if (alpn == NULL || strcmp(alpn, "h2") != 0) {
    snprintf(t->why, sizeof t->why, "TLS handshake failed: the %s did not negotiate ALPN \"h2\"",
             t->ctx->is_server ? "client" : "server");
    return CGRPC_TRANSPORT_ERROR;
  }
  t->handshake_done = 1;
  tls_keep_identity(t);
  return 0;
}

/* ---- the transport ------------------------------------------------------------------------- */

static ssize_t tls_result(tls_transport *t, int rv)
{
  if (rv == MBEDTLS_ERR_SSL_WANT_READ)
    return CGRPC_TRANSPORT_WANT_READ;
  if (rv == MBEDTLS_ERR_SSL_WANT_WRITE)
    return CGRPC_TRANSPORT_WANT_WRITE;
  if (rv == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
    return 0;
  tls_explain(t, rv);
  return CGRPC_TRANSPORT_ERROR;
}

/* Reads until len bytes or the socket has no more: mbedTLS may hold decrypted bytes that no
 * readiness event would announce. */
static ssize_t tls_read(cgrpc_transport *base, uint8_t *buf, size_t len)
{
  tls_transport *t = (tls_transport *)base;
  if (!t->handshake_done) {
    int rv = tls_handshake(t);
    if (rv != 0)
      return rv;
  }
  size_t got = 0;
  while (got < len) {
    int rv = mbedtls_ssl_read(&t->ssl, buf + got, len - got);
    if (rv > 0) {
      got += (size_t)rv;
      continue;
    }
    if (got > 0)
      break; /* what we have now; the end or the error comes again next time */
    return rv == 0 || rv == MBEDTLS_ERR_SSL_CONN_EOF ? 0 : tls_result(t, rv);
  }
  return (ssize_t)got;
}

static ssize_t tls_write(cgrpc_transport *base, const uint8_t *buf, size_t len)
{
  tls_transport *t = (tls_transport *)base;
  if (!t->handshake_done) {
    int rv = tls_handshake(t);
    if (rv != 0)
      return rv;
  }
  /* After WANT_*, mbedTLS must be called again with the same bytes (the caller offers them
   * again, perhaps with more behind). */
  if (t->write_pending > 0 && len > t->write_pending)
    len = t->write_pending;
  int rv = mbedtls_ssl_write(&t->ssl, buf, len);
  if (rv >= 0) {
    t->write_pending = 0;
    return rv;
  }
  if (rv == MBEDTLS_ERR_SSL_WANT_WRITE || rv == MBEDTLS_ERR_SSL_WANT_READ) {
    size_t max = (size_t)mbedtls_ssl_get_max_out_record_payload(&t->ssl);
    t->write_pending = len < max ? len : max;
  }
  return tls_result(t, rv);
}

static void tls_destroy(cgrpc_transport *base)
{
  tls_transport *t = (tls_transport *)base;
  if (t->handshake_done)
    mbedtls_ssl_close_notify(&t->ssl); /* best effort: the socket is non-blocking */
  mbedtls_ssl_free(&t->ssl);
  cgrpc_tls_ctx_unref(t->ctx);
  close(base->fd);
  free(t->identity);
  free(t);
}

static const char *tls_error(cgrpc_transport *base)
{
  tls_transport *t = (tls_transport *)base;
  return t->why[0] != 0 ? t->why : NULL;
}

static const char *tls_identity(cgrpc_transport *base)
{
  return ((tls_transport *)base)->identity;
}

static int tls_pending(cgrpc_transport *base)
{
  return mbedtls_ssl_get_bytes_avail(&((tls_transport *)base)->ssl) > 0;
}

static const cgrpc_transport_vtable tls_vtable = {tls_read,  tls_write,    tls_destroy,
                                                  tls_error, tls_identity, tls_pending};

cgrpc_transport *cgrpc_tls_transport_new(int fd, cgrpc_tls_ctx *ctx, const char *hostname)
{
  tls_transport *t = calloc(1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->base.vt = &tls_vtable;
  t->base.fd = fd;
  t->base.secure = 1;
  mbedtls_ssl_init(&t->ssl);
  const char *name = ctx->server_name != NULL ? ctx->server_name : hostname;
  if (mbedtls_ssl_setup(&t->ssl, &ctx->conf) != 0 ||
      (!ctx->is_server && mbedtls_ssl_set_hostname(&t->ssl, name) != 0)) {
    mbedtls_ssl_free(&t->ssl);
    free(t);
    return NULL;
  }
  mbedtls_ssl_set_bio(&t->ssl, t, tls_bio_send, tls_bio_recv, NULL);
  cgrpc_tls_ctx_ref(ctx);
  t->ctx = ctx;
  return &t->base;
}
