// protoc-gen-cgrpc — durations in options: "250ms", "1.5s", "2m".
#ifndef CGRPC_PLUGIN_DURATION_H
#define CGRPC_PLUGIN_DURATION_H

#include <cstdint>
#include <string>

namespace cgrpc {

// The longest duration accepted: 10 years of 365 days.
constexpr int64_t kMaxDurationMs = INT64_C(10) * 365 * 24 * 3600 * 1000;

// Parses a decimal number ("250", "1.5") followed by a unit (ns, us, ms, s, m, h), and
// gives it in whole milliseconds, rounded up (so any duration > 0 is at least 1 ms).
// On failure returns false with *error saying what is wrong ("expected a number
// followed by ...", "must be greater than zero", "must be at most 10 years").
bool ParseDurationMs(const std::string &text, int64_t *ms, std::string *error);

}  // namespace cgrpc

#endif
