/* payments: a Payments server that fails attempts on purpose, some before a charge runs and
 * some after, and still charges every order once: the dedup helper answers a retry of a
 * charge already made from what it stored.  Run it, then payments_client; stop it with
 * Ctrl-C or SIGTERM.  --seed N makes the failures repeatable. */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask, rand_r, getpid */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cgrpc/dedup.h>

#include "payments.cgrpc.h"

#define MAX_ORDERS 1000
/* Failed attempts per Charge call at most: fewer than the 5 attempts payments.proto allows,
 * so the chaos below never makes a charge fail outright and the demo cannot flake. */
#define MAX_FAILURES_PER_CALL 3

/* What happened to one order; the Ledger method reports these. */
typedef struct order {
  char id[64];
  char charge_id[16];
  unsigned attempts, failed, executions;
  char history[256]; /* "busy -> charged but lost -> replayed" */
} order;

typedef struct ledger {
  pthread_mutex_t lock; /* handlers run on several threads */
  unsigned seed;        /* rand_r state of the chaos interceptor */
  unsigned n_orders, n_charges;
  order orders[MAX_ORDERS];
} ledger;

/* The order with this id, added if new; NULL when the ledger is full.  Under the lock. */
static order *ledger_order(ledger *l, const char *id)
{
  for (unsigned i = 0; i < l->n_orders; i++)
    if (strcmp(l->orders[i].id, id) == 0)
      return &l->orders[i];
  if (l->n_orders == MAX_ORDERS || strlen(id) >= sizeof l->orders[0].id)
    return NULL;
  order *o = &l->orders[l->n_orders++];
  strcpy(o->id, id);
  return o;
}

static void order_note(order *o, const char *what)
{
  size_t len = strlen(o->history);
  snprintf(o->history + len, sizeof o->history - len, "%s%s", len > 0 ? " -> " : "", what);
}

/* ---- the handlers: plain functions that know nothing of retries or keys ---------------- */

static cgrpc_code charge(cgrpc_server_call *call, const Pay__ChargeRequest *request,
                         Pay__ChargeReply *response, void *user_data)
{
  ledger *l = user_data;
  if (request->order_id[0] == '\0' || request->amount_cents <= 0)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT,
                                        "an order id and a positive amount are needed");
  pthread_mutex_lock(&l->lock);
  order *o = ledger_order(l, request->order_id);
  if (o != NULL) {
    /* The money moves here: this must happen once per order, however many attempts. */
    o->executions++;
    snprintf(o->charge_id, sizeof o->charge_id, "ch_%04u", ++l->n_charges);
    response->charge_id = cgrpc_server_call_strdup(call, o->charge_id);
  }
  pthread_mutex_unlock(&l->lock);
  if (o == NULL)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "ledger full");
  return CGRPC_STATUS_OK;
}

static cgrpc_code report(cgrpc_server_call *call, const Pay__LedgerRequest *request,
                         Pay__LedgerReply *response, void *user_data)
{
  ledger *l = user_data;
  (void)request;
  pthread_mutex_lock(&l->lock);
  /* Response memory comes from the call and is freed with it. */
  unsigned n = l->n_orders;
  Pay__LedgerReply__Order *rows = cgrpc_server_call_alloc(call, (n + 1) * sizeof *rows);
  Pay__LedgerReply__Order **ptrs = cgrpc_server_call_alloc(call, (n + 1) * sizeof *ptrs);
  for (unsigned i = 0; rows != NULL && ptrs != NULL && i < n; i++) {
    const order *o = &l->orders[i];
    pay__ledger_reply__order__init(&rows[i]);
    rows[i].order_id = cgrpc_server_call_strdup(call, o->id);
    rows[i].charge_id = cgrpc_server_call_strdup(call, o->charge_id);
    rows[i].history = cgrpc_server_call_strdup(call, o->history);
    rows[i].attempts = o->attempts;
    rows[i].failed = o->failed;
    rows[i].executions = o->executions;
    ptrs[i] = &rows[i];
  }
  pthread_mutex_unlock(&l->lock);
  if (rows == NULL || ptrs == NULL)
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  response->n_orders = n;
  response->orders = ptrs;
  return CGRPC_STATUS_OK;
}

