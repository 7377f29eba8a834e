// protoc-gen-cgrpc — a method's baked call policy told in words, for the comment above its
// client functions.
#ifndef CGRPC_PLUGIN_POLICY_COMMENT_H
#define CGRPC_PLUGIN_POLICY_COMMENT_H

#include <string>

#include "options.h"

namespace cgrpc {

// One sentence, unwrapped: "Policy: timeout 2000ms; retried on UNAVAILABLE: up to 4 attempts
// in all, backoff 100ms x2 per retry up to 1000ms, full jitter; idempotent, key in header
// "x-request-id"."  The numbers are those baked into the method table.
std::string PolicyComment(const MethodPolicy &policy);

}  // namespace cgrpc

#endif
