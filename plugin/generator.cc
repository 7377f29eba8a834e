// protoc-gen-cgrpc — from one .proto to its output files, or to its errors.
#include "generator.h"

#include <memory>
#include <stdexcept>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include "file_generator.h"
#include "parameters.h"
#include "protobuf-c/protobuf-c.pb.h"

namespace cgrpc {
namespace {

void WriteFile(google::protobuf::compiler::GeneratorContext *context, const std::string &name,
               const std::string &text)
{
  std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> stream(context->Open(name));
  google::protobuf::io::CodedOutputStream out(stream.get());
  out.WriteString(text);
}

}  // namespace

bool Generator::Generate(const google::protobuf::FileDescriptor *file,
                         const std::string &parameter,
                         google::protobuf::compiler::GeneratorContext *context,
                         std::string *error) const
{
  Parameters parameters;
  if (!ParseParameters(parameter, &parameters, error))
    return false;
  // Nothing to do without services; nor when protoc-gen-c writes no .pb-c.h to include.
  if (file->service_count() == 0 || file->options().GetExtension(pb_c_file).no_generate())
    return true;

  try {
    FileGenerator generator(file);
    *error = generator.Errors();
    if (!error->empty())
      return false;
    std::string header = generator.Header();
    std::string source = generator.Source();
    WriteFile(context, generator.HeaderName(), header);
    WriteFile(context, generator.SourceName(), source);
  } catch (const std::logic_error &e) {
    *error = std::string("protoc-gen-cgrpc: internal error: ") + e.what();
    return false;
  }
  return true;
}

}  // namespace cgrpc
