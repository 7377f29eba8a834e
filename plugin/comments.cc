// protoc-gen-cgrpc — turning SourceLocation comments into C comment text.
#include "comments.h"

#include "templates.h"

namespace cgrpc {
namespace {

void ReplaceAll(std::string *s, const std::string &from, const std::string &to)
{
  for (size_t pos = 0; (pos = s->find(from, pos)) != std::string::npos; pos += to.size())
    s->replace(pos, from.size(), to);
}

std::vector<std::string> CommentLines(const std::string &comment)
{
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < comment.size()) {
    size_t end = comment.find('\n', start);
    if (end == std::string::npos)
      end = comment.size();
    std::string line = comment.substr(start, end - start);
    start = end + 1;
    // protoc keeps the space after "//": drop one, keep any further indentation.
    if (!line.empty() && line[0] == ' ')
      line.erase(0, 1);
    for (char &c : line)
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
        c = ' ';
    line.erase(line.find_last_not_of(" \t") + 1);
    ReplaceAll(&line, "*/", "* /");
    ReplaceAll(&line, "/*", "/ *");
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty())
    lines.pop_back();
  while (!lines.empty() && lines.front().empty())
    lines.erase(lines.begin());
  return lines;
}

template <typename Descriptor>
std::vector<std::string> LeadingCommentOf(const Descriptor *descriptor)
{
  google::protobuf::SourceLocation location;
  if (!descriptor->GetSourceLocation(&location))
    return {};
  return CommentLines(location.leading_comments);
}

}  // namespace

std::vector<std::string> LeadingComment(const google::protobuf::ServiceDescriptor *service)
{
  return LeadingCommentOf(service);
}

std::vector<std::string> LeadingComment(const google::protobuf::MethodDescriptor *method)
{
  return LeadingCommentOf(method);
}

std::vector<std::string> WrapWords(const std::string &text, size_t width,
                                   const std::string &indent)
{
  std::vector<std::string> lines;
  std::string line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of(" \n", start);
    if (end == std::string::npos)
      end = text.size();
    const std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty())
      continue;
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line = indent;
    }
    line += (line.empty() || line == indent ? "" : " ") + word;
  }
  if (!line.empty())
    lines.push_back(line);
  return lines;
}

std::string CommentBody(const std::vector<std::string> &lines, const std::string &indent)
{
  std::string body;
  for (const std::string &line : lines)
    body += line.empty() ? Render("common.comment_empty_line", {{"indent", indent}})
                         : Render("common.comment_line", {{"indent", indent}, {"text", line}});
  return body;
}

}  // namespace cgrpc
