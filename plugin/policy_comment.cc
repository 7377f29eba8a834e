// protoc-gen-cgrpc — the policy sentence of the comment above a method's client functions.
#include "policy_comment.h"

namespace cgrpc {
namespace {

std::string Timeout(const MethodPolicy &policy)
{
  return policy.timeout_ms > 0 ? "timeout " + std::to_string(policy.timeout_ms) + "ms"
                               : "timeout none";
}

std::string Jitter(double jitter)
{
  if (jitter == 1)
    return "full jitter";
  if (jitter == 0)
    return "no jitter";
  return "jitter " + FormatDouble(jitter);
}

std::string Retry(const RetryConfig &retry)
{
  if (retry.max_attempts == 0)
    return "no retries";
  std::string codes;
  for (int code : retry.codes)
    codes += (codes.empty() ? "" : ", ") + StatusCodeName(code);
  return "retried on " + codes + ": up to " + std::to_string(retry.max_attempts) +
         " attempts in all, backoff " + std::to_string(retry.initial_backoff_ms) + "ms x" +
         FormatDouble(retry.backoff_multiplier) + " per retry up to " +
         std::to_string(retry.max_backoff_ms) + "ms, " + Jitter(retry.jitter);
}

std::string Idempotency(const MethodPolicy &policy)
{
  if (policy.idempotent) {
    const std::string &header = policy.idempotency_key_header.empty()
                                    ? std::string(kDefaultKeyHeader)
                                    : policy.idempotency_key_header;
    return "idempotent, key in header \"" + header + "\"";
  }
  // Only (cgrpc.method).retry_non_idempotent lets such a method be retried.
  return policy.retry.max_attempts > 0 ? "not idempotent, retried anyway: a call may run twice"
                                       : "not idempotent";
}

}  // namespace

std::string PolicyComment(const MethodPolicy &policy)
{
  return "Policy: " + Timeout(policy) + "; " + Retry(policy.retry) + "; " + Idempotency(policy) +
         ".";
}

}  // namespace cgrpc
