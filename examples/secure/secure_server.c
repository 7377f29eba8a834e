/* secure: the helloworld Greeter over TLS, with a JWT (HS256) required on SayHello.  The
 * handler greets the token's subject.  SIGHUP re-reads the certificate and key; SIGTERM or
 * Ctrl-C stops it.  See doc/tls-and-auth.md and demo-check.test. */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cgrpc/jwt.h>

#include "helloworld.cgrpc.h"

/* The interceptor has checked the token (signature, exp, iss, aud, scope) before this runs. */
static cgrpc_code say_hello(cgrpc_server_call *call, const Helloworld__HelloRequest *request,
                            Helloworld__HelloReply *response, void *user_data)
{
  (void)request;
  (void)user_data;
  const char *sub = cgrpc_jwt_claim(call, "sub");
  response->message = cgrpc_server_call_printf(call, "Hello %s", sub != NULL ? sub : "stranger");
  return CGRPC_STATUS_OK;
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
  const char *address = "127.0.0.1:50051", *cert = "server.pem", *key = "server.key";
  const char *secret_file = "secret";
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *val = i + 1 < argc ? argv[++i] : NULL;
    if (val != NULL && strcmp(arg, "--address") == 0) {
      address = val;
    } else if (val != NULL && strcmp(arg, "--cert") == 0) {
      cert = val;
    } else if (val != NULL && strcmp(arg, "--key") == 0) {
      key = val;
    } else if (val != NULL && strcmp(arg, "--secret") == 0) {
      secret_file = val;
    } else {
      fprintf(stderr, "usage: %s [--address HOST:PORT] [--cert server.pem] [--key server.key]"
                      " [--secret FILE]\n", argv[0]);
      return 2;
    }
  }

  /* Tokens: HS256 with the shared secret, from our issuer, for this service. */
  char secret[256];
  size_t secret_len = read_file(secret_file, secret, sizeof secret);
  cgrpc_jwt_verifier *verifier;
  cgrpc_jwt_verifier_new(&verifier, NULL);
  if (cgrpc_jwt_verifier_add_secret(verifier, NULL, secret, secret_len, CGRPC_JWT_HS256) != 0) {
    fprintf(stderr, "secure_server: %s: unreadable, or shorter than 32 bytes\n", secret_file);
    cgrpc_jwt_verifier_free(verifier);
    return 1;
  }
  cgrpc_jwt_verifier_set_issuer(verifier, "https://issuer.example");
  cgrpc_jwt_verifier_add_audience(verifier, "greeter");
  /* Every method needs a valid token (the default); SayHello also needs scope "greet". */
  cgrpc_jwt_auth *auth;
  cgrpc_jwt_auth_new(&auth, verifier, NULL);
  cgrpc_jwt_auth_add_required(auth, "/helloworld.Greeter/SayHello", "scope", "greet");

  cgrpc_server_options *opts;
  cgrpc_server_options_new(&opts);
  cgrpc_server_options_add_interceptor(opts, cgrpc_jwt_auth_interceptor, auth);
  cgrpc_server *server = NULL;
  int rv = cgrpc_server_new(&server, opts);
  cgrpc_server_options_free(opts);

  cgrpc_tls_options *tls;
  cgrpc_tls_options_new(&tls);
  cgrpc_tls_options_set_cert_key_files(tls, cert, key);
  char err[256] = "";
  int port = 0;
  if (rv == 0)
    rv = cgrpc_server_add_tls_listener(server, address, tls, &port, err, sizeof err);
  cgrpc_tls_options_free(tls);
  Helloworld__Greeter_Server impl = HELLOWORLD__GREETER__SERVER_INIT;
  impl.say_hello = say_hello;
  if (rv == 0)
    rv = helloworld__greeter_server__register(server, &impl, NULL);

  /* Signals are taken by sigwait below; the server's threads inherit the mask. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  if (rv == 0)
    rv = cgrpc_server_start(server);
  if (rv != 0) {
    fprintf(stderr, "secure_server: %s: %s %s\n", address, cgrpc_strerror(rv), err);
  } else {
    printf("LISTENING %d\n", port);
    fflush(stdout);
    int sig = 0;
    while (sig != SIGINT && sig != SIGTERM) {
      if (sigwait(&signals, &sig) == 0 && sig == SIGHUP) { /* renewed certificate files */
        if (cgrpc_server_reload_tls(server, err, sizeof err) == 0)
          printf("RELOADED\n");
        else
          fprintf(stderr, "secure_server: reload: %s (keeping the old certificate)\n", err);
        fflush(stdout);
      }
    }
    cgrpc_server_shutdown(server, 2000); /* calls in flight get 2 s to finish */
  }
  cgrpc_server_free(server);
  cgrpc_jwt_auth_free(auth);
  cgrpc_jwt_verifier_free(verifier);
  return rv == 0 ? 0 : 1;
}
