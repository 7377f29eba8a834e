// protoc-gen-cgrpc — C names, following protobuf-c's rules so that our names sit next to
// protoc-gen-c's (and honour `option (pb_c_file).c_package`).
#ifndef CGRPC_PLUGIN_NAMES_H
#define CGRPC_PLUGIN_NAMES_H

#include <string>

#include <google/protobuf/descriptor.h>

namespace cgrpc {

// "HelloRequest" -> "hello_request"; "HTTPServer" -> "httpserver" (an underscore goes in
// front of an upper-case letter that follows a non-upper-case one, as protobuf-c does).
std::string CamelToLower(const std::string &name);
// "HelloRequest" -> "HELLO_REQUEST".
std::string CamelToUpper(const std::string &name);
// "hello_request" -> "HelloRequest": underscores dropped, the letter after one capitalised.
std::string ToCamel(const std::string &name);

// A fully-qualified proto name in protobuf-c's three spellings.  file is the file that
// declares the entity: its c_package, if any, replaces the proto package.
//   helloworld.HelloRequest -> Helloworld__HelloRequest / helloworld__hello_request /
//                              HELLOWORLD__HELLO_REQUEST
std::string FullNameToC(const std::string &full_name, const google::protobuf::FileDescriptor *file);
std::string FullNameToLower(const std::string &full_name,
                            const google::protobuf::FileDescriptor *file);
std::string FullNameToUpper(const std::string &full_name,
                            const google::protobuf::FileDescriptor *file);

// name, or name_ if it is a keyword of C or C++ (the header may be compiled as either), as
// protobuf-c does for fields: for struct members such as a method's handler.
std::string MemberName(const std::string &name);

// The C type, descriptor variable and free function protoc-gen-c emits for a message.
std::string MessageType(const google::protobuf::Descriptor *message);
std::string MessageDescriptorVar(const google::protobuf::Descriptor *message);
std::string MessageFreeFunction(const google::protobuf::Descriptor *message);

// "dir/foo.proto" -> "dir/foo": the base of every output file name, as protoc-gen-c has it.
std::string StripProto(const std::string &file_name);

// "dir/foo.proto" -> "DIR_FOO_PROTO": upper case, anything but letters and digits as '_'.
std::string FileNameToMacro(const std::string &file_name);

}  // namespace cgrpc

#endif
