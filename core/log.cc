#include "core/log.h"

#include <unistd.h>

#include <mutex>

namespace syncbed {
namespace {
std::mutex prefix_mutex;
std::string log_prefix = "syncbed";
}  // namespace

void set_log_prefix(const std::string& prefix) {
  std::lock_guard lock(prefix_mutex);
  log_prefix = prefix;
}

void log_line(const std::string& message) {
  std::string line;
  {
    std::lock_guard lock(prefix_mutex);
    line = "[" + log_prefix + "] " + message + "\n";
  }
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + written, line.size() - written);
    if (n <= 0) return;
    written += static_cast<std::size_t>(n);
  }
}

}  // namespace syncbed
