/* helloworld: a Greeter client making one blocking call. */
#include <stdio.h>
#include <string.h>

#include "helloworld.cgrpc.h"

int main(int argc, char **argv)
{
  const char *target = "127.0.0.1:50051";
  const char *name = "world";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
      target = argv[++i];
    } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
      name = argv[++i];
    } else {
      fprintf(stderr, "usage: %s [--target HOST:PORT|unix:PATH] [--name NAME]\n", argv[0]);
      return 2;
    }
  }

  cgrpc_channel *channel;
  int rv = cgrpc_channel_new(&channel, target, NULL);
  if (rv != 0) {
    fprintf(stderr, "greeter_client: %s: %s\n", target, cgrpc_strerror(rv));
    return 1;
  }

  Helloworld__HelloRequest request = HELLOWORLD__HELLO_REQUEST__INIT;
  request.name = (char *)name;
  Helloworld__HelloReply *reply = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  /* The 500 ms deadline baked in from helloworld.proto applies; NULL options keep it. */
  cgrpc_code code = helloworld__greeter_client__say_hello(channel, &request, &reply, NULL, &status);
  if (code == CGRPC_STATUS_OK) {
    printf("Greeter client received: %s\n", reply->message);
    helloworld__hello_reply__free_unpacked(reply, NULL);
  } else {
    fprintf(stderr, "greeter_client: %s: %s\n", cgrpc_code_name(code), status.message);
  }
  cgrpc_status_clear(&status);
  cgrpc_channel_free(channel);
  return code == CGRPC_STATUS_OK ? 0 : 1;
}
