// protoc-gen-cgrpc — reading cgrpc/options.proto's extensions (compiled in, see local.mk).
#include "options.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <google/protobuf/descriptor.pb.h>

#include "cgrpc/options.pb.h"
#include "duration.h"

namespace cgrpc {
namespace {

// As gRPC spells them, indexed by code: the runtime's table too (status.c), which the plugin
// does not link.  Generated code names them CGRPC_STATUS_<NAME>, so tests/plugin compiling
// protos/retries.proto (every code but OK) against cgrpc/status.h checks this copy.
const char *const kStatusCodeNames[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};
constexpr int kStatusCodeCount = sizeof kStatusCodeNames / sizeof kStatusCodeNames[0];

// Headers HTTP/2 or the runtime sets on every call (besides grpc-* and pseudo-headers).
const char *const kReservedHeaders[] = {
    "connection", "content-type", "host", "keep-alive", "proxy-connection",
    "te", "transfer-encoding", "upgrade", "user-agent",
};

// The field numbers are the same in ServiceOptions and MethodOptions.
constexpr int kTimeout = ::cgrpc::ServiceOptions::kTimeoutFieldNumber;
constexpr int kRetry = ::cgrpc::ServiceOptions::kRetryFieldNumber;
constexpr int kIdempotent = ::cgrpc::ServiceOptions::kIdempotentFieldNumber;
constexpr int kKeyHeader = ::cgrpc::ServiceOptions::kIdempotencyKeyHeaderFieldNumber;
static_assert(kTimeout == ::cgrpc::MethodOptions::kTimeoutFieldNumber &&
                  kRetry == ::cgrpc::MethodOptions::kRetryFieldNumber &&
                  kIdempotent == ::cgrpc::MethodOptions::kIdempotentFieldNumber &&
                  kKeyHeader == ::cgrpc::MethodOptions::kIdempotencyKeyHeaderFieldNumber,
              "cgrpc.ServiceOptions and cgrpc.MethodOptions number their fields alike");

// value as a C-style string literal, for error messages.
std::string Quote(const std::string &value)
{
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char octal[8];
      std::snprintf(octal, sizeof octal, "\\%03o", c);
      out += octal;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The code named name exactly, or -1.
int StatusCodeNamed(const std::string &name)
{
  for (int code = 0; code < kStatusCodeCount; code++)
    if (name == kStatusCodeNames[code])
      return code;
  return -1;
}

std::string ToUpper(std::string text)
{
  for (char &c : text)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return text;
}

// Why name cannot be the idempotency key's header, or "" if it can.
std::string KeyHeaderProblem(const std::string &name)
{
  if (name.empty())
    return "must not be empty";
  if (name[0] == ':')
    return "pseudo-headers (\":...\") belong to HTTP/2";
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return "must be a gRPC metadata key: lower-case letters, digits, '-', '_' and '.'";
  if (name.compare(0, 5, "grpc-") == 0)
    return "names starting with \"grpc-\" are reserved for gRPC itself";
  if (name.size() >= 4 && name.compare(name.size() - 4, 4, "-bin") == 0)
    return "names ending in \"-bin\" are binary metadata, and the key is text";
  for (const char *reserved : kReservedHeaders)
    if (name == reserved)
      return "HTTP/2 or gRPC sets this header itself";
  return "";
}

// One (cgrpc.service) or (cgrpc.method) option of one service or method: how errors name it
// and where its fields are.
class Option {
 public:
  // name is "(cgrpc.service)" or "(cgrpc.method)", owner e.g. "method foo.Svc.Get".
  template <typename Descriptor, typename Extension>
  Option(const Descriptor *descriptor, const Extension &extension, const std::string &name,
         const std::string &kind, Diagnostics *diagnostics)
      : options_path_(OptionsPathOf(descriptor)), entity_path_(PathOf(descriptor)),
        extension_number_(extension.number()), name_(name),
        owner_(kind + " " + descriptor->full_name()), diagnostics_(diagnostics)
  {
  }

  // Where the option's field at fields (a path into it, e.g. {retry, max_attempts}) is set:
  // the field itself (`option (cgrpc.method).retry.max_attempts = 3`), else the closest
  // enclosing field, else the whole extension (`option (cgrpc.method) = { ... }`), else the
  // entity.
  std::string Where(const std::vector<int> &fields) const
  {
    std::vector<SourcePath> paths;
    for (size_t n = fields.size() + 1; n-- > 0;) {
      SourcePath path = options_path_;
      path.push_back(extension_number_);
      path.insert(path.end(), fields.begin(), fields.begin() + n);
      paths.push_back(path);
    }
    paths.push_back(options_path_);
    paths.push_back(entity_path_);
    return diagnostics_->Where(paths);
  }

  // "WHERE: (cgrpc.method).FIELD VALUE of method foo.Svc.Get: message"; value may be "".
  void Error(const std::vector<int> &fields, const std::string &field, const std::string &value,
             const std::string &message) const
  {
    diagnostics_->Error(Where(fields), name_ + "." + field + (value.empty() ? "" : " " + value) +
                                           " of " + owner_ + ": " + message);
  }

 private:
  SourcePath options_path_;
  SourcePath entity_path_;
  int extension_number_;
  std::string name_;
  std::string owner_;
  Diagnostics *diagnostics_;
};

// Reads the duration at fields (field names it in messages) into *ms.
bool ReadDuration(const Option &option, const std::vector<int> &fields, const std::string &field,
                  const std::string &value, int64_t *ms)
{
  std::string error;
  if (ParseDurationMs(value, ms, &error))
    return true;
  option.Error(fields, field, Quote(value), error);
  return false;
}

// A retry policy as gRFC A6 accepts it, with our caps; false (errors reported) if not.
bool ReadRetryPolicy(const ::cgrpc::RetryPolicy &proto, const Option &option,
                     RetryConfig *policy)
{
  using Proto = ::cgrpc::RetryPolicy;
  bool ok = true;
  auto required = [&](const std::string &field, const std::string &why) {
    option.Error({kRetry}, "retry", "", field + " is required (" + why + ")");
    ok = false;
  };

  if (!proto.has_max_attempts()) {
    required("max_attempts", "2 to 5 attempts in all, the first included");
  } else if (proto.max_attempts() < 2 || proto.max_attempts() > 5) {
    option.Error({kRetry, Proto::kMaxAttemptsFieldNumber}, "retry.max_attempts",
                 std::to_string(proto.max_attempts()),
                 "must be 2 to 5 (attempts in all, the first included; gRFC A6 caps them at 5)");
    ok = false;
  } else {
    policy->max_attempts = static_cast<int>(proto.max_attempts());
  }

  bool backoffs = true;
  if (!proto.has_initial_backoff()) {
    required("initial_backoff", "the delay before the first retry, e.g. \"100ms\"");
    backoffs = false;
  } else {
    backoffs = ReadDuration(option, {kRetry, Proto::kInitialBackoffFieldNumber},
                            "retry.initial_backoff", proto.initial_backoff(),
                            &policy->initial_backoff_ms);
  }
  if (!proto.has_max_backoff()) {
    required("max_backoff", "the longest delay, e.g. \"1s\"");
    backoffs = false;
  } else {
    backoffs = ReadDuration(option, {kRetry, Proto::kMaxBackoffFieldNumber}, "retry.max_backoff",
                            proto.max_backoff(), &policy->max_backoff_ms) &&
               backoffs;
  }
  if (backoffs && policy->max_backoff_ms < policy->initial_backoff_ms) {
    option.Error({kRetry, Proto::kMaxBackoffFieldNumber}, "retry.max_backoff",
                 Quote(proto.max_backoff()),
                 "must be at least initial_backoff " + Quote(proto.initial_backoff()));
    backoffs = false;
  }
  ok = ok && backoffs;

  const double multiplier = proto.backoff_multiplier();
  const std::vector<int> multiplier_field = {kRetry, Proto::kBackoffMultiplierFieldNumber};
  if (!proto.has_backoff_multiplier()) {
    required("backoff_multiplier",
             "what each delay is multiplied by for the next, 1 or more; gRFC A6 has no default");
  } else if (!(multiplier >= 1)) {
    option.Error(multiplier_field, "retry.backoff_multiplier", FormatDouble(multiplier),
                 "must be at least 1 (1 keeps the delay constant)");
    ok = false;
  } else if (std::isinf(multiplier)) {
    option.Error(multiplier_field, "retry.backoff_multiplier", FormatDouble(multiplier),
                 "must be finite");
    ok = false;
  } else {
    policy->backoff_multiplier = multiplier;
  }

  const double jitter = proto.jitter();
  if (!(jitter >= 0 && jitter <= 1)) {
    option.Error({kRetry, Proto::kJitterFieldNumber}, "retry.jitter", FormatDouble(jitter),
                 "must be from 0 to 1 (the fraction of each delay that is random)");
    ok = false;
  } else {
    policy->jitter = jitter;
  }

  if (proto.retryable_status_codes_size() == 0)
    required("retryable_status_codes", "the status codes to retry, e.g. \"UNAVAILABLE\"");
  for (int i = 0; i < proto.retryable_status_codes_size(); i++) {
    const std::string &name = proto.retryable_status_codes(i);
    const int code = StatusCodeNamed(name);
    const int upper = StatusCodeNamed(ToUpper(name));
    std::string problem;
    if (upper == 0) {
      problem = "OK is success: it is never retried";
    } else if (code < 0 && upper > 0) {
      problem = "status codes are named in upper case, as gRPC spells them: " +
                Quote(ToUpper(name));
    } else if (code < 0) {
      problem = "not a gRPC status code; they are";
      for (int c = 1; c < kStatusCodeCount; c++)
        problem += std::string(c == 1 ? " " : ", ") + kStatusCodeNames[c];
    }
    if (!problem.empty()) {
      option.Error({kRetry, Proto::kRetryableStatusCodesFieldNumber, i},
                   "retry.retryable_status_codes", Quote(name), problem);
      ok = false;
    } else {
      policy->codes.push_back(code);
    }
  }
  std::sort(policy->codes.begin(), policy->codes.end());
  policy->codes.erase(std::unique(policy->codes.begin(), policy->codes.end()),
                      policy->codes.end());
  return ok;
}

// The fields (cgrpc.service) and (cgrpc.method) have in common, over policy.  An invalid
// value leaves what was there, except a retry policy: an invalid one is none.
template <typename Options>
void ReadPolicyOptions(const Options &options, const Option &option, MethodPolicy *policy)
{
  if (options.has_timeout())
    ReadDuration(option, {kTimeout}, "timeout", options.timeout(), &policy->timeout_ms);
  if (options.has_retry()) {
    RetryConfig retry;
    policy->retry = ReadRetryPolicy(options.retry(), option, &retry) ? retry : RetryConfig();
  }
  if (options.has_idempotent())
    policy->idempotent = options.idempotent();
  if (options.has_idempotency_key_header()) {
    const std::string &header = options.idempotency_key_header();
    const std::string problem = KeyHeaderProblem(header);
    if (problem.empty())
      policy->idempotency_key_header = header;
    else
      option.Error({kKeyHeader}, "idempotency_key_header", Quote(header), problem);
  }
  if (options.has_retry_non_idempotent())
    policy->retry_non_idempotent = options.retry_non_idempotent();
}

}  // namespace

std::string StatusCodeName(int code)
{
  return code >= 0 && code < kStatusCodeCount ? kStatusCodeNames[code] : std::to_string(code);
}

std::string FormatDouble(double value)
{
  char text[32];
  for (int precision = 1; precision <= 17; precision++) {
    std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value)
      break;
  }
  return text;
}

// (The generated cgrpc::service and cgrpc::method are the extensions: parameters named
// otherwise.)
MethodPolicy ReadServicePolicy(const google::protobuf::ServiceDescriptor *descriptor,
                               Diagnostics *diagnostics)
{
  const Option option(descriptor, ::cgrpc::service, "(cgrpc.service)", "service", diagnostics);
  MethodPolicy policy;
  ReadPolicyOptions(descriptor->options().GetExtension(::cgrpc::service), option, &policy);
  if (policy.retry.max_attempts > 0)
    policy.service_retry_where = option.Where({kRetry});
  return policy;
}

MethodPolicy ReadMethodPolicy(const google::protobuf::MethodDescriptor *descriptor,
                              const MethodPolicy &service_policy, Diagnostics *diagnostics)
{
  using google::protobuf::MethodOptions;
  const Option option(descriptor, ::cgrpc::method, "(cgrpc.method)", "method", diagnostics);
  const ::cgrpc::MethodOptions &options = descriptor->options().GetExtension(::cgrpc::method);
  MethodPolicy policy = service_policy;
  ReadPolicyOptions(options, option, &policy);

  if (options.no_retry()) {
    if (options.has_retry())
      option.Error({::cgrpc::MethodOptions::kNoRetryFieldNumber}, "no_retry", "",
                   "contradicts the method's own (cgrpc.method).retry: keep one of them");
    else
      policy.retry = RetryConfig();
  }

  const MethodOptions::IdempotencyLevel level = descriptor->options().idempotency_level();
  if (level == MethodOptions::IDEMPOTENT || level == MethodOptions::NO_SIDE_EFFECTS) {
    if (options.has_idempotent() && !options.idempotent())
      option.Error({kIdempotent}, "idempotent", "false",
                   "contradicts the method's option idempotency_level = " +
                       MethodOptions::IdempotencyLevel_Name(level));
    policy.idempotent = true;
  }

  if (options.has_idempotency_key_header() && !policy.idempotent)
    option.Error({kKeyHeader}, "idempotency_key_header", Quote(options.idempotency_key_header()),
                 "the method is not idempotent, so its calls carry no idempotency key: mark it "
                 "idempotent, or remove the header");

  if (policy.retry.max_attempts > 0 && !policy.idempotent && !policy.retry_non_idempotent) {
    const bool own = options.has_retry();
    const std::string where = own ? option.Where({kRetry}) : diagnostics->WhereIs(descriptor);
    diagnostics->Error(
        where,
        "method " + descriptor->full_name() + " is retried (" +
            (own ? "(cgrpc.method).retry"
                 : "(cgrpc.service).retry at " + service_policy.service_retry_where) +
            ") but not idempotent: a retried write without an idempotency key can run twice, "
            "since the attempt that failed may have reached the server.  Mark the method "
            "idempotent ((cgrpc.method).idempotent = true, or option idempotency_level = "
            "IDEMPOTENT) so that every attempt carries the same key for the server to "
            "de-duplicate, " +
            (own ? "" : "switch the retries off with (cgrpc.method).no_retry = true, ") +
            "or accept the risk with (cgrpc.method).retry_non_idempotent = true");
  }
  return policy;
}

}  // namespace cgrpc
