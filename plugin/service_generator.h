// protoc-gen-cgrpc — one service: its method table, client stubs and server skeleton.
#ifndef CGRPC_PLUGIN_SERVICE_GENERATOR_H
#define CGRPC_PLUGIN_SERVICE_GENERATOR_H

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "collisions.h"
#include "diagnostics.h"
#include "options.h"
#include "templates.h"

namespace cgrpc {

// Unary, client-streaming, server-streaming or bidi, and the functions each has.
struct MethodKind;

class ServiceGenerator {
 public:
  // Fills the variables of the service and of each method once, reporting what cannot be
  // generated (bad options, name collisions) to diagnostics.
  ServiceGenerator(const google::protobuf::ServiceDescriptor *service, Diagnostics *diagnostics,
                   NameChecker *names);

  // Its section of the .cgrpc.h and of the .cgrpc.c.
  std::string Header() const;
  std::string Source() const;

 private:
  struct Method {
    const MethodKind *kind;
    Vars vars;
  };

  void AddMethod(const google::protobuf::MethodDescriptor *method, const MethodPolicy &policy);

  Vars vars_;
  std::vector<Method> methods_;
  Diagnostics *diagnostics_;
  NameChecker *names_;
};

}  // namespace cgrpc

#endif
