/* helloworld: a Greeter server.  Run it, then greeter_client; stop it with Ctrl-C or SIGTERM. */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helloworld.cgrpc.h"

/* The handler: a plain function that reads the request and fills the response.
 * Strings it puts in the response come from the call's memory, freed with the call. */
static cgrpc_code say_hello(cgrpc_server_call *call, const Helloworld__HelloRequest *request,
                            Helloworld__HelloReply *response, void *user_data)
{
  (void)user_data;
  if (request->name[0] == '\0')
    return cgrpc_server_call_set_status(call, CGRPC_STATUS_INVALID_ARGUMENT, "name is empty");
  response->message = cgrpc_server_call_printf(call, "Hello %s", request->name);
  return CGRPC_STATUS_OK;
}

int main(int argc, char **argv)
{
  const char *address = "127.0.0.1:50051";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--address") == 0 && i + 1 < argc) {
      address = argv[++i];
    } else {
      fprintf(stderr, "usage: %s [--address HOST:PORT|unix:PATH]  (port 0 picks one)\n", argv[0]);
      return 2;
    }
  }

  cgrpc_server *server;
  int port = 0;
  int rv = cgrpc_server_new(&server, NULL);
  if (rv == 0)
    rv = cgrpc_server_add_listener(server, address, &port);
  if (rv != 0) {
    fprintf(stderr, "greeter_server: %s: %s\n", address, cgrpc_strerror(rv));
    cgrpc_server_free(server);
    return 1;
  }
  Helloworld__Greeter_Server impl = HELLOWORLD__GREETER__SERVER_INIT;
  impl.say_hello = say_hello;
  helloworld__greeter_server__register(server, &impl, NULL);

  /* Block SIGINT and SIGTERM before the server's threads start, so they
   * inherit the mask and only sigwait below takes the signals. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);

  rv = cgrpc_server_start(server);
  if (rv != 0) {
    fprintf(stderr, "greeter_server: %s\n", cgrpc_strerror(rv));
    cgrpc_server_free(server);
    return 1;
  }
  printf("LISTENING %d\n", port);
  fflush(stdout);
  int sig;
  while (sigwait(&signals, &sig) != 0)
    ;
  cgrpc_server_shutdown(server, 2000); /* calls in flight get 2 s to finish */
  cgrpc_server_free(server);
  return 0;
}
