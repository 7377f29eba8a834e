// protoc-gen-cgrpc — the names protoc-gen-c emits, and ours against them.
#include "collisions.h"

#include <set>

#include "names.h"

namespace cgrpc {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::ServiceDescriptor;

NameChecker::NameChecker(const FileDescriptor *file, Diagnostics *diagnostics)
    : diagnostics_(diagnostics)
{
  std::set<const FileDescriptor *> seen;
  std::vector<const FileDescriptor *> todo = {file};
  while (!todo.empty()) {
    const FileDescriptor *f = todo.back();
    todo.pop_back();
    if (!seen.insert(f).second)
      continue;
    AddFile(f);
    for (int i = 0; i < f->dependency_count(); i++)
      todo.push_back(f->dependency(i));
  }
}

void NameChecker::AddProtobufC(const std::string &name, const std::string &what,
                               const std::string &where)
{
  names_.emplace(name, Owner{"protoc-gen-c's " + what, where, true});  // its clashes are not ours
}

void NameChecker::AddFile(const FileDescriptor *file)
{
  for (int i = 0; i < file->message_type_count(); i++)
    AddMessage(file->message_type(i));
  for (int i = 0; i < file->enum_type_count(); i++)
    AddEnum(file->enum_type(i));
  for (int i = 0; i < file->service_count(); i++)
    AddService(file->service(i));
}

void NameChecker::AddMessage(const Descriptor *message)
{
  const FileDescriptor *file = message->file();
  const std::string &full = message->full_name();
  const std::string lower = FullNameToLower(full, file);
  const std::string what = "message " + full;
  const std::string where = diagnostics_->WhereIs(message);
  entities_.emplace(lower, Owner{what, where, true});
  AddProtobufC(FullNameToC(full, file), "type for " + what, where);
  AddProtobufC(FullNameToC(full, file) + "_Closure", "closure type for " + what, where);
  AddProtobufC(FullNameToUpper(full, file) + "__INIT", "initialiser for " + what, where);
  for (const char *suffix : {"descriptor", "init", "get_packed_size", "pack", "pack_to_buffer",
                             "unpack", "free_unpacked"})
    AddProtobufC(lower + "__" + suffix, std::string(suffix) + " for " + what, where);
  for (int i = 0; i < message->nested_type_count(); i++)
    AddMessage(message->nested_type(i));
  for (int i = 0; i < message->enum_type_count(); i++)
    AddEnum(message->enum_type(i));
}

void NameChecker::AddEnum(const EnumDescriptor *enumeration)
{
  const FileDescriptor *file = enumeration->file();
  const std::string &full = enumeration->full_name();
  const std::string what = "enum " + full;
  const std::string where = diagnostics_->WhereIs(enumeration);
  entities_.emplace(FullNameToLower(full, file), Owner{what, where, true});
  AddProtobufC(FullNameToC(full, file), "type for " + what, where);
  AddProtobufC(FullNameToLower(full, file) + "__descriptor", "descriptor for " + what, where);
  const std::string upper = FullNameToUpper(full, file);
  for (int i = 0; i < enumeration->value_count(); i++)
    AddProtobufC(upper + "__" + enumeration->value(i)->name(),
                 "value " + enumeration->value(i)->name() + " of " + what, where);
}

void NameChecker::AddService(const ServiceDescriptor *service)
{
  const FileDescriptor *file = service->file();
  const std::string &full = service->full_name();
  const std::string lower = FullNameToLower(full, file);
  const std::string upper = FullNameToUpper(full, file);
  const std::string type = FullNameToC(full, file);
  const std::string what = "service " + full;
  const std::string where = diagnostics_->WhereIs(service);
  entities_.emplace(lower, Owner{what, where, true});
  AddProtobufC(type + "_Service", "type for " + what, where);
  AddProtobufC(type + "_ServiceDestroy", "destroy type for " + what, where);
  AddProtobufC(lower + "__init", "init function for " + what, where);
  AddProtobufC(lower + "__descriptor", "descriptor for " + what, where);
  AddProtobufC(lower + "__method_indices_by_name", "method index for " + what, where);
  AddProtobufC(upper + "__BASE_INIT", "BASE_INIT macro for " + what, where);
  AddProtobufC(upper + "__INIT", "INIT macro for " + what, where);
  for (int i = 0; i < service->method_count(); i++) {
    const google::protobuf::MethodDescriptor *method = service->method(i);
    AddProtobufC(lower + "__" + CamelToLower(method->name()),
                 "function for method " + method->full_name(), diagnostics_->WhereIs(method));
  }
}

bool NameChecker::Add(const std::string &name, const std::string &what, const std::string &where)
{
  auto inserted = names_.emplace(name, Owner{what, where, false});
  if (inserted.second)
    return true;
  const Owner &other = inserted.first->second;
  diagnostics_->Error(other.protobuf_c && !other.where.empty() ? other.where : where,
                      name + " is " + other.what + " and would also be " + what +
                          ": rename one of them");
  return false;
}

void NameChecker::ReservePrefix(const std::string &prefix, const std::string &what,
                                const std::string &where)
{
  auto it = entities_.find(prefix);
  if (it != entities_.end())
    diagnostics_->Error(it->second.where.empty() ? where : it->second.where,
                        "protoc-gen-c's names for " + it->second.what + " (" + prefix +
                            "__*) would mix with " + what + " (" + prefix +
                            "__*): rename one of them");
}

}  // namespace cgrpc
