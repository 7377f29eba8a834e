// protoc-gen-cgrpc — the (cgrpc.service) and (cgrpc.method) options of cgrpc/options.proto,
// validated and merged into the policy that is baked into each method.
#ifndef CGRPC_PLUGIN_OPTIONS_H
#define CGRPC_PLUGIN_OPTIONS_H

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "diagnostics.h"

namespace cgrpc {

// The header of the idempotency key when the options name none; the runtime's
// CGRPC_IDEMPOTENCY_KEY_HEADER (cgrpc/method.h).
constexpr char kDefaultKeyHeader[] = "idempotency-key";

// A valid retry policy (cgrpc_retry_policy in cgrpc/method.h), or none: max_attempts 0.
struct RetryConfig {
  int max_attempts = 0;  // 2..5 when there is a policy
  int64_t initial_backoff_ms = 0;
  int64_t max_backoff_ms = 0;
  double backoff_multiplier = 0;
  double jitter = 1.0;
  std::vector<int> codes;  // the retried gRPC status codes, ascending, each once
};

// One method's call policy.  Each member is the method's own option if set, else the
// service's, else the default; the retry policy is replaced or switched off as a whole.
struct MethodPolicy {
  int64_t timeout_ms = 0;  // deadline per call; 0: none
  RetryConfig retry;
  bool idempotent = false;             // our option or protobuf's idempotency_level
  std::string idempotency_key_header;  // "": the runtime's default
  bool retry_non_idempotent = false;   // retries of a method not idempotent are accepted
  // Where a service's retry policy was set, for the errors of the methods that inherit it.
  std::string service_retry_where;
};

// The service's defaults for its methods.  Invalid values are reported to diagnostics
// (and left at their defaults: an invalid retry policy is none).
MethodPolicy ReadServicePolicy(const google::protobuf::ServiceDescriptor *descriptor,
                               Diagnostics *diagnostics);

// The method's policy: its own options over the service's defaults.  Besides its own
// options' values it reports a retry policy on a method that is not idempotent, unless
// retry_non_idempotent accepts it.
MethodPolicy ReadMethodPolicy(const google::protobuf::MethodDescriptor *descriptor,
                              const MethodPolicy &service_policy, Diagnostics *diagnostics);

// The name of a gRPC status code as gRPC spells it ("UNAVAILABLE"), code 0..16.
std::string StatusCodeName(int code);

// The shortest decimal text that reads back as value ("2", "1.5", "0.1").
std::string FormatDouble(double value);

}  // namespace cgrpc

#endif
