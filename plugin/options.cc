// protoc-gen-cgrpc — reading cgrpc/options.proto's extensions (compiled in, see local.mk).
#include "options.h"

#include <cstdio>
#include <string>

#include "cgrpc/options.pb.h"
#include "duration.h"

namespace cgrpc {
namespace {

// value as a C-style string literal, for error messages.
std::string Quote(const std::string &value)
{
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char octal[8];
      std::snprintf(octal, sizeof octal, "\\%03o", c);
      out += octal;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Where an option field is set: the field itself (`option (cgrpc.method).timeout = ...`),
// else the whole extension (`option (cgrpc.method) = { ... }`), else the entity.
std::vector<SourcePath> OptionFieldPaths(const SourcePath &options_path,
                                         const SourcePath &entity_path, int extension_number,
                                         int field_number)
{
  SourcePath extension = options_path;
  extension.push_back(extension_number);
  SourcePath field = extension;
  field.push_back(field_number);
  return {field, extension, options_path, entity_path};
}

// Reads a duration option into *ms; option names it in messages, e.g. "(cgrpc.method).timeout",
// and owner the entity, e.g. "method foo.Svc.Get".
void ReadTimeout(const std::string &value, const std::string &option, const std::string &owner,
                 const std::string &where, int64_t *ms, Diagnostics *diagnostics)
{
  std::string error;
  if (!ParseDurationMs(value, ms, &error))
    diagnostics->Error(where, option + " " + Quote(value) + " of " + owner + ": " + error);
}

// The options of a service or a method over policy: (cgrpc.service) and (cgrpc.method) have
// the same fields.  extension_name is "(cgrpc.service)" or "(cgrpc.method)", kind "service"
// or "method".
template <typename Descriptor, typename Extension>
void ReadPolicyOptions(const Descriptor *descriptor, const Extension &extension,
                       const std::string &extension_name, const std::string &kind,
                       MethodPolicy *policy, Diagnostics *diagnostics)
{
  const auto &options = descriptor->options().GetExtension(extension);
  auto where = [&](int field_number) {
    return diagnostics->Where(OptionFieldPaths(OptionsPathOf(descriptor), PathOf(descriptor),
                                               extension.number(), field_number));
  };
  const std::string owner = kind + " " + descriptor->full_name();
  if (options.has_timeout())
    ReadTimeout(options.timeout(), extension_name + ".timeout", owner,
                where(options.kTimeoutFieldNumber), &policy->timeout_ms, diagnostics);
}

}  // namespace

// (The generated cgrpc::service and cgrpc::method are the extensions: parameters named
// otherwise.)
MethodPolicy ReadServicePolicy(const google::protobuf::ServiceDescriptor *descriptor,
                               Diagnostics *diagnostics)
{
  MethodPolicy policy;
  ReadPolicyOptions(descriptor, ::cgrpc::service, "(cgrpc.service)", "service", &policy,
                    diagnostics);
  return policy;
}

MethodPolicy ReadMethodPolicy(const google::protobuf::MethodDescriptor *descriptor,
                              const MethodPolicy &service_policy, Diagnostics *diagnostics)
{
  MethodPolicy policy = service_policy;
  ReadPolicyOptions(descriptor, ::cgrpc::method, "(cgrpc.method)", "method", &policy, diagnostics);
  return policy;
}

}  // namespace cgrpc