/* ---- chaos: a server interceptor that fails attempts of Charge on purpose ---------------
 *
 * It is added before the dedup helper, so it runs outside it: it sees every attempt that
 * arrives, and the result of each on its way out, whether the handler made it or dedup
 * replayed it.  Per attempt it draws one of
 *   busy -- fail before the handler, with UNAVAILABLE: nothing happened, the client retries;
 *   lost -- let the handler run (dedup stores its OK), then answer UNAVAILABLE instead, as
 *           if the answer were lost on the way back: the client retries with the same
 *           idempotency key, and dedup replays the stored OK instead of charging again;
 *   pass -- leave the attempt alone (half of them).
 */

enum fate { PASS, BUSY, LOST };

typedef struct attempt {
  ledger *l;
  order *o;
  enum fate fate;
  unsigned executions_before;
} attempt;

static void chaos_done(cgrpc_server_call *call, void *user_data);

static void chaos(cgrpc_server_call *call, void *user_data)
{
  ledger *l = user_data;
  attempt *a = NULL;
  if (strcmp(cgrpc_server_call_path(call), "/pay.Payments/Charge") == 0)
    a = cgrpc_server_call_alloc(call, sizeof *a); /* freed with the call */
  if (a == NULL) {
    cgrpc_server_call_proceed(call, NULL, NULL); /* other methods: untouched */
    return;
  }
  const Pay__ChargeRequest *request = (const Pay__ChargeRequest *)cgrpc_server_call_request(call);
  pthread_mutex_lock(&l->lock);
  a->l = l;
  a->o = ledger_order(l, request->order_id);
  int draw = rand_r(&l->seed) % 4;
  a->fate = draw == 0 ? BUSY : draw == 1 ? LOST : PASS;
  /* One order is one Charge call (one idempotency key) here, so the order's failures are
   * the call's: past the cap, its attempts pass. */
  if (a->o == NULL || a->o->failed >= MAX_FAILURES_PER_CALL)
    a->fate = PASS;
  if (a->o != NULL) {
    a->o->attempts++;
    a->executions_before = a->o->executions;
    if (a->fate == BUSY) {
      a->o->failed++;
      order_note(a->o, "busy");
    }
  }
  pthread_mutex_unlock(&l->lock);

  if (a->o == NULL) {
    cgrpc_server_call_proceed(call, NULL, NULL); /* the handler answers "ledger full" */
  } else if (a->fate == BUSY) {
    /* An interceptor ends a call by setting its status and finishing, not proceeding. */
    cgrpc_server_call_set_status(call, CGRPC_STATUS_UNAVAILABLE, "busy, try again");
    cgrpc_server_call_finish(call);
  } else {
    cgrpc_server_call_proceed(call, chaos_done, a); /* dedup, then (maybe) the handler */
  }
}

