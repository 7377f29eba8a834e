// protoc-gen-cgrpc — rendering the embedded templates.
#include "templates.h"

#include <stdexcept>
#include <vector>

#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace cgrpc {
namespace {

// What $align$ expands to before AlignContinuations replaces it; never in proto text that
// reaches the output (comments lose their control characters).
const char kAlignMarker = '\x01';

const char *FindTemplate(const std::string &name)
{
  for (size_t i = 0; i < kTemplateCount; i++)
    if (name == kTemplates[i].name)
      return kTemplates[i].text;
  throw std::logic_error("no template " + name);
}

// Printer only logs an undefined variable; a template bug must fail the run instead.
void CheckVariables(const std::string &name, const std::string &text, const Vars &vars)
{
  size_t pos = 0;
  while ((pos = text.find('$', pos)) != std::string::npos) {
    size_t end = text.find('$', pos + 1);
    if (end == std::string::npos)
      throw std::logic_error("template " + name + ": unmatched $");
    std::string var = text.substr(pos + 1, end - pos - 1);
    if (!var.empty() && var != "align" && vars.count(var) == 0)
      throw std::logic_error("template " + name + " uses $" + var + "$, which is not set");
    pos = end + 1;
  }
}

std::string AlignContinuations(const std::string &text)
{
  std::string out;
  size_t column = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line[0] == kAlignMarker) {
      line.replace(0, 1, std::string(column, ' '));
    } else {
      std::vector<size_t> open;
      for (size_t i = 0; i < line.size(); i++) {
        if (line[i] == '(')
          open.push_back(i);
        else if (line[i] == ')' && !open.empty())
          open.pop_back();
      }
      column = open.empty() ? 0 : open.back() + 1;
    }
    out += line;
    start = end;
  }
  return out;
}

}  // namespace

std::string RenderPart(const std::string &name, const Vars &vars)
{
  std::string text = FindTemplate(name);
  CheckVariables(name, text, vars);
  Vars all = vars;
  all["align"] = std::string(1, kAlignMarker);
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::Printer printer(&stream, '$');
    printer.Print(all, text.c_str());
  }
  return out;
}

std::string Render(const std::string &name, const Vars &vars)
{
  return AlignContinuations(RenderPart(name, vars));
}

std::string RenderInline(const std::string &name, const Vars &vars)
{
  std::string out = Render(name, vars);
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

}  // namespace cgrpc
