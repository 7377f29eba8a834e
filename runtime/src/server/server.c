/* Servers: options, listeners, registration, the I/O thread and handler pools, shutdown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/rand.h"
#include "server/server_call.h"
#include "server/server_peers.h"
#include "server/server_core.h"
#include "transport/sock.h"
#include "transport/tls.h"

#define SERVER_ACCEPTS_PER_ROUND 64

/* ---- handler pools ----------------------------------------------------------------------- */

void cgrpc_server_dispatch(cgrpc_server *srv, cgrpc_conn *conn, cgrpc_task *t, int streaming)
{
  if (srv->workers == NULL) {
    t->cb(t->user_data); /* handlers run on the loop */
    return;
  }
  cgrpc_workers *w = streaming ? srv->stream_workers : srv->workers;
  int waits = cgrpc_workers_submit(w, t, &conn->lanes[streaming != 0]);
  if (waits == 0)
    return;
  /* Every thread is busy and the call waits: say so, once per pool, since it usually means
   * handlers that block for long (or too few threads for the load). */
  if (waits == CGRPC_WORKERS_WAITS_LANE) {
    if (!__atomic_exchange_n(&srv->said_conn_busy, 1, __ATOMIC_RELAXED))
      cgrpc_log(CGRPC_LOG_WARNING,
                "server: %s holds %d streaming handler threads, its limit; its other streams "
                "wait for one (raise cgrpc_server_options_set_stream_handlers_per_connection, "
                "or use asynchronous handlers)",
                conn->peer, srv->stream_handlers_per_conn);
  } else if (!streaming && !__atomic_exchange_n(&srv->said_busy, 1, __ATOMIC_RELAXED))
    cgrpc_log(CGRPC_LOG_WARNING,
              "server: all %d handler threads are busy; calls wait for one (raise "
              "cgrpc_server_options_set_handler_threads, or answer asynchronously)",
              srv->handler_threads);
  else if (streaming && !__atomic_exchange_n(&srv->said_stream_busy, 1, __ATOMIC_RELAXED))
    cgrpc_log(CGRPC_LOG_WARNING,
              "server: all %d streaming handler threads are busy; streams wait for one (raise "
              "cgrpc_server_options_set_stream_handler_threads, or use asynchronous handlers)",
              srv->stream_handler_threads);
}

int cgrpc_server_workers_cancel(cgrpc_server *srv, cgrpc_conn *conn, cgrpc_task *t)
{
  if (srv->workers == NULL)
    return 0;
  return cgrpc_workers_cancel(srv->workers, t, &conn->lanes[0]) ||
         cgrpc_workers_cancel(srv->stream_workers, t, &conn->lanes[1]);
}

/* ---- connections (loop thread) ------------------------------------------------------- */

static void server_maybe_stopped(cgrpc_server *srv);

/* How long an accepted connection has to complete TLS and send its SETTINGS (grpc-core: 120 s). */
#define SERVER_HANDSHAKE_TIMEOUT_MS 30000

static int server_full(const cgrpc_server *srv)
{
  return srv->max_connections > 0 && srv->nconns >= srv->max_connections;
}

/* max_connections: stop watching the listeners; what connects meanwhile
 * waits in the kernel's backlog (see server.h for why not accept-and-close). */
static void server_pause_accepting(cgrpc_server *srv)
{
  srv->accept_paused = 1;
  for (int i = 0; i < srv->nlisteners; i++) {
    cgrpc_listener *l = &srv->listeners[i];
    if (l->fd >= 0 && l->h.cb != NULL)
      cgrpc_loop_mod_fd(srv->loop, &l->h, 0);
  }
}

/* A connection closed: watch the listeners again (level-triggered: one with
 * connections waiting in its backlog reports at once). */
static void server_resume_accepting(cgrpc_server *srv)
{
  srv->accept_paused = 0;
  if (srv->draining)
    return;
  for (int i = 0; i < srv->nlisteners; i++) {
    cgrpc_listener *l = &srv->listeners[i];
    /* One resting after EMFILE resumes on its timer. */
    if (l->fd >= 0 && l->h.cb != NULL && !cgrpc_timer_armed(&l->retry))
      cgrpc_loop_mod_fd(srv->loop, &l->h, EPOLLIN);
  }
}

