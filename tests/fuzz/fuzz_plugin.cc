// Feeds protoc-gen-cgrpc a CodeGeneratorRequest; when its files build, the generator runs on them:
// an error is an answer, a crash or an internal error (a template's missing variable) is not.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/compiler/plugin.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>

#include "generator.h"

namespace {

// Malformed descriptors are the common case here: not worth a line on stderr each.
class SilentErrors : public google::protobuf::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string &, const std::string &, const google::protobuf::Message *,
                ErrorLocation, const std::string &) override
  {
  }
};

// What protoc would write to files, kept in memory.
class MemoryContext : public google::protobuf::compiler::GeneratorContext {
 public:
  google::protobuf::io::ZeroCopyOutputStream *Open(const std::string &filename) override
  {
    return new google::protobuf::io::StringOutputStream(&files_[filename]);
  }

 private:
  std::map<std::string, std::string> files_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
  google::protobuf::SetLogHandler(nullptr);  // parse errors (bad UTF-8...) are expected
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  google::protobuf::compiler::CodeGeneratorRequest request;
  if (size > INT32_MAX || !request.ParseFromArray(data, static_cast<int>(size)))
    return 0;
  google::protobuf::DescriptorPool pool;
  SilentErrors errors;
  for (const auto &proto : request.proto_file())
    if (pool.BuildFileCollectingErrors(proto, &errors) == nullptr)
      return 0;
  cgrpc::Generator generator;
  for (const auto &name : request.file_to_generate()) {
    const google::protobuf::FileDescriptor *file = pool.FindFileByName(name);
    if (file == nullptr)
      continue;  // protoc would never ask; nothing of ours to exercise
    MemoryContext context;
    std::string error;
    if (!generator.Generate(file, request.parameter(), &context, &error) &&
        error.compare(0, 34, "protoc-gen-cgrpc: internal error: ") == 0) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), error.c_str());
      std::abort();
    }
  }
  return 0;
}
