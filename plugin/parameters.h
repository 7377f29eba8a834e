// protoc-gen-cgrpc — plugin parameters: --cgrpc_out=KEY=VALUE,KEY=VALUE:DIR.
#ifndef CGRPC_PLUGIN_PARAMETERS_H
#define CGRPC_PLUGIN_PARAMETERS_H

#include <string>

namespace cgrpc {

// What the parameters select.  None are defined yet; each new one gets a member here and
// an entry in parameters.cc's table.
struct Parameters {};

// Parses protoc's parameter string.  An unknown key is an error:
// "protoc-gen-cgrpc: unknown parameter 'KEY'".
bool ParseParameters(const std::string &text, Parameters *parameters, std::string *error);

}  // namespace cgrpc

#endif
