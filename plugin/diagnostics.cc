// protoc-gen-cgrpc — source locations for error messages.
#include "diagnostics.h"

#include <google/protobuf/descriptor.pb.h>

namespace cgrpc {

using google::protobuf::FileDescriptorProto;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using google::protobuf::ServiceDescriptorProto;

SourcePath PathOf(const google::protobuf::Descriptor *message)
{
  if (message->containing_type() == nullptr)
    return {FileDescriptorProto::kMessageTypeFieldNumber, message->index()};
  SourcePath path = PathOf(message->containing_type());
  path.push_back(google::protobuf::DescriptorProto::kNestedTypeFieldNumber);
  path.push_back(message->index());
  return path;
}

SourcePath PathOf(const google::protobuf::EnumDescriptor *enumeration)
{
  if (enumeration->containing_type() == nullptr)
    return {FileDescriptorProto::kEnumTypeFieldNumber, enumeration->index()};
  SourcePath path = PathOf(enumeration->containing_type());
  path.push_back(google::protobuf::DescriptorProto::kEnumTypeFieldNumber);
  path.push_back(enumeration->index());
  return path;
}

SourcePath PathOf(const ServiceDescriptor *service)
{
  return {FileDescriptorProto::kServiceFieldNumber, service->index()};
}

SourcePath PathOf(const MethodDescriptor *method)
{
  SourcePath path = PathOf(method->service());
  path.push_back(ServiceDescriptorProto::kMethodFieldNumber);
  path.push_back(method->index());
  return path;
}

SourcePath OptionsPathOf(const ServiceDescriptor *service)
{
  SourcePath path = PathOf(service);
  path.push_back(ServiceDescriptorProto::kOptionsFieldNumber);
  return path;
}

SourcePath OptionsPathOf(const MethodDescriptor *method)
{
  SourcePath path = PathOf(method);
  path.push_back(google::protobuf::MethodDescriptorProto::kOptionsFieldNumber);
  return path;
}

Diagnostics::Diagnostics(const google::protobuf::FileDescriptor *file) : file_name_(file->name())
{
  FileDescriptorProto proto;
  file->CopySourceCodeInfoTo(&proto);
  for (const auto &location : proto.source_code_info().location()) {
    SourcePath path(location.path().begin(), location.path().end());
    // The first location of a path is the one to report (an option set twice has two).
    if (location.span_size() >= 2)
      starts_.emplace(path, std::make_pair(location.span(0), location.span(1)));
  }
}

std::string Diagnostics::Where(const std::vector<SourcePath> &paths) const
{
  for (const SourcePath &path : paths) {
    auto it = starts_.find(path);
    if (it != starts_.end())
      return file_name_ + ":" + std::to_string(it->second.first + 1) + ":" +
             std::to_string(it->second.second + 1);
  }
  return file_name_;
}

void Diagnostics::Error(const std::string &where, const std::string &message)
{
  errors_.push_back(where + ": " + message);
}

std::string Diagnostics::Text() const
{
  std::string text;
  for (const std::string &error : errors_)
    text += (text.empty() ? "" : "\n") + error;
  return text;
}

}  // namespace cgrpc
