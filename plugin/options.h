// protoc-gen-cgrpc — the (cgrpc.service) and (cgrpc.method) options of cgrpc/options.proto,
// validated and merged into the policy that is baked into each method.
#ifndef CGRPC_PLUGIN_OPTIONS_H
#define CGRPC_PLUGIN_OPTIONS_H

#include <cstdint>

#include <google/protobuf/descriptor.h>

#include "diagnostics.h"

namespace cgrpc {

// One method's call policy.  Each member is the method's own option if set, else the
// service's, else the default.  New options (retry, idempotency) become new members,
// read by ReadServicePolicy/ReadMethodPolicy alike.
struct MethodPolicy {
  int64_t timeout_ms = 0;  // deadline per call; 0: none
};

// The service's defaults for its methods.  Invalid values are reported to diagnostics
// (and left at their defaults).
MethodPolicy ReadServicePolicy(const google::protobuf::ServiceDescriptor *descriptor,
                               Diagnostics *diagnostics);

// The method's policy: its own options over the service's defaults.
MethodPolicy ReadMethodPolicy(const google::protobuf::MethodDescriptor *descriptor,
                              const MethodPolicy &service_policy, Diagnostics *diagnostics);

}  // namespace cgrpc

#endif
