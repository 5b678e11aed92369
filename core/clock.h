#pragma once

#include <chrono>
#include <cstdint>

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
  std::int64_t lap_ns() {
    const auto now = Clock::now();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
    last_ = now;
    return ns;
  }

 private:
  Clock::time_point last_;
};

// The steady clock in ns: one clock for every process on a machine, so timestamps from
// different processes compare there.
inline std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace syncbed
