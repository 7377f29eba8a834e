// protoc-gen-cgrpc — the file-level variables and templates.
#include "file_generator.h"

#include "names.h"

namespace cgrpc {

FileGenerator::FileGenerator(const google::protobuf::FileDescriptor *file)
    : base_name_(StripProto(file->name())), diagnostics_(file), names_(file, &diagnostics_)
{
  vars_["proto"] = file->name();
  vars_["guard"] = "CGRPC_" + FileNameToMacro(file->name()) + "__INCLUDED";
  vars_["pbc_header"] = base_name_ + ".pb-c.h";
  vars_["cgrpc_header"] = HeaderName();
  vars_["version"] = std::to_string(kGeneratedCodeVersion);
  for (int i = 0; i < file->service_count(); i++)
    services_.push_back(
        std::make_unique<ServiceGenerator>(file->service(i), &diagnostics_, &names_));
}

std::string FileGenerator::Header() const
{
  Vars vars = vars_;
  for (const auto &service : services_)
    vars["services"] += service->Header();
  return Render("header.file", vars);
}

std::string FileGenerator::Source() const
{
  Vars vars = vars_;
  for (const auto &service : services_)
    vars["services"] += service->Source();
  // Each service ends with its own newline.
  return RenderInline("source.file", vars);
}

}  // namespace cgrpc
