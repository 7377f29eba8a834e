// protoc-gen-cgrpc — duration parsing in exact integer arithmetic (with binary floating
// point, "0.1s" could round up to 101 ms).
#include "duration.h"

#include <cctype>

namespace cgrpc {
namespace {

struct Unit {
  const char *suffix;
  int64_t ns;
};

// Longest suffixes first where one ends another ("ms" before "s").
const Unit kUnits[] = {
    {"ns", 1},
    {"us", INT64_C(1000)},
    {"ms", INT64_C(1000000)},
    {"s", INT64_C(1000000000)},
    {"m", INT64_C(60000000000)},
    {"h", INT64_C(3600000000000)},
};

constexpr int64_t kMaxNs = kMaxDurationMs * 1000000;

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

bool ParseDurationMs(const std::string &text, int64_t *ms, std::string *error)
{
  const std::string syntax = "expected a number followed by ns, us, ms, s, m or h";
  if (text.size() > 1 && text[0] == '-' && text[1] != '-') {
    int64_t ignored;
    if (ParseDurationMs(text.substr(1), &ignored, error) || *error != syntax)
      *error = "must be greater than zero";
    return false;
  }
  size_t i = 0;
  while (i < text.size() && IsDigit(text[i]))
    i++;
  const std::string whole = text.substr(0, i);
  std::string fraction;
  if (i < text.size() && text[i] == '.') {
    size_t start = ++i;
    while (i < text.size() && IsDigit(text[i]))
      i++;
    fraction = text.substr(start, i - start);
    if (fraction.empty()) {
      *error = syntax;
      return false;
    }
  }
  const std::string suffix = text.substr(i);
  const Unit *unit = nullptr;
  for (const Unit &u : kUnits)
    if (suffix == u.suffix)
      unit = &u;
  if (whole.empty() || unit == nullptr) {
    *error = syntax;
    return false;
  }

  // Whole part, stopping as soon as it is beyond the limit (so nothing overflows).
  const std::string too_long = "must be at most 10 years (87600h)";
  int64_t whole_units = 0;
  for (char c : whole) {
    whole_units = whole_units * 10 + (c - '0');
    if (whole_units > kMaxNs / unit->ns) {
      *error = too_long;
      return false;
    }
  }
  // Fraction times the unit, rounded up to whole nanoseconds: multiplied digit by digit
  // from the right, what carries out of the fraction's digits is the whole part.
  int64_t fraction_ns = 0;
  bool remainder = false;
  for (size_t k = fraction.size(); k-- > 0;) {
    int64_t v = (fraction[k] - '0') * unit->ns + fraction_ns;
    remainder = remainder || v % 10 != 0;
    fraction_ns = v / 10;
  }
  if (remainder)
    fraction_ns++;

  int64_t total_ns = whole_units * unit->ns + fraction_ns;
  if (total_ns == 0) {
    *error = "must be greater than zero";
    return false;
  }
  if (total_ns > kMaxNs) {
    *error = too_long;
    return false;
  }
  *ms = (total_ns + 999999) / 1000000;
  return true;
}

}  // namespace cgrpc
