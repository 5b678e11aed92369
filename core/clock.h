#pragma once

#include <chrono>
#include <cstdint>

namespace syncbed {

// Monotonic stopwatch: lap() returns the seconds since the previous lap (or start) and
// starts a new one; elapsed() reads the current lap without ending it.
class Stopwatch {
 public:
  using Clock = std::chrono::steady_clock;
  // One lap: from the end of the previous one (or construction) to now.
  struct Interval {
    Clock::time_point begin, end;
    double seconds() const { return std::chrono::duration<double>(end - begin).count(); }
  };

  Stopwatch() : last_(Clock::now()) {}
  // One clock reading per lap, so the next lap begins exactly where this one ends.
  Interval lap_interval() {
    const Interval interval{last_, Clock::now()};
    last_ = interval.end;
    return interval;
  }
  double lap() { return lap_interval().seconds(); }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - last_).count(); }
  std::int64_t lap_ns() {
    const Interval interval = lap_interval();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(interval.end - interval.begin).count();
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