/* The attempt's result, after dedup and the handler: note it, maybe lose it. */
static void chaos_done(cgrpc_server_call *call, void *user_data)
{
  attempt *a = user_data;
  cgrpc_code code = cgrpc_server_call_status_code(call);
  int lose = a->fate == LOST && code == CGRPC_STATUS_OK;
  pthread_mutex_lock(&a->l->lock);
  /* Attempts of one call come one after another, so a change in the count is this one's. */
  int ran = a->o->executions != a->executions_before;
  if (code != CGRPC_STATUS_OK)
    order_note(a->o, cgrpc_code_name(code));
  else
    order_note(a->o, ran ? (lose ? "charged but lost" : "charged")
                         : (lose ? "replayed but lost" : "replayed"));
  if (lose)
    a->o->failed++;
  pthread_mutex_unlock(&a->l->lock);
  if (lose)
    cgrpc_server_call_set_status(call, CGRPC_STATUS_UNAVAILABLE, "answer lost on the way back");
  cgrpc_server_call_finish(call);
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
  const char *address = "127.0.0.1:50051";
  static ledger l = {.lock = PTHREAD_MUTEX_INITIALIZER};
  l.seed = (unsigned)time(NULL) ^ (unsigned)getpid(); /* differs from run to run */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--address") == 0 && i + 1 < argc) {
      address = argv[++i];
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      l.seed = (unsigned)strtoul(argv[++i], NULL, 10);
    } else {
      fprintf(stderr, "usage: %s [--address HOST:PORT|unix:PATH] [--seed N]  (port 0 picks one)\n",
              argv[0]);
      return 2;
    }
  }
  printf("SEED %u\n", l.seed); /* pass it to --seed to replay this run's failures */

  /* De-duplication for Charge: a repeated idempotency key gets the stored answer instead of
   * a second run of the handler.  Ledger only reads, so it is left out (by default every
   * method the .proto marks idempotent is in). */
  cgrpc_dedup_options *dedup_opts;
  cgrpc_dedup *dedup = NULL;
  int rv = cgrpc_dedup_options_new(&dedup_opts);
  if (rv == 0) {
    cgrpc_dedup_options_set_idempotent_methods(dedup_opts, 0);
    cgrpc_dedup_options_set_ttl_ms(dedup_opts, 10 * 60 * 1000); /* longer than any call */
    rv = cgrpc_dedup_options_add_method(dedup_opts, "/pay.Payments/Charge");
    if (rv == 0)
      rv = cgrpc_dedup_new(&dedup, dedup_opts);
    cgrpc_dedup_options_free(dedup_opts);
  }

  /* Interceptors run in the order added, the first outermost: chaos, then dedup. */
  cgrpc_server_options *opts = NULL;
  if (rv == 0)
    rv = cgrpc_server_options_new(&opts);
  if (rv == 0)
    rv = cgrpc_server_options_add_interceptor(opts, chaos, &l);
  if (rv == 0)
    rv = cgrpc_dedup_attach(dedup, opts);

  cgrpc_server *server = NULL;
  int port = 0;
  if (rv == 0)
    rv = cgrpc_server_new(&server, opts);
  cgrpc_server_options_free(opts);
  if (rv == 0)
    rv = cgrpc_server_add_listener(server, address, &port);
  Pay__Payments_Server impl = PAY__PAYMENTS__SERVER_INIT;
  impl.charge = charge;
  impl.ledger = report;
  if (rv == 0)
    rv = pay__payments_server__register(server, &impl, &l);

  /* Block SIGINT and SIGTERM before the server's threads start, so they inherit the mask
   * and only sigwait below takes the signals. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);

  if (rv == 0)
    rv = cgrpc_server_start(server);
  if (rv != 0) {
    fprintf(stderr, "payments_server: %s: %s\n", address, cgrpc_strerror(rv));
    cgrpc_server_free(server);
    cgrpc_dedup_free(dedup);
    return 1;
  }
  printf("LISTENING %d\n", port);
  fflush(stdout);
  int sig;
  while (sigwait(&signals, &sig) != 0)
    ;
  cgrpc_server_shutdown(server, 2000); /* calls in flight get 2 s to finish */
  cgrpc_server_free(server);
  printf("dedup: %llu charges run, %llu answers replayed\n",
         (unsigned long long)cgrpc_dedup_get_stat(dedup, CGRPC_DEDUP_STAT_EXECUTED),
         (unsigned long long)cgrpc_dedup_get_stat(dedup, CGRPC_DEDUP_STAT_REPLAYED));
  cgrpc_dedup_free(dedup); /* after the server: it must outlive it */
  return 0;
}
