// protoc-gen-cgrpc — refuses to generate C names that collide.
//
// The check is deliberately simple; it covers what protoc-gen-cgrpc can see:
//  1. Every global name we generate (functions, types, macros, tables, and the statics of
//     the .cgrpc.c) must differ from every other one we generate, and from the names
//     protoc-gen-c emits for the messages, enums and services of the file and of the files
//     it imports: types, `_Closure`/`_Service`/`_ServiceDestroy` types, descriptors,
//     init/pack/unpack functions, INIT macros, enum values and service stubs
//     (e.g. a method `CgrpcService` makes protoc-gen-c emit `pkg__svc__cgrpc_service()`,
//     the name of our service table).
//  2. Our client and server functions are `<service>_client__*` and `<service>_server__*`,
//     and protoc-gen-c names everything of an entity `<entity>__*`; so no message, enum or
//     service seen by (1) may be named `<service>_client` or `<service>_server` in C
//     (e.g. a service `GreeterClient` or `GreeterServer` next to `Greeter`).
// Files that the .proto does not import are unknown here, and are not checked.
#ifndef CGRPC_PLUGIN_COLLISIONS_H
#define CGRPC_PLUGIN_COLLISIONS_H

#include <map>
#include <string>

#include <google/protobuf/descriptor.h>

#include "diagnostics.h"

namespace cgrpc {

class NameChecker {
 public:
  // Learns protoc-gen-c's names for file and what it imports.
  NameChecker(const google::protobuf::FileDescriptor *file, Diagnostics *diagnostics);

  // One of our names, described by what ("the client stub of method a.S.M"), defined at
  // where.  A collision is reported at where, or at protoc-gen-c's entity if that is in the
  // file (the method CgrpcService, rather than its service); returns false after reporting.
  bool Add(const std::string &name, const std::string &what, const std::string &where);

  // Rule 2: prefix ("a__greeter_client") is where what ("the client stubs of service
  // a.Greeter") live.
  void ReservePrefix(const std::string &prefix, const std::string &what, const std::string &where);

 private:
  struct Owner {
    std::string what;   // "protoc-gen-c's descriptor for message a.M", "the client stub of..."
    std::string where;  // "file.proto:LINE:COL", or "" outside the file
    bool protobuf_c;    // a name protoc-gen-c emits, rather than one of ours
  };

  void AddFile(const google::protobuf::FileDescriptor *file);
  void AddMessage(const google::protobuf::Descriptor *message);
  void AddEnum(const google::protobuf::EnumDescriptor *enumeration);
  void AddService(const google::protobuf::ServiceDescriptor *service);
  void AddProtobufC(const std::string &name, const std::string &what, const std::string &where);

  Diagnostics *diagnostics_;
  std::map<std::string, Owner> names_;     // C name -> who defines it
  std::map<std::string, Owner> entities_;  // protoc-gen-c's lower-case entity name -> entity
};

}  // namespace cgrpc

#endif
