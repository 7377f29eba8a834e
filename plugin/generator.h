// protoc-gen-cgrpc — the CodeGenerator protoc's plugin machinery drives.
#ifndef CGRPC_PLUGIN_GENERATOR_H
#define CGRPC_PLUGIN_GENERATOR_H

#include <string>

#include <google/protobuf/compiler/code_generator.h>

namespace cgrpc {

class Generator : public google::protobuf::compiler::CodeGenerator {
 public:
  // Writes foo.cgrpc.h and foo.cgrpc.c for a foo.proto with services, nothing otherwise.
  bool Generate(const google::protobuf::FileDescriptor *file, const std::string &parameter,
                google::protobuf::compiler::GeneratorContext *context,
                std::string *error) const override;

  // Fields do not concern us, so proto3 `optional` is no obstacle.
  uint64_t GetSupportedFeatures() const override { return FEATURE_PROTO3_OPTIONAL; }
};

}  // namespace cgrpc

#endif
