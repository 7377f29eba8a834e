// protoc-gen-cgrpc — errors about a .proto, reported as "file.proto:LINE:COL: message".
#ifndef CGRPC_PLUGIN_DIAGNOSTICS_H
#define CGRPC_PLUGIN_DIAGNOSTICS_H

#include <map>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

namespace cgrpc {

// A path into the file's FileDescriptorProto, as SourceCodeInfo has them
// ([6, 0] is the first service, [6, 0, 2, 1] its second method...).
using SourcePath = std::vector<int>;

SourcePath PathOf(const google::protobuf::Descriptor *message);
SourcePath PathOf(const google::protobuf::EnumDescriptor *enumeration);
SourcePath PathOf(const google::protobuf::ServiceDescriptor *service);
SourcePath PathOf(const google::protobuf::MethodDescriptor *method);
// The options of a service or method.
SourcePath OptionsPathOf(const google::protobuf::ServiceDescriptor *service);
SourcePath OptionsPathOf(const google::protobuf::MethodDescriptor *method);

// Collects the errors found in one file; all of them are reported together.
class Diagnostics {
 public:
  explicit Diagnostics(const google::protobuf::FileDescriptor *file);

  // "file.proto:LINE:COL" of the first of paths that has a source location (try the most
  // precise first: an option's field, the option, the method), or "file.proto".
  std::string Where(const std::vector<SourcePath> &paths) const;
  // The same for an entity of the file, or "" for one of another file.
  template <typename Descriptor>
  std::string WhereIs(const Descriptor *descriptor) const
  {
    return descriptor->file()->name() == file_name_ ? Where({PathOf(descriptor)}) : "";
  }

  void Error(const std::string &where, const std::string &message);
  bool ok() const { return errors_.empty(); }
  // One error per line.
  std::string Text() const;

 private:
  std::string file_name_;
  std::map<SourcePath, std::pair<int, int>> starts_;  // path -> (line, column), 0-based
  std::vector<std::string> errors_;
};

}  // namespace cgrpc

#endif