static void server_on_conn_dead(cgrpc_conn *conn)
{
  cgrpc_server *srv = conn->owner;
  cgrpc_list_remove(&conn->owner_node);
  if (srv->workers != NULL) {
    cgrpc_workers_lane_leave(srv->workers, &conn->lanes[0]);
    cgrpc_workers_lane_leave(srv->stream_workers, &conn->lanes[1]);
  }
  cgrpc_budget_unref(conn->inflated); /* calls still running hold their own references */
  cgrpc_budget_unref(conn->unsent);
  cgrpc_conn_free(conn);
  srv->nconns--;
  if (srv->accept_paused && !server_full(srv))
    server_resume_accepting(srv);
  server_maybe_stopped(srv);
}

static const cgrpc_conn_events server_conn_events = {
    .dead = server_on_conn_dead,
    .fail_streams = cgrpc_server_conn_fail_streams,
};

/* The listener's TLS context, referenced (a reload may replace it meanwhile), or NULL. */
static cgrpc_tls_ctx *server_listener_tls(cgrpc_listener *l)
{
  if (l->tls_opts == NULL)
    return NULL;
  pthread_mutex_lock(&l->srv->mu);
  cgrpc_tls_ctx *ctx = l->tls;
  cgrpc_tls_ctx_ref(ctx);
  pthread_mutex_unlock(&l->srv->mu);
  return ctx;
}

cgrpc_conn *cgrpc_server_adopt(cgrpc_server *srv, cgrpc_transport *tp)
{
  cgrpc_conn *conn;
  if (cgrpc_conn_new(&conn, srv->loop, &srv->alloc, tp, 1, cgrpc_server_conn_setup,
                     &server_conn_events, srv) != 0) {
    tp->vt->destroy(tp);
    return NULL;
  }
  if (srv->frame_timeout_ms > 0)
    cgrpc_conn_set_frame_timeout(conn, srv->frame_timeout_ms);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, srv->max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1024 * 1024},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, CGRPC_SERVER_MAX_HEADER_BYTES},
  };
  cgrpc_list_push_back(&srv->conns, &conn->owner_node);
  srv->nconns++;
  conn->lanes[1].cap = srv->stream_handlers_per_conn;
  conn->inflated = cgrpc_budget_new(&srv->alloc, srv->inflate_budget);
  conn->unsent = cgrpc_budget_new(&srv->alloc, srv->unsent_budget);
  if (conn->inflated == NULL || conn->unsent == NULL) {
    cgrpc_conn_fail(conn, "out of memory");
    return NULL;
  }
  if (cgrpc_conn_start(conn, settings, sizeof settings / sizeof settings[0]) != 0) {
    cgrpc_conn_fail(conn, "cannot start the HTTP/2 session");
    return NULL;
  }
  cgrpc_keepalive_start(conn, &srv->keepalive);
  cgrpc_conn_age_start(conn, &srv->age, &srv->age_seed);
  /* A client that connects and says nothing (no TLS handshake, no preface) must not hold
   * a connection (and a max_connections slot) until keepalive finds it. */
  cgrpc_conn_set_handshake_deadline(conn, SERVER_HANDSHAKE_TIMEOUT_MS);
  return conn;
}

static void server_accept_one(cgrpc_server *srv, cgrpc_listener *l, int fd)
{
  cgrpc_sock_tune(fd);
  cgrpc_tls_ctx *tls = server_listener_tls(l);
  cgrpc_transport *tp = tls != NULL ? cgrpc_tls_transport_new(fd, tls, NULL)
                                    : cgrpc_sock_transport_new(fd, &srv->alloc);
  cgrpc_tls_ctx_unref(tls); /* the transport holds its own reference */
  if (tp == NULL) {
    close(fd);
    return;
  }
  cgrpc_server_adopt(srv, tp);
}

static void server_listener_resume(void *ud)
{
  cgrpc_listener *l = ud;
  if (l->fd >= 0 && !l->srv->accept_paused)
    cgrpc_loop_mod_fd(l->srv->loop, &l->h, EPOLLIN);
}

static void server_on_listener(void *ud, uint32_t events)
{
  cgrpc_listener *l = ud;
  (void)events;
  for (int i = 0; i < SERVER_ACCEPTS_PER_ROUND; i++) {
    if (server_full(l->srv)) {
      server_pause_accepting(l->srv);
      return;
    }
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      server_accept_one(l->srv, l, fd);
    } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      /* The pending connection stays pending and the listener stays
       * readable: stop watching it for a while instead of spinning. */
      cgrpc_loop_mod_fd(l->srv->loop, &l->h, 0);
      cgrpc_loop_timer_start(l->srv->loop, &l->retry, cgrpc_now() + CGRPC_MS_TO_NS(100));
      return;
    } else {
      return; /* EAGAIN: all taken; or an aborted connection */
    }
  }
}

