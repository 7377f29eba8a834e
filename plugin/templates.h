// protoc-gen-cgrpc — the text of the generated code: templates/*.tmpl, embedded at build
// time by templates/embed.sh, and rendered with io::Printer.
#ifndef CGRPC_PLUGIN_TEMPLATES_H
#define CGRPC_PLUGIN_TEMPLATES_H

#include <cstddef>
#include <map>
#include <string>

namespace cgrpc {

// "file.section" (templates/FILE.tmpl, section "@@ section") and its text.
struct TemplateEntry {
  const char *name;
  const char *text;
};
extern const TemplateEntry kTemplates[];
extern const size_t kTemplateCount;

using Vars = std::map<std::string, std::string>;

// Renders a template with vars ($name$ -> vars["name"]).  A line that starts with $align$
// is a continuation: it is indented to just after the last parenthesis left open on the
// line above it (or to where the line above was, if that was a continuation too).
// A comment that opens with text ("/* Sends...") and runs past 95 columns, with the long
// names it was given, is filled anew within them.
// Throws std::logic_error if the template does not exist or uses a variable vars lacks.
std::string Render(const std::string &name, const Vars &vars);

// Render without the template's final newline, for text that goes inside a line.
std::string RenderInline(const std::string &name, const Vars &vars);

// Render leaving its $align$ lines as they are, for lines that go into a list of
// continuations of another template: that one's Render aligns them.
std::string RenderPart(const std::string &name, const Vars &vars);

}  // namespace cgrpc

#endif
