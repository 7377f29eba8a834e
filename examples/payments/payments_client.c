/* payments: a client that charges N orders, one at a time, against a server that fails
 * attempts on purpose, then asks the server's ledger what happened.  It has no retry code:
 * the timeout, retry policy and idempotency key of Charge come from payments.proto, baked
 * into the generated stub (see the comment above pay__payments_client__charge in
 * payments.cgrpc.h).  Exits 0 when every charge succeeded and ran exactly once. */
#define _POSIX_C_SOURCE 200809L /* getpid */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "payments.cgrpc.h"

static const Pay__LedgerReply__Order *find_order(const Pay__LedgerReply *ledger, const char *id)
{
  for (size_t i = 0; i < ledger->n_orders; i++)
    if (strcmp(ledger->orders[i]->order_id, id) == 0)
      return ledger->orders[i];
  return NULL;
}

int main(int argc, char **argv)
{
  const char *target = "127.0.0.1:50051";
  int n = 20;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
      target = argv[++i];
    } else if (strcmp(argv[i], "--charges") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
      n = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s [--target HOST:PORT|unix:PATH] [--charges N]\n", argv[0]);
      return 2;
    }
  }

  cgrpc_channel *channel;
  int rv = cgrpc_channel_new(&channel, target, NULL);
  if (rv != 0) {
    fprintf(stderr, "payments_client: %s: %s\n", target, cgrpc_strerror(rv));
    return 1;
  }

  /* Charge each order once, as a program would, checking only the final outcome.  Behind
   * each call the runtime may make several attempts, all with the call's idempotency key. */
  char (*order_ids)[32] = calloc((size_t)n, sizeof *order_ids);
  char (*charge_ids)[32] = calloc((size_t)n, sizeof *charge_ids);
  if (order_ids == NULL || charge_ids == NULL) {
    fprintf(stderr, "payments_client: out of memory\n");
    return 1;
  }
  const cgrpc_method_policy *policy =
      pay__payments__cgrpc_service.methods[PAY__PAYMENTS__METHOD_CHARGE].policy;
  printf("charging %d orders, one call each; payments.proto gives every call a %lld ms\n"
         "deadline for up to %d attempts, and an idempotency key\n",
         n, (long long)policy->timeout_ms, policy->retry.max_attempts);
  int ok = 0;
  for (int i = 0; i < n; i++) {
    /* The pid keeps order ids apart when one server sees several runs. */
    snprintf(order_ids[i], sizeof order_ids[i], "order-%d-%02d", (int)getpid(), i + 1);
    Pay__ChargeRequest request = PAY__CHARGE_REQUEST__INIT;
    request.order_id = order_ids[i];
    request.amount_cents = 1000 + 250 * i;
    Pay__ChargeReply *reply = NULL;
    cgrpc_status status = CGRPC_STATUS_INIT;
    /* NULL call options: Charge's policy as payments.proto has it. */
    if (pay__payments_client__charge(channel, &request, &reply, NULL, &status) == CGRPC_STATUS_OK) {
      snprintf(charge_ids[i], sizeof charge_ids[i], "%s", reply->charge_id);
      pay__charge_reply__free_unpacked(reply, NULL);
      ok++;
    } else {
      snprintf(charge_ids[i], sizeof charge_ids[i], "%s", cgrpc_code_name(status.code));
      fprintf(stderr, "payments_client: %s: %s: %s\n", order_ids[i],
              cgrpc_code_name(status.code), status.message);
    }
    cgrpc_status_clear(&status);
  }

  /* Call options override the .proto for one call: Ledger's baked 1 s deadline becomes
   * 10 s here (a report of many orders may take a while).  Retry policy and idempotency key
   * can be overridden the same way. */
  cgrpc_call_options *opts = NULL;
  cgrpc_call_options_new(&opts);
  cgrpc_call_options_set_timeout_ms(opts, 10000);
  Pay__LedgerRequest ledger_request = PAY__LEDGER_REQUEST__INIT;
  Pay__LedgerReply *ledger = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_code code = pay__payments_client__ledger(channel, &ledger_request, &ledger, opts, &status);
  cgrpc_call_options_free(opts);
  if (code != CGRPC_STATUS_OK) {
    fprintf(stderr, "payments_client: Ledger: %s: %s\n", cgrpc_code_name(code), status.message);
    cgrpc_status_clear(&status);
    cgrpc_channel_free(channel);
    free(order_ids);
    free(charge_ids);
    return 1;
  }
  cgrpc_status_clear(&status);

  /* One line per charge: what the client got, and what the server saw and did. */
  unsigned attempts = 0, failed = 0;
  int once = 0;
  for (int i = 0; i < n; i++) {
    const Pay__LedgerReply__Order *o = find_order(ledger, order_ids[i]);
    if (o == NULL) {
      printf("%s  %-8s  not in the ledger\n", order_ids[i], charge_ids[i]);
      continue;
    }
    attempts += o->attempts;
    failed += o->failed;
    /* Once, and the charge id the client holds is the one the single run made. */
    int good = o->executions == 1 && strcmp(o->charge_id, charge_ids[i]) == 0;
    once += good;
    printf("%s  %-8s  %u attempt%s: %s%s\n", order_ids[i], charge_ids[i], o->attempts,
           o->attempts == 1 ? "" : "s", o->history, good ? "" : "  <-- NOT EXACTLY ONCE");
  }
  pay__ledger_reply__free_unpacked(ledger, NULL);
  cgrpc_channel_free(channel);
  free(order_ids);
  free(charge_ids);

  printf("(busy: failed before the charge; lost: the answer dropped on its way back; replayed:\n"
         " dedup answered with the stored result of the charge, which did not run again)\n");
  printf("%d charges, %d OK, %u attempts (%u failed on purpose), ", n, ok, attempts, failed);
  if (once == n)
    printf("every charge executed exactly once\n");
  else
    printf("%d of them not executed exactly once\n", n - once);
  return ok == n && once == n ? 0 : 1;
}