/* ---- life ------------------------------------------------------------------------------ */

int cgrpc_server_new(cgrpc_server **out, const cgrpc_server_options *opts)
{
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  const cgrpc_server_options *o = opts != NULL ? opts : &cgrpc_server_options_defaults;
  cgrpc_allocator a;
  cgrpc_alloc_init(&a, o->alloc);
  cgrpc_server *srv = cgrpc_calloc(&a, 1, sizeof *srv);
  if (srv == NULL)
    return CGRPC_ERR_NOMEM;
  srv->alloc = a;
  cgrpc_alloc_protobuf(&srv->pb, &srv->alloc);
  cgrpc_registry_init(&srv->registry, &srv->alloc);
  cgrpc_list_init(&srv->conns);
  srv->max_recv = o->max_recv;
  srv->max_send = o->max_send;
  srv->max_concurrent_streams = o->max_concurrent_streams;
  srv->max_connections = o->max_connections;
  srv->glitch_burst = o->glitch_burst;
  srv->glitch_rate = o->glitch_rate;
  srv->inflate_budget = o->inflate_budget;
  srv->unsent_budget = o->unsent_budget;
  srv->frame_timeout_ms = o->frame_timeout_ms;
  srv->age_seed = cgrpc_rand_seed();
  srv->age = o->age;
  srv->keepalive = o->keepalive;
  srv->handler_threads = o->handler_threads;
  if (srv->handler_threads < 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    srv->handler_threads = cpus > 2 ? (int)cpus * 2 : 4;
  }
  srv->stream_handler_threads = o->stream_handler_threads;
  srv->stream_handlers_per_conn = o->stream_handlers_per_conn;
  srv->stream_start = o->stream_start;
  if (o->ninterceptors > 0) {
    srv->interceptors = cgrpc_malloc(&a, o->ninterceptors * sizeof *srv->interceptors);
    if (srv->interceptors == NULL) {
      cgrpc_free(&a, srv);
      return CGRPC_ERR_NOMEM;
    }
    memcpy(srv->interceptors, o->interceptors, o->ninterceptors * sizeof *srv->interceptors);
    srv->ninterceptors = o->ninterceptors;
  }
  int rv = cgrpc_loop_new(&srv->loop, &srv->alloc);
  if (rv != 0) {
    cgrpc_free(&a, srv->interceptors);
    cgrpc_free(&a, srv);
    return rv;
  }
  pthread_mutex_init(&srv->mu, NULL);
  pthread_cond_init(&srv->cond, NULL);
  *out = srv;
  return 0;
}

int cgrpc_server_add_listener(cgrpc_server *srv, const char *address, int *port_out)
{
  return cgrpc_server_add_tls_listener(srv, address, NULL, port_out, NULL, 0);
}

