// protoc-gen-cgrpc — the variables of a service and its methods, and their templates.
#include "service_generator.h"

#include <algorithm>

#include <google/protobuf/descriptor.pb.h>

#include "comments.h"
#include "names.h"
#include "options.h"

namespace cgrpc {

using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

// The functions of a method of each kind are sections of header_method.tmpl and
// source_method.tmpl, the same name in both, generated in this order.
struct MethodKind {
  const char *enumerator;           // in the method table
  const char *words;                // in comments and messages
  const char *section;              // its handler_type_* and invoke_* sections
  std::vector<std::string> client;  // the client functions
  std::vector<std::string> server;  // what the handler reads and writes its streams with

  bool Has(const std::string &function) const
  {
    return std::find(client.begin(), client.end(), function) != client.end() ||
           std::find(server.begin(), server.end(), function) != server.end();
  }
};

namespace {

const MethodKind kUnary = {"CGRPC_METHOD_UNARY", "unary", "unary",
                           {"unary_call", "unary_async"}, {}};
const MethodKind kClientStreaming = {
    "CGRPC_METHOD_CLIENT_STREAMING", "client-streaming", "client_streaming",
    {"stream_start", "stream_send", "stream_close_and_recv", "stream_async"}, {"server_recv"}};
const MethodKind kServerStreaming = {
    "CGRPC_METHOD_SERVER_STREAMING", "server-streaming", "server_streaming",
    {"stream_start", "stream_recv", "stream_async"}, {"server_send"}};
const MethodKind kBidi = {
    "CGRPC_METHOD_BIDI_STREAMING", "bidi-streaming", "bidi",
    {"stream_start", "stream_send", "stream_recv", "stream_async"}, {"server_recv", "server_send"}};

const MethodKind &KindOf(const MethodDescriptor *method)
{
  if (method->client_streaming())
    return method->server_streaming() ? kBidi : kClientStreaming;
  return method->server_streaming() ? kServerStreaming : kUnary;
}

// The names we generate, and how collision errors describe them; ours is "service" or
// "method", whose full name follows.  A method's name is checked only if its kind has the
// function (MethodKind::Has) that defines it, if one is named.
struct GeneratedName {
  const char *var;
  const char *what;
  const char *function = nullptr;
};

const GeneratedName kServiceNames[] = {
    {"service_table", "the service table of service"},
    {"method_table", "the method table of service"},
    {"server_type", "the server skeleton type of service"},
    {"server_init", "the server skeleton initialiser of service"},
    {"register_fn", "the register function of service"},
};

const GeneratedName kMethodNames[] = {
    {"index_macro", "the index macro of method"},
    {"client_fn", "the client stub of method"},
    {"send_fn", "the send function of method", "stream_send"},
    {"recv_fn", "the receive function of method", "stream_recv"},
    {"close_and_recv_fn", "the close-and-receive function of method", "stream_close_and_recv"},
    {"async_fn", "the asynchronous client stub of method"},
    {"done_type", "the callback type of method", "unary_async"},
    {"handler_type", "the handler type of method"},
    {"server_recv_fn", "the server's receive function of method", "server_recv"},
    {"server_send_fn", "the server's send function of method", "server_send"},
    {"invoke_fn", "the handler invoker of method"},
    {"done_fn", "the callback invoker of method", "unary_async"},
    {"policy_var", "the policy of method"},
};

// A double as C source: always with a point or an exponent, so it reads as a double.
std::string DoubleLiteral(double value)
{
  std::string text = FormatDouble(value);
  return text.find_first_of(".e") == std::string::npos ? text + ".0" : text;
}

// The width of the policy's lines in the comment above the stubs: with " * " in front, 91
// columns.
constexpr size_t kPolicyWidth = 88;

// The policy baked into the method table (policy_var's initialiser) and told in the comment
// above the stubs ($policy$, common.comment_* lines).
void AddPolicyVars(const MethodPolicy &policy, Vars *vars)
{
  Vars &v = *vars;
  const RetryConfig &retry = policy.retry;
  v["timeout_ms"] = std::to_string(policy.timeout_ms);
  v["idempotent"] = policy.idempotent ? "1" : "0";
  v["key_header"] = policy.idempotency_key_header.empty() ? kDefaultKeyHeader
                                                          : policy.idempotency_key_header;
  v["policy_key_header"] = policy.idempotency_key_header.empty()
                               ? ""
                               : Render("source_method.policy_key_header", v);

  Vars words = v;  // in the comment
  words["key_header"] = "\"" + v["key_header"] + "\"";
  words["timeout"] = RenderInline(
      policy.timeout_ms > 0 ? "header_method.policy_timeout" : "header_method.policy_no_timeout",
      v);
  words["retry"] = RenderInline("header_method.policy_no_retry", v);
  v["policy_retry"] = "";
  if (retry.max_attempts > 0) {
    v["max_attempts"] = words["max_attempts"] = std::to_string(retry.max_attempts);
    v["initial_backoff_ms"] = words["initial_backoff_ms"] =
        std::to_string(retry.initial_backoff_ms);
    v["max_backoff_ms"] = words["max_backoff_ms"] = std::to_string(retry.max_backoff_ms);
    v["backoff_multiplier"] = DoubleLiteral(retry.backoff_multiplier);
    words["backoff_multiplier"] = FormatDouble(retry.backoff_multiplier);
    v["jitter"] = DoubleLiteral(retry.jitter);
    words["jitter"] = RenderInline(retry.jitter == 1   ? "header_method.policy_full_jitter"
                                   : retry.jitter == 0 ? "header_method.policy_no_jitter"
                                                       : "header_method.policy_jitter",
                                   {{"jitter", FormatDouble(retry.jitter)}});
    v["retryable_codes"] = "";
    words["codes"] = "";
    for (int code : retry.codes) {
      const std::string name = StatusCodeName(code);
      const bool first = words["codes"].empty();
      v["retryable_codes"] += RenderInline(
          first ? "source_method.retryable_code" : "source_method.retryable_code_more",
          {{"code_enum", "CGRPC_STATUS_" + name}});
      words["codes"] += (first ? "" : ", ") + name;
    }
    v["policy_retry"] = Render("source_method.policy_retry", v);
    words["retry"] = RenderInline("header_method.policy_retry", words);
  }
  const char *idempotency = policy.idempotent          ? "header_method.policy_idempotent"
                            : retry.max_attempts > 0 ? "header_method.policy_retried_anyway"
                                                     : "header_method.policy_not_idempotent";
  words["idempotency"] = RenderInline(idempotency, words);
  const std::string text = RenderInline("header_method.policy", words);
  v["policy"] = CommentBody(WrapWords(text, kPolicyWidth, "  "));
}

// The sections file.FUNCTION for each of functions, concatenated.
std::string RenderFunctions(const std::string &file, const std::vector<std::string> &functions,
                            const Vars &vars)
{
  std::string text;
  for (const std::string &function : functions)
    text += Render(file + "." + function, vars);
  return text;
}

}  // namespace

ServiceGenerator::ServiceGenerator(const ServiceDescriptor *service, Diagnostics *diagnostics,
                                   NameChecker *names)
    : diagnostics_(diagnostics), names_(names)
{
  const google::protobuf::FileDescriptor *file = service->file();
  const std::string lower = FullNameToLower(service->full_name(), file);
  const std::string upper = FullNameToUpper(service->full_name(), file);
  const std::string type = FullNameToC(service->full_name(), file);
  const std::string where = diagnostics->Where({PathOf(service)});

  vars_["full_name"] = service->full_name();
  vars_["service_lower"] = lower;  // the prefixes of the method's names
  vars_["service_upper"] = upper;
  vars_["service_type"] = type;
  vars_["service_table"] = lower + "__cgrpc_service";
  vars_["method_table"] = lower + "__methods";
  vars_["server_type"] = type + "_Server";
  vars_["server_init"] = upper + "__SERVER_INIT";
  vars_["register_fn"] = lower + "_server__register";
  vars_["client_prefix"] = lower + "_client";
  vars_["method_count"] = std::to_string(service->method_count());

  std::vector<std::string> doc = LeadingComment(service);
  if (service->options().deprecated()) {
    if (!doc.empty())
      doc.push_back("");
    doc.push_back(RenderInline("header_service.deprecated_note", vars_));
  }
  vars_["doc"] = doc.empty() ? "" : Render("header_service.doc", {{"lines", CommentBody(doc)}});

  for (const GeneratedName &name : kServiceNames)
    if (!names->Add(vars_[name.var], std::string(name.what) + " " + service->full_name(), where))
      break;  // one collision is enough to say

  names->ReservePrefix(vars_["client_prefix"],
                       "the client stubs of service " + service->full_name(), where);
  names->ReservePrefix(lower + "_server", "the server functions of service " + service->full_name(),
                       where);

  if (service->method_count() == 0)
    diagnostics->Error(where, "service " + service->full_name() +
                                  " has no methods: protoc-gen-cgrpc has nothing to generate for it");

  const MethodPolicy service_policy = ReadServicePolicy(service, diagnostics);
  for (int i = 0; i < service->method_count(); i++)
    AddMethod(service->method(i), ReadMethodPolicy(service->method(i), service_policy, diagnostics));
  for (size_t i = 0; i < methods_.size(); i++)
    vars_["server_init_values"] += (i == 0 ? "" : ", ") +
                                   RenderInline("header_method.init_value", methods_[i].vars);
}

void ServiceGenerator::AddMethod(const MethodDescriptor *method, const MethodPolicy &policy)
{
  const std::string where = diagnostics_->Where({PathOf(method)});
  const MethodKind &kind = KindOf(method);

  const std::string &service_lower = vars_["service_lower"];
  const std::string &service_upper = vars_["service_upper"];
  const std::string &service_type = vars_["service_type"];
  const std::string lower = CamelToLower(method->name());
  const std::string camel = ToCamel(method->name());
  const std::string client_fn = vars_["client_prefix"] + "__" + lower;
  const std::string server_fn = service_lower + "_server__" + lower;

  Vars vars = vars_;
  vars["name"] = method->name();
  vars["path"] = "/" + method->service()->full_name() + "/" + method->name();
  vars["index"] = std::to_string(method->index());
  vars["kind_enum"] = kind.enumerator;
  vars["kind_words"] = kind.words;
  vars["member"] = MemberName(lower);
  vars["index_macro"] = service_upper + "__METHOD_" + CamelToUpper(method->name());
  vars["client_fn"] = client_fn;
  vars["send_fn"] = client_fn + "_send";
  vars["recv_fn"] = client_fn + "_recv";
  vars["close_and_recv_fn"] = client_fn + "_close_and_recv";
  vars["async_fn"] = client_fn + "_async";
  vars["done_type"] = service_type + "_" + camel + "Done";
  vars["handler_type"] = service_type + "_" + camel + "Handler";
  vars["server_recv_fn"] = server_fn + "_recv";
  vars["server_send_fn"] = server_fn + "_send";
  vars["invoke_fn"] = service_lower + "__" + lower + "__invoke";
  vars["done_fn"] = service_lower + "__" + lower + "__done";
  vars["policy_var"] = service_lower + "__" + lower + "__policy";
  vars["request_type"] = MessageType(method->input_type());
  vars["response_type"] = MessageType(method->output_type());
  vars["request_descriptor"] = MessageDescriptorVar(method->input_type());
  vars["response_descriptor"] = MessageDescriptorVar(method->output_type());
  vars["response_free"] = MessageFreeFunction(method->output_type());
  // A request that is one message is a parameter of the client functions; a stream of
  // them is sent after the start.
  vars["request_param"] =
      method->client_streaming() ? "" : RenderPart("common.request_param", vars);
  vars["request_arg"] = RenderInline(method->client_streaming() ? "source_method.no_request_arg"
                                                                : "source_method.request_arg",
                                     vars);
  // Only a unary call completes with one typed callback.
  const bool unary = &kind == &kUnary;
  vars["done_invoker"] = unary ? Render("source_method.done_invoker", vars) : "";
  vars["done_entry"] =
      RenderInline(unary ? "source_method.done_entry" : "source_method.no_done_entry", vars);
  vars["invoke_body"] = Render(std::string("source_method.invoke_") + kind.section, vars);

  AddPolicyVars(policy, &vars);
  vars["deprecated"] =
      method->options().deprecated() ? RenderInline("header_method.deprecated", vars) : "";

  std::vector<std::string> comment = LeadingComment(method);
  std::vector<std::string> paragraph(comment.begin(), std::find(comment.begin(), comment.end(), ""));
  if (paragraph.empty())
    vars["summary"] = "";
  else if (paragraph.size() == 1)
    vars["summary"] = Render("header_method.summary", {{"text", paragraph[0]}});
  else
    vars["summary"] = Render("header_method.summary_block", {{"lines", CommentBody(paragraph, "  ")}});
  if (!comment.empty())
    comment.push_back("");  // a blank line before the path and policy
  vars["doc"] = CommentBody(comment);

  for (const GeneratedName &name : kMethodNames)
    if ((name.function == nullptr || kind.Has(name.function)) &&
        !names_->Add(vars[name.var], std::string(name.what) + " " + method->full_name(), where))
      break;
  methods_.push_back({&kind, vars});
}

// Each list is the concatenation of a section for every method (a service has methods:
// one without is refused).
std::string ServiceGenerator::Header() const
{
  Vars vars = vars_;
  for (const Method &method : methods_) {
    const MethodKind &kind = *method.kind;
    vars["index_macros"] += Render("header_method.index_macro", method.vars);
    vars["client_functions"] += Render("header_method.client", method.vars) +
                                RenderFunctions("header_method", kind.client, method.vars);
    vars["handler_types"] +=
        Render(std::string("header_method.handler_type_") + kind.section, method.vars);
    vars["server_functions"] += RenderFunctions("header_method", kind.server, method.vars);
    vars["server_members"] += Render("header_method.server_member", method.vars);
  }
  return Render("header_service.service", vars);
}

std::string ServiceGenerator::Source() const
{
  Vars vars = vars_;
  for (const Method &method : methods_) {
    const MethodKind &kind = *method.kind;
    vars["method_impls"] += Render("source_method.impl", method.vars);
    vars["method_entries"] += Render("source_method.entry", method.vars);
    vars["client_functions"] += RenderFunctions("source_method", kind.client, method.vars);
    vars["server_functions"] += RenderFunctions("source_method", kind.server, method.vars);
    vars["handler_entries"] += Render("source_method.handler_entry", method.vars);
  }
  return Render("source_service.service", vars);
}

}  // namespace cgrpc
