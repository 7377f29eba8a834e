// protoc-gen-cgrpc — the protoc plugin of cgrpc: gRPC client stubs and server skeletons
// in C, next to protoc-gen-c's messages.
#include <google/protobuf/compiler/plugin.h>

#include "generator.h"

int main(int argc, char *argv[])
{
  cgrpc::Generator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
