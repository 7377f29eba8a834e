// protoc-gen-cgrpc — proto comments carried into the generated header.
#ifndef CGRPC_PLUGIN_COMMENTS_H
#define CGRPC_PLUGIN_COMMENTS_H

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

namespace cgrpc {

// The leading comment of a service or method as lines of plain text, safe inside a C block
// comment ("*/" and "/*" broken up, control characters blanked), without trailing blanks
// or empty lines around it.  Empty when there is no comment.
std::vector<std::string> LeadingComment(const google::protobuf::ServiceDescriptor *service);
std::vector<std::string> LeadingComment(const google::protobuf::MethodDescriptor *method);

// text broken between words (at spaces and newlines) into lines of at most width characters (a longer word has a
// line of its own); the lines after the first start with indent, which counts in width.
std::vector<std::string> WrapWords(const std::string &text, size_t width,
                                   const std::string &indent);

// Lines as the inside of a C block comment (templates common.comment_*) whose "/*" has
// indent in front of it.
std::string CommentBody(const std::vector<std::string> &lines, const std::string &indent = "");

}  // namespace cgrpc

#endif
