// protoc-gen-cgrpc — parsing plugin parameters.
#include "parameters.h"

#include <map>
#include <utility>
#include <vector>

#include <google/protobuf/compiler/code_generator.h>

namespace cgrpc {
namespace {

// Applies one parameter's value; false with *error if the value is not acceptable.
using Setter = bool (*)(const std::string &value, Parameters *parameters, std::string *error);

const std::map<std::string, Setter> &KnownParameters()
{
  static const std::map<std::string, Setter> known = {};
  return known;
}

}  // namespace

bool ParseParameters(const std::string &text, Parameters *parameters, std::string *error)
{
  std::vector<std::pair<std::string, std::string>> pairs;
  google::protobuf::compiler::ParseGeneratorParameter(text, &pairs);
  for (const auto &pair : pairs) {
    auto it = KnownParameters().find(pair.first);
    if (it == KnownParameters().end()) {
      *error = "protoc-gen-cgrpc: unknown parameter '" + pair.first + "'";
      return false;
    }
    if (!it->second(pair.second, parameters, error))
      return false;
  }
  return true;
}

}  // namespace cgrpc
