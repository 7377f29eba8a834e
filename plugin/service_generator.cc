// protoc-gen-cgrpc — the variables of a service and its methods, and their templates.
#include "service_generator.h"

#include <algorithm>

#include <google/protobuf/descriptor.pb.h>

#include "comments.h"
#include "names.h"
#include "options.h"
#include "policy_comment.h"

namespace cgrpc {

using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

// A callback of an asynchronous streaming call: its member in the method's callbacks struct
// (header_method.client_MEMBER or server_MEMBER, and the invoker's case, source_method's
// section of the same name) and its index in the array the runtime keeps.
struct Callback {
  const char *member;
  const char *index;
};

// The functions of a method of each kind are sections of header_method.tmpl and
// source_method.tmpl, the same name in both, generated in this order.  Each kind has only
// what it can use: no receiving function where nothing streams in, no callback that can
// never be called.
struct MethodKind {
  const char *enumerator;           // in the method table
  const char *words;                // in comments and messages
  const char *section;              // its handler_type_* and invoke_* sections
  std::vector<std::string> client;  // the client functions
  std::vector<std::string> server;  // what the handler reads and writes its streams with
  std::vector<Callback> client_callbacks;  // the members of the client's callbacks struct
  std::vector<Callback> server_callbacks;  // and of the server's