int cgrpc_server_add_tls_listener(cgrpc_server *srv, const char *address,
                                  const cgrpc_tls_options *tls, int *port_out, char *err,
                                  size_t errlen)
{
  if (errlen > 0)
    err[0] = 0;
  if (srv == NULL || address == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (srv->started || srv->nlisteners == CGRPC_SERVER_MAX_LISTENERS)
    return CGRPC_ERR_STATE;
  cgrpc_listener *l = &srv->listeners[srv->nlisteners];
  cgrpc_sockaddr addr;
  memset(l, 0, sizeof *l);
  if (strncmp(address, "unix:", 5) == 0) {
    const char *path = address + 5;
    if (strncmp(path, "//", 2) == 0)
      path += 2;
    if (cgrpc_sock_unix_addr(path, &addr) != 0)
      return CGRPC_ERR_ADDRESS;
    strcpy(l->unix_path, path);
  } else {
    char host[256];
    const char *port;
    if (cgrpc_sock_split_host_port(address, host, sizeof host, &port) != 0 ||
        cgrpc_sock_resolve(host, port, &addr, 1) != 1)
      return CGRPC_ERR_ADDRESS;
  }
  if (tls != NULL) {
    int rv = cgrpc_tls_ctx_new(&l->tls, tls, 1, err, errlen);
    if (rv == 0 && cgrpc_tls_options_copy(&l->tls_opts, tls) != 0)
      rv = CGRPC_ERR_NOMEM;
    if (rv != 0) {
      cgrpc_tls_ctx_unref(l->tls);
      memset(l, 0, sizeof *l);
      return rv;
    }
  }
  int fd = cgrpc_sock_listen(&addr, 1024);
  if (fd < 0) {
    cgrpc_tls_ctx_unref(l->tls);
    cgrpc_tls_options_free(l->tls_opts);
    memset(l, 0, sizeof *l);
    return fd;
  }
  l->srv = srv;
  l->fd = fd;
  if (port_out != NULL)
    *port_out = cgrpc_sock_local_port(fd);
  srv->nlisteners++;
  return 0;
}

int cgrpc_server_register_service(cgrpc_server *srv, const cgrpc_service_desc *svc,
                                  const cgrpc_fn *handlers, void *user_data)
{
  if (srv == NULL || svc == NULL || (svc->n_methods > 0 && handlers == NULL))
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (srv->started)
    return CGRPC_ERR_STATE;
  for (size_t i = 0; i < svc->n_methods; i++) {
    int rv = cgrpc_registry_add(&srv->registry, &svc->methods[i], handlers[i], user_data);
    if (rv != 0)
      return rv;
  }
  return 0;
}

int cgrpc_server_start(cgrpc_server *srv)
{
  if (srv == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  if (srv->started || srv->stopped || srv->nlisteners == 0)
    return CGRPC_ERR_STATE;
  if (srv->handler_threads > 0) {
    /* Unary handlers share a fixed pool; streaming handlers, which may hold their thread for
     * as long as the stream is open, get threads of their own, as many as are open. */
    int rv = cgrpc_workers_new(&srv->workers, "cgrpc-handler", srv->handler_threads,
                               srv->handler_threads, &srv->alloc);
    if (rv == 0)
      rv = cgrpc_workers_new(&srv->stream_workers, "cgrpc-stream", 0, srv->stream_handler_threads,
                             &srv->alloc);
    if (rv != 0) {
      cgrpc_workers_free(srv->workers);
      srv->workers = NULL;
      return rv;
    }
  }
  int rv = 0;
  for (int i = 0; rv == 0 && i < srv->nlisteners; i++) {
    cgrpc_listener *l = &srv->listeners[i];
    cgrpc_timer_init(&l->retry, server_listener_resume, l);
    if (cgrpc_loop_add_fd(srv->loop, &l->h, l->fd, EPOLLIN, server_on_listener, l) != 0)
      rv = CGRPC_ERR_SYSTEM;
  }
  if (rv == 0)
    rv = cgrpc_loop_start_thread(srv->loop, "cgrpc-server");
  if (rv != 0) {
    for (int i = 0; i < srv->nlisteners; i++)
      if (srv->listeners[i].h.cb != NULL)
        cgrpc_loop_del_fd(srv->loop, &srv->listeners[i].h);
    cgrpc_workers_free(srv->workers);
    cgrpc_workers_free(srv->stream_workers);
    srv->workers = srv->stream_workers = NULL;
    return rv;
  }
  srv->started = 1;
  return 0;
}

/* ---- shutdown ------------------------------------------------------------------------------ */

static void server_close_listeners(cgrpc_server *srv)
{
  for (int i = 0; i < srv->nlisteners; i++) {
    cgrpc_listener *l = &srv->listeners[i];
    if (l->fd < 0)
      continue;
    if (l->h.cb != NULL) {
      cgrpc_loop_del_fd(srv->loop, &l->h);
      cgrpc_loop_timer_stop(srv->loop, &l->retry);
    }
    close(l->fd);
    l->fd = -1;
    if (l->unix_path[0] != '\0')
      unlink(l->unix_path);
  }
}

/* After GOAWAY, a connection closes by itself once its last stream is done
 * and its last bytes are written; a write round makes it check. */
static void server_kick_conns(cgrpc_server *srv)
{
  for (cgrpc_list *n = srv->conns.next; n != &srv->conns; n = n->next)
    cgrpc_conn_kick(cgrpc_container_of(n, cgrpc_conn, owner_node));
}

/* Once draining: when no call is left, the connections drain and close;
 * when they are gone, the loop stops. */
static void server_maybe_stopped(cgrpc_server *srv)
{
  if (!srv->draining || srv->ncalls > 0)
    return;
  if (!cgrpc_list_empty(&srv->conns)) {
    server_kick_conns(srv);
    return;
  }
  cgrpc_loop_timer_stop(srv->loop, &srv->grace_timer);
  cgrpc_loop_stop(srv->loop);
}

void cgrpc_server_call_released(cgrpc_server *srv)
{
  srv->ncalls--;
  server_maybe_stopped(srv);
}

/* The grace period is over: answer what is still running with UNAVAILABLE
 * (handlers still get to return), and drop connections that do not drain. */
static void server_on_grace_over(void *ud)
{
  cgrpc_server *srv = ud;
  if (srv->grace_expired) {
    for (cgrpc_list *n = srv->conns.next; n != &srv->conns; n = n->next)
      cgrpc_conn_fail(cgrpc_container_of(n, cgrpc_conn, owner_node), "server shut down");
    return;
  }
  srv->grace_expired = 1;
  for (cgrpc_list *n = srv->conns.next; n != &srv->conns; n = n->next)
    cgrpc_server_conn_cancel_streams(cgrpc_container_of(n, cgrpc_conn, owner_node));
  server_kick_conns(srv);
  cgrpc_loop_timer_start(srv->loop, &srv->grace_timer, cgrpc_now() + CGRPC_MS_TO_NS(1000));
}

static void server_shutdown_task(void *ud)
{
  cgrpc_server *srv = ud;
  srv->draining = 1;
  server_close_listeners(srv);
  for (cgrpc_list *n = srv->conns.next; n != &srv->conns; n = n->next)
    cgrpc_conn_goaway_graceful(cgrpc_container_of(n, cgrpc_conn, owner_node), NULL);
  cgrpc_timer_init(&srv->grace_timer, server_on_grace_over, srv);
  if (srv->grace_ms >= 0)
    cgrpc_loop_timer_start(srv->loop, &srv->grace_timer, cgrpc_now() + CGRPC_MS_TO_NS(srv->grace_ms));
  server_maybe_stopped(srv);
}

void cgrpc_server_shutdown(cgrpc_server *srv, int64_t grace_ms)
{
  if (srv == NULL)
    return;
  pthread_mutex_lock(&srv->mu);
  int stopped = srv->stopped;
  srv->stopped = 1;
  pthread_mutex_unlock(&srv->mu);
  if (stopped)
    return;
  if (srv->started) {
    srv->grace_ms = grace_ms;
    cgrpc_task_init(&srv->shutdown_task, server_shutdown_task, srv);
    cgrpc_loop_post(srv->loop, &srv->shutdown_task);
    cgrpc_loop_join(srv->loop);
    cgrpc_workers_free(srv->workers);
    cgrpc_workers_free(srv->stream_workers);
    srv->workers = srv->stream_workers = NULL;
  }
  server_close_listeners(srv);
}

int cgrpc_server_reload_tls(cgrpc_server *srv, char *err, size_t errlen)
{
  if (errlen > 0)
    err[0] = 0;
  if (srv == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  /* All or nothing: build every new context first. */
  cgrpc_tls_ctx *fresh[CGRPC_SERVER_MAX_LISTENERS] = {NULL};
  for (int i = 0; i < srv->nlisteners; i++) {
    if (srv->listeners[i].tls_opts == NULL)
      continue;
    int rv = cgrpc_tls_ctx_new(&fresh[i], srv->listeners[i].tls_opts, 1, err, errlen);
    if (rv != 0) {
      for (int j = 0; j < i; j++)
        cgrpc_tls_ctx_unref(fresh[j]);
      return rv;
    }
  }
  pthread_mutex_lock(&srv->mu);
  for (int i = 0; i < srv->nlisteners; i++) {
    if (fresh[i] == NULL)
      continue;
    cgrpc_tls_ctx *old = srv->listeners[i].tls;
    srv->listeners[i].tls = fresh[i]; /* new handshakes use it; open connections keep theirs */
    fresh[i] = old;
  }
  pthread_mutex_unlock(&srv->mu);
  for (int i = 0; i < srv->nlisteners; i++)
    cgrpc_tls_ctx_unref(fresh[i]);
  return 0;
}

void cgrpc_server_free(cgrpc_server *srv)
{
  if (srv == NULL)
    return;
  cgrpc_server_shutdown(srv, 0);
  cgrpc_loop_free(srv->loop);
  for (int i = 0; i < srv->nlisteners; i++) {
    cgrpc_tls_ctx_unref(srv->listeners[i].tls);
    cgrpc_tls_options_free(srv->listeners[i].tls_opts);
  }
  cgrpc_registry_clear(&srv->registry);
  cgrpc_server_peers_free(srv);
  pthread_cond_destroy(&srv->cond);
  pthread_mutex_destroy(&srv->mu);
  cgrpc_allocator a = srv->alloc;
  cgrpc_free(&a, srv->interceptors);
  cgrpc_free(&a, srv);
}
