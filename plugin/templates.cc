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

// Comments such as "/* Sends ... */" that name generated functions may run long: one of
// those, opening with text on its first line, whose lines pass kCommentWidth columns is
// filled anew to that width (its indentation and " * " kept).  Comments within the width,
// and those that open with "/*" alone (proto comments, the policy), are left as they are.
constexpr size_t kCommentWidth = 95;

std::vector<std::string> SplitLines(const std::string &text)
{
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

// The words of a comment's line, without its "/*", " *" or "*/".
void AddCommentWords(std::string line, std::vector<std::string> *words)
{
  size_t pos = line.find_first_not_of(' ');
  line.erase(0, pos);
  if (line.compare(0, 2, "/*") == 0)
    line.erase(0, 2);
  else if (line.compare(0, 1, "*") == 0 && line.compare(0, 2, "*/") != 0)
    line.erase(0, 1);
  size_t close = line.rfind("*/");
  if (close != std::string::npos)
    line.erase(close);
  size_t i = 0;
  while ((i = line.find_first_not_of(" \n", i)) != std::string::npos) {
    size_t end = line.find_first_of(" \n", i);
    words->push_back(line.substr(i, end == std::string::npos ? end : end - i));
    i = end;
  }
}

std::string FillComment(const std::vector<std::string> &lines, size_t indent)
{
  std::vector<std::string> words;
  for (const std::string &line : lines)
    AddCommentWords(line, &words);
  const std::string margin(indent, ' ');
  std::string out, line = margin + "/*";
  for (const std::string &word : words) {
    // Two spaces between sentences, as the comments are written.
    const std::string space = line.back() == '.' ? "  " : " ";
    if (line.size() > indent + 3 && line.size() + space.size() + word.size() > kCommentWidth) {
      out += line + "\n";
      line = margin + " * " + word;
    } else {
      line += space + word;
    }
  }
  // The closing "*/" takes the last word along to a line of its own if it must.
  const size_t last = line.rfind(' ');
  if (line.size() + 3 > kCommentWidth && last > indent + 3) {
    out += line.substr(0, line.find_last_not_of(' ', last) + 1) + "\n";
    line = margin + " *" + line.substr(last);
  }
  return out + line + " */\n";
}

std::string FillLongComments(const std::string &text)
{
  const std::vector<std::string> lines = SplitLines(text);
  std::string out;
  for (size_t i = 0; i < lines.size(); i++) {
    const std::string &first = lines[i];
    const size_t indent = first.find_first_not_of(' ');
    const bool opens = indent != std::string::npos && first.compare(indent, 3, "/* ") == 0;
    size_t end = i;  // the comment's last line
    while (opens && lines[end].find("*/") == std::string::npos && end + 1 < lines.size())
      end++;
    bool long_line = false;
    for (size_t j = i; opens && j <= end; j++)
      long_line = long_line || lines[j].size() - (lines[j].back() == '\n') > kCommentWidth;
    if (!long_line || lines[end].find("*/") == std::string::npos) {
      out += first;
      continue;
    }
    out += FillComment(std::vector<std::string>(lines.begin() + i, lines.begin() + end + 1),
                       indent);
    i = end;
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
  return FillLongComments(AlignContinuations(RenderPart(name, vars)));
}

std::string RenderInline(const std::string &name, const Vars &vars)
{
  std::string out = Render(name, vars);
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

}  // namespace cgrpc