  bool Has(const std::string &function) const
  {
    return std::find(client.begin(), client.end(), function) != client.end() ||
           std::find(server.begin(), server.end(), function) != server.end();
  }
};

namespace {

const Callback kOnHeaders = {"on_headers", "CGRPC_CALLBACK_HEADERS"};
const Callback kOnMessage = {"on_message", "CGRPC_CALLBACK_MESSAGE"};
const Callback kOnSendReady = {"on_send_ready", "CGRPC_CALLBACK_SEND_READY"};
const Callback kOnDone = {"on_done", "CGRPC_CALLBACK_DONE"};
const Callback kOnRequest = {"on_message", "CGRPC_SERVER_CALLBACK_MESSAGE"};
const Callback kOnRecvDone = {"on_recv_done", "CGRPC_SERVER_CALLBACK_RECV_DONE"};
const Callback kOnServerSendReady = {"on_send_ready", "CGRPC_SERVER_CALLBACK_SEND_READY"};
const Callback kOnCancel = {"on_cancel", "CGRPC_SERVER_CALLBACK_CANCEL"};

const MethodKind kUnary = {"CGRPC_METHOD_UNARY", "unary", "unary",
                           {"unary_call", "unary_async"}, {"server_defer", "server_finish"},
                           {}, {}};
const MethodKind kClientStreaming = {
    "CGRPC_METHOD_CLIENT_STREAMING",
    "client-streaming",
    "client_streaming",
    {"stream_start", "stream_send", "stream_try_send", "stream_close_send", "stream_recv_headers",
     "stream_close_and_recv", "stream_cancel", "stream_free", "stream_async", "stream_call"},
    {"server_recv", "server_send_headers", "server_defer", "server_set_callbacks",
     "server_finish", "server_call"},
    {kOnHeaders, kOnMessage, kOnSendReady, kOnDone},
    {kOnRequest, kOnRecvDone, kOnCancel}};
const MethodKind kServerStreaming = {
    "CGRPC_METHOD_SERVER_STREAMING",
    "server-streaming",
    "server_streaming",
    {"stream_start", "stream_recv_headers", "stream_recv", "stream_finish", "stream_cancel",
     "stream_free", "stream_async", "stream_call"},
    {"server_send", "server_try_send", "server_send_headers", "server_defer",
     "server_set_callbacks", "server_finish", "server_call"},
    {kOnHeaders, kOnMessage, kOnDone},
    {kOnServerSendReady, kOnCancel}};
const MethodKind kBidi = {
    "CGRPC_METHOD_BIDI_STREAMING",
    "bidi-streaming",
    "bidi",
    {"stream_start", "stream_send", "stream_try_send", "stream_close_send", "stream_recv_headers",
     "stream_recv", "stream_finish", "stream_cancel", "stream_free", "stream_async",
     "stream_call"},
    {"server_recv", "server_send", "server_try_send", "server_send_headers", "server_defer",
     "server_set_callbacks", "server_finish", "server_call"},
    {kOnHeaders, kOnMessage, kOnSendReady, kOnDone},
    {kOnRequest, kOnRecvDone, kOnServerSendReady, kOnCancel}};

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
    {"call_type", "the call type of method", "stream_start"},
    {"send_fn", "the send function of method", "stream_send"},
    {"try_send_fn", "the try-send function of method", "stream_try_send"},
    {"close_send_fn", "the close-send function of method", "stream_close_send"},
    {"recv_headers_fn", "the headers function of method", "stream_recv_headers"},
    {"recv_fn", "the receive function of method", "stream_recv"},
    {"close_and_recv_fn", "the close-and-receive function of method", "stream_close_and_recv"},
    {"finish_fn", "the finish function of method", "stream_finish"},
    {"cancel_fn", "the cancel function of method", "stream_cancel"},
    {"free_fn", "the free function of method", "stream_free"},
    {"async_fn", "the asynchronous client stub of method"},
    {"callbacks_type", "the callbacks type of method", "stream_async"},
    {"call_fn", "the untyped handle function of method", "stream_call"},
    {"done_type", "the callback type of method", "unary_async"},
    {"handler_type", "the handler type of method"},
    {"server_call_type", "the server call type of method", "server_call"},
    {"server_recv_fn", "the server's receive function of method", "server_recv"},
    {"server_send_fn", "the server's send function of method", "server_send"},
    {"server_try_send_fn", "the server's try-send function of method", "server_try_send"},
    {"server_send_headers_fn", "the server's headers function of method", "server_send_headers"},
    {"server_defer_fn", "the server's defer function of method", "server_defer"},
    {"server_callbacks_type", "the server callbacks type of method", "server_set_callbacks"},
    {"server_set_callbacks_fn", "the server's callbacks function of method",
     "server_set_callbacks"},
    {"server_finish_fn", "the server's finish function of method", "server_finish"},
    {"server_call_fn", "the server's untyped handle function of method", "server_call"},
    {"invoke_fn", "the handler invoker of method"},
    {"done_fn", "the callback invoker of method", "unary_async"},
    {"client_invoker_fn", "the client callback invoker of method", "stream_async"},
    {"server_invoker_fn", "the server callback invoker of method", "server_set_callbacks"},
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

// The policy baked into the method table (policy_var's initialiser), and told in the comment
// above the stubs ($policy$).
void AddPolicyVars(const MethodPolicy &policy, Vars *vars)
{
  Vars &v = *vars;
  const RetryConfig &retry = policy.retry;
  v["timeout_ms"] = std::to_string(policy.timeout_ms);
  v["idempotent"] = policy.idempotent ? "1" : "0";
  v["key_header"] = policy.idempotency_key_header;
  v["policy_key_header"] = policy.idempotency_key_header.empty()
                               ? ""
                               : Render("source_method.policy_key_header", v);
  v["policy_retry"] = "";
  if (retry.max_attempts > 0) {
    v["max_attempts"] = std::to_string(retry.max_attempts);
    v["initial_backoff_ms"] = std::to_string(retry.initial_backoff_ms);
    v["max_backoff_ms"] = std::to_string(retry.max_backoff_ms);
    v["backoff_multiplier"] = DoubleLiteral(retry.backoff_multiplier);
    v["jitter"] = DoubleLiteral(retry.jitter);
    v["retryable_codes"] = "";
    for (int code : retry.codes)
      v["retryable_codes"] += RenderInline(v["retryable_codes"].empty()
                                               ? "source_method.retryable_code"
                                               : "source_method.retryable_code_more",
                                           {{"code_enum", "CGRPC_STATUS_" + StatusCodeName(code)}});
    v["policy_retry"] = Render("source_method.policy_retry", v);
  }
  v["policy"] = CommentBody(WrapWords(PolicyComment(policy), kPolicyWidth, "  "));
}

// The members of a callbacks struct (FILE.SIDE_MEMBER for each callback), or the entries
// that fill the runtime's array from one (source_method.callback_entry).
std::string RenderCallbacks(const std::string &file, const std::string &side,
                            const std::vector<Callback> &callbacks, const Vars &vars)
{
  std::string text;
  for (const Callback &callback : callbacks)
    text += Render(file + "." + side + "_" + callback.member, vars);
  return text;
}

std::string RenderCallbackEntries(const std::vector<Callback> &callbacks)
{
  std::string text;
  for (const Callback &callback : callbacks)
    text += Render("source_method.callback_entry",
                   {{"callback", callback.member}, {"callback_index", callback.index}});
  return text;
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
  vars["call_type"] = service_type + "_" + camel + "Call";
  vars["send_fn"] = client_fn + "_send";
  vars["try_send_fn"] = client_fn + "_try_send";
  vars["close_send_fn"] = client_fn + "_close_send";
  vars["recv_headers_fn"] = client_fn + "_recv_headers";
  vars["recv_fn"] = client_fn + "_recv";
  vars["close_and_recv_fn"] = client_fn + "_close_and_recv";
  vars["finish_fn"] = client_fn + "_finish";
  vars["cancel_fn"] = client_fn + "_cancel";
  vars["free_fn"] = client_fn + "_free";
  vars["async_fn"] = client_fn + "_async";
  vars["callbacks_type"] = service_type + "_" + camel + "Callbacks";
  vars["call_fn"] = client_fn + "_call";
  vars["done_type"] = service_type + "_" + camel + "Done";
  vars["handler_type"] = service_type + "_" + camel + "Handler";
  vars["server_recv_fn"] = server_fn + "_recv";
  vars["server_send_fn"] = server_fn + "_send";
  vars["server_try_send_fn"] = server_fn + "_try_send";
  vars["server_send_headers_fn"] = server_fn + "_send_headers";
  vars["server_defer_fn"] = server_fn + "_defer";
  vars["server_callbacks_type"] = service_type + "_" + camel + "ServerCallbacks";
  vars["server_set_callbacks_fn"] = server_fn + "_set_callbacks";
  vars["server_finish_fn"] = server_fn + "_finish";
  vars["server_call_fn"] = server_fn + "_call";
  vars["invoke_fn"] = service_lower + "__" + lower + "__invoke";
  vars["done_fn"] = service_lower + "__" + lower + "__done";
  vars["client_invoker_fn"] = service_lower + "__" + lower + "__client_callback";
  vars["server_invoker_fn"] = service_lower + "__" + lower + "__server_callback";
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
  // A unary call completes with one typed callback, and its handler keeps the untyped
  // handle; a streaming call has a typed handle on each side, and typed callbacks.
  const bool unary = &kind == &kUnary;
  vars["server_call_type"] =
      unary ? "cgrpc_server_call" : service_type + "_" + camel + "ServerCall";
  vars["raw_server_call"] = unary ? "call" : RenderInline("source_method.raw_server_call", vars);
  vars["client_callback_members"] =
      RenderCallbacks("header_method", "client", kind.client_callbacks, vars);
  vars["server_callback_members"] =
      RenderCallbacks("header_method", "server", kind.server_callbacks, vars);
  vars["client_callback_entries"] = RenderCallbackEntries(kind.client_callbacks);
  vars["server_callback_entries"] = RenderCallbackEntries(kind.server_callbacks);
  if (unary) {
    vars["invokers"] = Render("source_method.done_invoker", vars);
    vars["entry_invokers"] = Render("source_method.unary_entry", vars);
  } else {
    vars["client_cases"] = RenderCallbacks("source_method", "client", kind.client_callbacks, vars);
    vars["server_cases"] = RenderCallbacks("source_method", "server", kind.server_callbacks, vars);
    // Only on_message has an argument on the server's side.
    const bool takes_message =
        std::any_of(kind.server_callbacks.begin(), kind.server_callbacks.end(),
                    [](const Callback &c) { return c.index == kOnRequest.index; });
    vars["server_unused_arg"] = takes_message ? "" : Render("source_method.unused_arg", vars);
    vars["invokers"] = Render("source_method.client_invoker", vars) +
                       Render("source_method.server_invoker", vars);
    vars["entry_invokers"] = Render("source_method.stream_entry", vars);
  }
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
    vars["server_methods"] +=
        Render(std::string("header_method.handler_type_") + kind.section, method.vars) +
        RenderFunctions("header_method", kind.server, method.vars);
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
