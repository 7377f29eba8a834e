// protoc-gen-cgrpc — protobuf-c's naming rules, written afresh from its documented behaviour.
#include "names.h"

#include <cctype>
#include <set>

#include "protobuf-c/protobuf-c.pb.h"

namespace cgrpc {
namespace {

bool IsUpper(char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; }

// Shared by CamelToLower and CamelToUpper: they differ only in the case of the output.
std::string CamelToSeparated(const std::string &name, int (*convert)(int))
{
  std::string out;
  bool previous_upper = true;  // no '_' in front of a leading capital
  for (char c : name) {
    bool upper = IsUpper(c);
    if (upper && !previous_upper)
      out += '_';
    out += static_cast<char>(convert(static_cast<unsigned char>(c)));
    previous_upper = upper;
  }
  return out;
}

// The full name with the file's c_package in place of its proto package.
std::string CFullName(const std::string &full_name, const google::protobuf::FileDescriptor *file)
{
  const ProtobufCFileOptions &options = file->options().GetExtension(pb_c_file);
  if (!options.has_c_package())
    return full_name;
  const std::string &package = file->package();
  std::string rest = full_name.substr(package.size());  // ".Name", or "Name" without a package
  if (package.empty())
    rest = "." + rest;
  return options.c_package() + rest;
}

// Splits on dots, skips empty pieces, converts each piece and joins with "__".
std::string JoinPieces(const std::string &dotted, std::string (*convert)(const std::string &))
{
  std::string out;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos)
      dot = dotted.size();
    if (dot > start) {
      if (!out.empty())
        out += "__";
      out += convert(dotted.substr(start, dot - start));
    }
    start = dot + 1;
  }
  return out;
}

}  // namespace

std::string CamelToLower(const std::string &name) { return CamelToSeparated(name, std::tolower); }

std::string CamelToUpper(const std::string &name) { return CamelToSeparated(name, std::toupper); }

std::string ToCamel(const std::string &name)
{
  std::string out;
  bool capitalise = true;
  for (char c : name) {
    if (c == '_') {
      capitalise = true;
    } else {
      out += capitalise ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      capitalise = false;
    }
  }
  return out;
}

std::string FullNameToC(const std::string &full_name, const google::protobuf::FileDescriptor *file)
{
  return JoinPieces(CFullName(full_name, file), ToCamel);
}

std::string FullNameToLower(const std::string &full_name,
                            const google::protobuf::FileDescriptor *file)
{
  return JoinPieces(CFullName(full_name, file), CamelToLower);
}

std::string FullNameToUpper(const std::string &full_name,
                            const google::protobuf::FileDescriptor *file)
{
  return JoinPieces(CFullName(full_name, file), CamelToUpper);
}

std::string MemberName(const std::string &name)
{
  static const std::set<std::string> keywords = {
      // C11
      "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
      "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
      "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
      "typedef", "union", "unsigned", "void", "volatile", "while",
      // C++ beyond C
      "alignas", "alignof", "and", "and_eq", "asm", "bitand", "bitor", "bool", "catch",
      "char16_t", "char32_t", "char8_t", "class", "co_await", "co_return", "co_yield", "compl",
      "concept", "const_cast", "consteval", "constexpr", "constinit", "decltype", "delete",
      "dynamic_cast", "explicit", "export", "false", "friend", "mutable", "namespace", "new",
      "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private",
      "protected", "public", "reinterpret_cast", "requires", "static_assert", "static_cast",
      "template", "this", "thread_local", "throw", "true", "try", "typeid", "typename",
      "using", "virtual", "wchar_t", "xor", "xor_eq"};
  return keywords.count(name) ? name + "_" : name;
}

std::string MessageType(const google::protobuf::Descriptor *message)
{
  return FullNameToC(message->full_name(), message->file());
}

std::string MessageDescriptorVar(const google::protobuf::Descriptor *message)
{
  return FullNameToLower(message->full_name(), message->file()) + "__descriptor";
}

std::string MessageFreeFunction(const google::protobuf::Descriptor *message)
{
  return FullNameToLower(message->full_name(), message->file()) + "__free_unpacked";
}

std::string StripProto(const std::string &file_name)
{
  for (const char *suffix : {".protodevel", ".proto"}) {
    std::string s(suffix);
    if (file_name.size() > s.size() && file_name.compare(file_name.size() - s.size(), s.size(), s) == 0)
      return file_name.substr(0, file_name.size() - s.size());
  }
  return file_name;
}

std::string FileNameToMacro(const std::string &file_name)
{
  std::string out;
  for (char c : file_name)
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  return out;
}

}  // namespace cgrpc
