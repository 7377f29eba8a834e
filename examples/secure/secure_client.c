/* secure: a Greeter client over TLS that sends a fresh JWT (HS256, valid 60 s) with every
 * call, signed with the secret it shares with secure_server. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cgrpc/jwt.h>

#include "helloworld.cgrpc.h"

typedef struct token_source {
  cgrpc_jwt_signer *signer;
  const char *sub, *scope;
} token_source;

/* Call credentials: runs as each call starts and adds "authorization: Bearer <token>". */
static int add_bearer_token(const char *path, cgrpc_metadata *md, void *user_data)
{
  (void)path;
  const token_source *ts = user_data;
  char claims[512], bearer[1024] = "Bearer ";
  size_t len;
  snprintf(claims, sizeof claims,
           "{\"sub\":\"%s\",\"iss\":\"https://issuer.example\",\"aud\":\"greeter\","
           "\"scope\":\"%s\",\"exp\":%lld}",
           ts->sub, ts->scope, (long long)time(NULL) + 60);
  if (cgrpc_jwt_sign(ts->signer, claims, bearer + 7, sizeof bearer - 7, &len) != 0)
    return -1; /* the call fails with UNAUTHENTICATED */
  return cgrpc_metadata_add_str(md, "authorization", bearer);
}

/* Reads a small file (the shared secret) whole; returns its length, or 0. */
static size_t read_file(const char *path, char *buf, size_t size)
{
  FILE *f = fopen(path, "rb");
  size_t n = f != NULL ? fread(buf, 1, size, f) : 0;
  if (f != NULL)
    fclose(f);
  return n < size ? n : 0;
}

int main(int argc, char **argv)
{
  const char *target = "localhost:50051", *ca = "ca.pem", *server_name = NULL;
  const char *secret_file = "secret";
  token_source ts = {NULL, "alice", "greet"};
  int plaintext = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--plaintext") == 0) {
      plaintext = 1;
      continue;
    }
    i++;
    if (val != NULL && strcmp(arg, "--target") == 0) {
      target = val;
    } else if (val != NULL && strcmp(arg, "--ca") == 0) {
      ca = val;
    } else if (val != NULL && strcmp(arg, "--server_name") == 0) {
      server_name = val;
    } else if (val != NULL && strcmp(arg, "--secret") == 0) {
      secret_file = val;
    } else if (val != NULL && strcmp(arg, "--sub") == 0) {
      ts.sub = val;
    } else if (val != NULL && strcmp(arg, "--scope") == 0) {
      ts.scope = val;
    } else {
      fprintf(stderr, "usage: %s [--target HOST:PORT] [--ca ca.pem] [--server_name NAME]"
                      " [--secret FILE] [--sub NAME] [--scope SCOPES] [--plaintext]\n", argv[0]);
      return 2;
    }
  }

  char secret[256];
  size_t secret_len = read_file(secret_file, secret, sizeof secret);
  if (cgrpc_jwt_signer_new(&ts.signer, CGRPC_JWT_HS256, secret, secret_len, NULL) != 0) {
    fprintf(stderr, "secure_client: %s: unreadable, or shorter than 32 bytes\n", secret_file);
    return 1;
  }

  /* TLS: the server's certificate must chain to ca and carry server_name (default: the
   * target's host).  --plaintext skips TLS -- and lets the token go out in the clear -- only
   * to show that the server refuses it. */
  cgrpc_channel_options *copts;
  cgrpc_channel_options_new(&copts);
  cgrpc_tls_options *tls;
  cgrpc_tls_options_new(&tls);
  cgrpc_tls_options_set_ca_file(tls, ca);
  if (server_name != NULL)
    cgrpc_tls_options_set_server_name_override(tls, server_name);
  char err[256] = "";
  int rv = plaintext ? 0 : cgrpc_channel_options_set_tls(copts, tls, err, sizeof err);
  cgrpc_tls_options_free(tls);
  cgrpc_channel_options_set_call_credentials(copts, add_bearer_token, &ts, plaintext);
  cgrpc_channel *channel = NULL;
  if (rv == 0)
    rv = cgrpc_channel_new(&channel, target, copts);
  cgrpc_channel_options_free(copts);
  if (rv != 0) {
    fprintf(stderr, "secure_client: %s: %s %s\n", target, cgrpc_strerror(rv), err);
    cgrpc_jwt_signer_free(ts.signer);
    return 1;
  }

  Helloworld__HelloRequest request = HELLOWORLD__HELLO_REQUEST__INIT;
  Helloworld__HelloReply *reply = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_call_options *opts;
  cgrpc_call_options_new(&opts);
  cgrpc_call_options_set_timeout_ms(opts, 5000); /* the handshake too, even under valgrind */
  cgrpc_code code = helloworld__greeter_client__say_hello(channel, &request, &reply, opts, &status);
  if (code == CGRPC_STATUS_OK) {
    printf("Greeter client received: %s\n", reply->message);
    helloworld__hello_reply__free_unpacked(reply, NULL);
  } else {
    fprintf(stderr, "secure_client: %s: %s\n", cgrpc_code_name(code), status.message);
  }
  cgrpc_status_clear(&status);
  cgrpc_call_options_free(opts);
  cgrpc_channel_free(channel);
  cgrpc_jwt_signer_free(ts.signer);
  return code == CGRPC_STATUS_OK ? 0 : 1;
}
