#include "core/trace.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>

namespace syncbed::trace {
namespace {

std::int64_t nanoseconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// One recorder per process. Phase-level events are a few per iteration, so one mutex
// costs nothing measurable; the flag keeps the disabled path to one load.
struct Recorder {
  std::atomic<bool> on{false};
  std::atomic<long> iteration{-1};  // -1: none named yet
  std::mutex mutex;
  Limits limits;
  std::vector<Event> first;  // iterations below limits.keep_first
  std::deque<Event> rest;    // later ones; the oldest dropped as iterations advance
  std::vector<std::string> names;

  bool kept(long event_iteration, long current) const {
    return event_iteration < limits.keep_first || event_iteration > current - limits.keep_last;
  }
};

Recorder& recorder() {
  static Recorder instance;
  return instance;
}

thread_local int thread_id = -1;

// The calling thread's id, assigned on first use (recorder's mutex held).
int this_thread_id(Recorder& r) {
  if (thread_id < 0) {
    thread_id = static_cast<int>(r.names.size());
    r.names.push_back("thread " + std::to_string(thread_id));
  }
  return thread_id;
}

}  // namespace

void enable(const Limits& limits) {
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  r.limits = limits;
  r.first.clear();
  r.rest.clear();
  r.on = true;
}

void disable() { recorder().on = false; }

bool enabled() { return recorder().on.load(std::memory_order_relaxed); }

void set_iteration(long iteration) { recorder().iteration = iteration; }

long current_iteration() { return recorder().iteration; }

void name_thread(const std::string& name) {
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  r.names[this_thread_id(r)] = name;
}

void record(const std::string& name, const char* category, Clock::time_point start, Clock::time_point end) {
  Recorder& r = recorder();
  if (!enabled()) return;
  std::lock_guard lock(r.mutex);
  const long current = r.iteration;
  Event event{name, category, this_thread_id(r), nanoseconds(start), nanoseconds(end) - nanoseconds(start), current};
  if (current < r.limits.keep_first) {
    r.first.push_back(std::move(event));
    return;
  }
  r.rest.push_back(std::move(event));
  while (!r.rest.empty() && !r.kept(r.rest.front().iteration, current)) r.rest.pop_front();
}

double lap(Stopwatch& watch, const char* name, const char* category) {
  if (!enabled()) return watch.lap();
  const auto end = Clock::now();
  const double seconds = watch.lap();
  record(name, category, end - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)),
         end);
  return seconds;
}

std::vector<Event> events() {
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  std::vector<Event> all(r.first);
  const long current = r.iteration;
  for (const Event& e : r.rest)
    if (r.kept(e.iteration, current)) all.push_back(e);
  std::stable_sort(all.begin(), all.end(), [](const Event& a, const Event& b) { return a.start_ns < b.start_ns; });
  return all;
}

std::vector<std::string> thread_names() {
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  return r.names;
}

nlohmann::json chrome_events(const std::vector<Event>& events, const std::vector<std::string>& thread_names, int pid,
                             const std::string& process_name, std::int64_t offset_ns) {
  nlohmann::json out = nlohmann::json::array();
  out.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", pid}, {"tid", 0}, {"args", {{"name", process_name}}}});
  for (std::size_t t = 0; t < thread_names.size(); ++t)
    out.push_back(
        {{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", t}, {"args", {{"name", thread_names[t]}}}});
  for (const Event& e : events)
    out.push_back({{"ph", "X"},
                   {"name", e.name},
                   {"cat", e.category},
                   {"pid", pid},
                   {"tid", e.thread},
                   {"ts", static_cast<double>(e.start_ns - offset_ns) / 1e3},
                   {"dur", static_cast<double>(e.duration_ns) / 1e3},
                   {"args", {{"iteration", e.iteration}}}});
  return out;
}

}  // namespace syncbed::trace
