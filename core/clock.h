#pragma once

#include <chrono>

namespace syncbed {

// Monotonic stopwatch: lap() returns the seconds since the previous lap (or start) and
// starts a new one; elapsed() reads the current lap without ending it.
class Stopwatch {
 public:
  using Clock = std::chrono::steady_clock;
  Stopwatch() : last_(Clock::now()) {}
  double lap() {
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return seconds;
  }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - last_).count(); }

 private:
  Clock::time_point last_;
};

}  // namespace syncbed
