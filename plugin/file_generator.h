// protoc-gen-cgrpc — one .proto: foo.cgrpc.h and foo.cgrpc.c.
#ifndef CGRPC_PLUGIN_FILE_GENERATOR_H
#define CGRPC_PLUGIN_FILE_GENERATOR_H

#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "collisions.h"
#include "diagnostics.h"
#include "service_generator.h"
#include "templates.h"

namespace cgrpc {

// The version of the generated code, checked against the runtime's CGRPC_VERSION_NUMBER
// and CGRPC_MIN_GENERATED_VERSION (major * 1000000 + minor * 1000 + patch): 0.1.0.
constexpr int kGeneratedCodeVersion = 1000;

class FileGenerator {
 public:
  explicit FileGenerator(const google::protobuf::FileDescriptor *file);

  // Empty if the file can be generated, else its errors, one per line.
  std::string Errors() const { return diagnostics_.Text(); }

  std::string HeaderName() const { return base_name_ + ".cgrpc.h"; }
  std::string SourceName() const { return base_name_ + ".cgrpc.c"; }
  std::string Header() const;
  std::string Source() const;

 private:
  std::string base_name_;
  Diagnostics diagnostics_;
  NameChecker names_;
  Vars vars_;
  std::vector<std::unique_ptr<ServiceGenerator>> services_;
};

}  // namespace cgrpc

#endif
