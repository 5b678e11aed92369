// A per-process timeline of what each thread did and when, for the Chrome trace event
// format (Perfetto, chrome://tracing): complete events of named phases on each thread.
// Off by default, and then every call costs one relaxed atomic load. Bounded: events of
// the first `keep_first` and of the last `keep_last` iterations are kept (an event
// belongs to the iteration set_iteration() last named, on any thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace syncbed::trace {

using Clock = std::chrono::steady_clock;

struct Event {
  std::string name;      // "compute", "shuffle", "bucket 3", ...
  std::string category;  // "compute", "sync", "checkpoint", "evaluation"
  int thread = 0;        // small ids, in the order threads first recorded
  std::int64_t start_ns = 0;
  std::int64_t duration_ns = 0;
  long iteration = 0;
};

// One transport message as one rank saw it: posted by a thread, completed later.
struct Message {
  bool send = true;
  int source = 0, destination = 0;  // ranks
  std::uint64_t tag = 0, bytes = 0;
  std::uint64_t sequence = 0;  // the n-th message from source to destination with this tag
  int thread = 0;              // the posting thread
  std::int64_t posted_ns = 0, completed_ns = 0;
  long iteration = 0;
};

struct Limits {
  long keep_first = 50;
  long keep_last = 50;
  bool messages = false;  // also every transport message (costs more: one record per message)
  bool layers = false;    // also each model layer's part of the forward and backward pass (category "layer")
};

// Starts recording afresh (drops whatever was recorded), or stops.
void enable(const Limits& limits);
void disable();
bool enabled();
bool messages_enabled();
bool layers_enabled();

// Events recorded from now on belong to this iteration (kept also with tracing off: the
// transport's stall reports name it). -1 until one is set.
void set_iteration(long iteration);
long current_iteration();
// The phase the calling thread is in ("shuffle", "allreduce", ...; a string literal),
// also kept with tracing off, so a stall report can say where it is stuck. "" outside
// every PhaseScope.
const char* current_phase();
void set_phase(const char* phase);

// Names the calling thread's phase while in scope; the phase before it comes back after,
// so a wait outside the strategy is not reported under the strategy's last phase.
class PhaseScope {
 public:
  explicit PhaseScope(const char* phase) : previous_(current_phase()) { set_phase(phase); }
  ~PhaseScope() { set_phase(previous_); }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;
  // The scope's next phase ("push", then "pull").
  void next(const char* phase) { set_phase(phase); }

 private:
  const char* previous_;
};
// Names the calling thread in the trace ("main", "communication", ...).
void name_thread(const std::string& name);

void record(const std::string& name, const char* category, Clock::time_point start, Clock::time_point end);

// A steady_now_ns() timestamp as the time point record() takes.
inline Clock::time_point time_at(std::int64_t steady_ns) {
  return Clock::time_point(std::chrono::nanoseconds(steady_ns));
}

// Fills in the calling thread and the current iteration; a no-op unless messages are on.
void record_message(Message message);

// Stopwatch::lap() that also records the lap as an event named `name`: for phases timed
// by laps, so the timeline shows each real interval, not a sum.
double lap(Stopwatch& watch, const char* name, const char* category = "sync");

// Records the enclosing scope as one event.
class Scope {
 public:
  Scope(std::string name, const char* category) : name_(std::move(name)), category_(category) {
    if (enabled()) start_ = Clock::now();
  }
  ~Scope() {
    if (start_ != Clock::time_point{}) record(name_, category_, start_, Clock::now());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  std::string name_;
  const char* category_;
  Clock::time_point start_{};
};

// Everything kept so far, in start order, and the threads' names by id.
std::vector<Event> events();
std::vector<Message> messages();
std::vector<std::string> thread_names();

// One process of a Chrome trace: metadata naming the process (pid) and its threads,
// then the events, timestamps in microseconds shifted by `offset_ns` (this process's
// clock minus the reference clock's). Each message becomes an async slice from post to
// completion on its posting thread, and one end of a flow arrow from the send's post to
// the receive's completion (flow id "source-destination-tag-sequence", so the two ranks'
// halves meet).
nlohmann::json chrome_events(const std::vector<Event>& events, const std::vector<std::string>& thread_names, int pid,
                             const std::string& process_name, std::int64_t offset_ns,
                             const std::vector<Message>& messages = {});

}  // namespace syncbed::trace
