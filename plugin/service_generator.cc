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

namespace {

struct Kind {
  const char *enumerator;  // in the method table
  const char *words;       // in comments and messages
};

Kind KindOf(const MethodDescriptor *method)
{
  if (method->client_streaming() && method->server_streaming())
    return {"CGRPC_METHOD_BIDI_STREAMING", "bidi-streaming"};
  if (method->client_streaming())
    return {"CGRPC_METHOD_CLIENT_STREAMING", "client-streaming"};
  if (method->server_streaming())
    return {"CGRPC_METHOD_SERVER_STREAMING", "server-streaming"};
  return {"CGRPC_METHOD_UNARY", "unary"};
}

// The names we generate, and how collision errors describe them; ours is "service" or
// "method", whose full name follows.
struct GeneratedName {
  const char *var;
  const char *what;
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
    {"async_fn", "the asynchronous client stub of method"},
    {"done_type", "the callback type of method"},
    {"handler_type", "the handler type of method"},
    {"invoke_fn", "the handler invoker of method"},
    {"done_fn", "the callback invoker of method"},
    {"policy_var", "the policy of method"},
};

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
  for (size_t i = 0; i < method_vars_.size(); i++)
    vars_["server_init_values"] += (i == 0 ? "" : ", ") +
                                   RenderInline("header_method.init_value", method_vars_[i]);
}

void ServiceGenerator::AddMethod(const MethodDescriptor *method, const MethodPolicy &policy)
{
  const std::string where = diagnostics_->Where({PathOf(method)});
  const Kind kind = KindOf(method);
  if (method->client_streaming() || method->server_streaming())
    diagnostics_->Error(where, "method " + method->full_name() + " is " + kind.words +
                                   ": protoc-gen-cgrpc does not generate streaming methods yet");

  const std::string &service_lower = vars_["service_lower"];
  const std::string &service_upper = vars_["service_upper"];
  const std::string &service_type = vars_["service_type"];
  const std::string lower = CamelToLower(method->name());
  const std::string camel = ToCamel(method->name());

  Vars vars = vars_;
  vars["name"] = method->name();
  vars["path"] = "/" + method->service()->full_name() + "/" + method->name();
  vars["index"] = std::to_string(method->index());
  vars["kind_enum"] = kind.enumerator;
  vars["kind_words"] = kind.words;
  vars["member"] = MemberName(lower);
  vars["index_macro"] = service_upper + "__METHOD_" + CamelToUpper(method->name());
  vars["client_fn"] = vars_["client_prefix"] + "__" + lower;
  vars["async_fn"] = vars_["client_prefix"] + "__" + lower + "_async";
  vars["done_type"] = service_type + "_" + camel + "Done";
  vars["handler_type"] = service_type + "_" + camel + "Handler";
  vars["invoke_fn"] = service_lower + "__" + lower + "__invoke";
  vars["done_fn"] = service_lower + "__" + lower + "__done";
  vars["policy_var"] = service_lower + "__" + lower + "__policy";
  vars["request_type"] = MessageType(method->input_type());
  vars["response_type"] = MessageType(method->output_type());
  vars["request_descriptor"] = MessageDescriptorVar(method->input_type());
  vars["response_descriptor"] = MessageDescriptorVar(method->output_type());

  vars["timeout_ms"] = std::to_string(policy.timeout_ms);
  vars["policy"] = policy.timeout_ms > 0 ? RenderInline("header_method.policy_timeout", vars)
                                         : RenderInline("header_method.policy_no_timeout", vars);
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
    if (!names_->Add(vars[name.var], std::string(name.what) + " " + method->full_name(), where))
      break;
  method_vars_.push_back(vars);
}

std::string ServiceGenerator::ForEachMethod(const std::string &name) const
{
  std::string text;
  for (const Vars &vars : method_vars_)
    text += Render(name, vars);
  return text;
}

std::string ServiceGenerator::Header() const
{
  Vars vars = vars_;
  vars["index_macros"] = ForEachMethod("header_method.index_macro");
  vars["client_methods"] = ForEachMethod("header_method.client");
  vars["handler_types"] = ForEachMethod("header_method.handler_type");
  vars["server_members"] = ForEachMethod("header_method.server_member");
  return Render("header_service.service", vars);
}

std::string ServiceGenerator::Source() const
{
  Vars vars = vars_;
  vars["method_impls"] = ForEachMethod("source_method.impl");
  vars["method_entries"] = ForEachMethod("source_method.entry");
  vars["client_stubs"] = ForEachMethod("source_method.client");
  vars["handler_entries"] = ForEachMethod("source_method.handler_entry");
  return Render("source_service.service", vars);
}

}  // namespace cgrpc
