#include "core/trace.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <mutex>

namespace syncbed::trace {
namespace {

std::int64_t nanoseconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Records of the first keep_first iterations, and of the last keep_last: the oldest of
// the rest are dropped as iterations advance.
template <typename Record>
struct Bounded {
  std::vector<Record> first;
  std::deque<Record> rest;

  static bool kept(const Limits& limits, long iteration, long current) {
    return iteration < limits.keep_first || iteration > current - limits.keep_last;
  }
  void add(Record record, const Limits& limits, long current) {
    if (record.iteration < limits.keep_first) return first.push_back(std::move(record));
    rest.push_back(std::move(record));
    while (!rest.empty() && !kept(limits, rest.front().iteration, current)) rest.pop_front();
  }
  std::vector<Record> all(const Limits& limits, long current) const {
    std::vector<Record> out(first);
    for (const Record& r : rest)
      if (kept(limits, r.iteration, current)) out.push_back(r);
    return out;
  }
  void clear() {
    first.clear();
    rest.clear();
  }
};

// One recorder per process. Phase-level events are a few per iteration, so one mutex
// costs nothing measurable; the flags keep the disabled path to one load.
struct Recorder {
  std::atomic<bool> on{false}, messages_on{false}, layers_on{false};
  std::atomic<long> iteration{-1};  // -1: none named yet
  std::mutex mutex;
  Limits limits;
  Bounded<Event> events;
  Bounded<Message> messages;
  std::vector<std::string> names;
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
  r.events.clear();
  r.messages.clear();
  r.on = true;
  r.messages_on = limits.messages;
  r.layers_on = limits.layers;
}

void disable() { recorder().on = recorder().messages_on = recorder().layers_on = false; }

bool enabled() { return recorder().on.load(std::memory_order_relaxed); }

bool messages_enabled() { return recorder().messages_on.load(std::memory_order_relaxed); }

bool layers_enabled() { return recorder().layers_on.load(std::memory_order_relaxed); }

void set_iteration(long iteration) { recorder().iteration = iteration; }

long current_iteration() { return recorder().iteration; }

namespace {
thread_local const char* thread_phase = "";
}

void set_phase(const char* phase) { thread_phase = phase; }

const char* current_phase() { return thread_phase; }

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
  r.events.add({name, category, this_thread_id(r), nanoseconds(start), nanoseconds(end) - nanoseconds(start), current},
               r.limits, current);
}

void record_message(Message message) {
  Recorder& r = recorder();
  if (!messages_enabled()) return;
  std::lock_guard lock(r.mutex);
  message.iteration = r.iteration;
  message.thread = this_thread_id(r);
  r.messages.add(message, r.limits, message.iteration);
}

double lap(Stopwatch& watch, const char* name, const char* category) {
  const auto interval = watch.lap_interval();
  record(name, category, interval.begin, interval.end);
  return interval.seconds();
}

std::vector<Event> events() {
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  std::vector<Event> all = r.events.all(r.limits, r.iteration);
  std::stable_sort(all.begin(), all.end(), [](const Event& a, const Event& b) { return a.start_ns < b.start_ns; });
  return all;
}

std::vector<Message> messages() {
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  return r.messages.all(r.limits, r.iteration);
}

std::vector<std::string> thread_names() {
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  return r.names;
}

nlohmann::json chrome_events(const std::vector<Event>& events, const std::vector<std::string>& thread_names, int pid,
                             const std::string& process_name, std::int64_t offset_ns,
                             const std::vector<Message>& messages) {
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
  const auto us = [offset_ns](std::int64_t ns) { return static_cast<double>(ns - offset_ns) / 1e3; };
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    const int peer = m.send ? m.destination : m.source;
    // snprintf, not string concatenation: GCC 12 warns falsely (-Wrestrict) on the latter here.
    char name[48], id[48], flow[96];
    std::snprintf(name, sizeof name, "%s %d", m.send ? "send to" : "recv from", peer);
    std::snprintf(id, sizeof id, "m%d.%zu", pid, i);
    std::snprintf(flow, sizeof flow, "%d-%d-%llu-%llu", m.source, m.destination, static_cast<unsigned long long>(m.tag),
                  static_cast<unsigned long long>(m.sequence));
    const nlohmann::json args{{"peer", peer}, {"tag", m.tag}, {"bytes", m.bytes}, {"iteration", m.iteration}};
    out.push_back({{"ph", "b"},
                   {"cat", "message"},
                   {"name", name},
                   {"id", id},
                   {"pid", pid},
                   {"tid", m.thread},
                   {"ts", us(m.posted_ns)},
                   {"args", args}});
    out.push_back({{"ph", "e"},
                   {"cat", "message"},
                   {"name", name},
                   {"id", id},
                   {"pid", pid},
                   {"tid", m.thread},
                   {"ts", us(m.completed_ns)}});
    nlohmann::json end{{"ph", m.send ? "s" : "f"},
                       {"cat", "message"},
                       {"name", "message"},
                       {"id", flow},
                       {"pid", pid},
                       {"tid", m.thread},
                       {"ts", us(m.send ? m.posted_ns : m.completed_ns)}};
    if (!m.send) end["bp"] = "e";
    out.push_back(std::move(end));
  }
  return out;
}

}  // namespace syncbed::trace
