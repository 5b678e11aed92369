#pragma once

#include <string>

namespace syncbed {

// Sets what every log line starts with, e.g. "rank 3". Call once at start-up.
void set_log_prefix(const std::string& prefix);

// Writes one line to stderr in a single write, so lines of concurrent processes and
// threads never interleave mid-line.
void log_line(const std::string& message);

}  // namespace syncbed
