#include "sync/tasks/task.h"

#include <bit>
#include <cstring>
#include <stdexcept>

namespace syncbed::sync::tasks {
namespace {

constexpr std::uint64_t kMaxSources = 1 << 20;

TaskKind decode_kind(std::uint64_t word) {
  if (word < 1 || word > 3) throw std::runtime_error("unknown task kind " + std::to_string(word));
  return static_cast<TaskKind>(word);
}

}  // namespace

std::string TaskKey::describe() const {
  switch (kind) {
    case TaskKind::kInit:
      return "init(" + std::to_string(index) + ")";
    case TaskKind::kForwardBackward:
      return "forward-backward(" + std::to_string(iteration) + ", " + std::to_string(index) + ")";
    case TaskKind::kParameterSync:
      return "parameter-sync(" + std::to_string(iteration) + ", " + std::to_string(index) + ")";
  }
  return "?";
}

// Layout: round, evict_below, stop, task count, then per task: kind, iteration, index,
// replica + 1, time limit, source count, sources.
std::vector<std::uint64_t> RoundMessage::encode() const {
  std::vector<std::uint64_t> words{static_cast<std::uint64_t>(round), static_cast<std::uint64_t>(evict_below),
                                   static_cast<std::uint64_t>(end), tasks.size()};
  for (const auto& task : tasks) {
    words.insert(words.end(),
                 {static_cast<std::uint64_t>(task.key.kind), static_cast<std::uint64_t>(task.key.iteration),
                  static_cast<std::uint64_t>(task.key.index), static_cast<std::uint64_t>(task.replica + 1),
                  static_cast<std::uint64_t>(task.time_limit_ns), task.sources.size()});
    for (int source : task.sources) words.push_back(static_cast<std::uint64_t>(source));
  }
  return words;
}

RoundMessage RoundMessage::decode(std::span<const std::uint64_t> words, int executors) {
  std::size_t at = 0;
  auto next = [&](std::uint64_t limit, const char* what) {
    if (at >= words.size()) throw std::runtime_error(std::string("round message ends before its ") + what);
    const std::uint64_t word = words[at++];
    if (word > limit) throw std::runtime_error(std::string("round message: ") + what + " out of range");
    return word;
  };
  constexpr std::uint64_t kMaxIteration = std::uint64_t{1} << 40;
  RoundMessage message;
  message.round = static_cast<long>(next(kMaxIteration, "round"));
  message.evict_below = static_cast<long>(next(kMaxIteration, "eviction bound"));
  message.end = static_cast<RoundMessage::End>(next(2, "end flag"));
  const auto count = next(kMaxSources, "task count");
  const auto executor_limit = static_cast<std::uint64_t>(executors - 1);
  for (std::uint64_t t = 0; t < count; ++t) {
    TaskSpec task;
    task.key.kind = decode_kind(next(3, "task kind"));
    task.key.iteration = static_cast<long>(next(kMaxIteration, "iteration"));
    task.key.index = static_cast<int>(next(kMaxSources, "task index"));
    task.replica = static_cast<int>(next(executor_limit + 1, "replica")) - 1;
    task.time_limit_ns = static_cast<std::int64_t>(next(std::uint64_t{1} << 62, "time limit"));
    const auto sources = next(kMaxSources, "source count");
    for (std::uint64_t s = 0; s < sources; ++s)
      task.sources.push_back(static_cast<int>(next(executor_limit, "source")));
    message.tasks.push_back(std::move(task));
  }
  if (at != words.size()) throw std::runtime_error("round message has trailing words");
  return message;
}

std::array<std::byte, TaskReport::kWireBytes> TaskReport::encode() const {
  const std::uint64_t words[kWords] = {
      static_cast<std::uint64_t>(key.kind),        static_cast<std::uint64_t>(key.iteration),
      static_cast<std::uint64_t>(key.index),       static_cast<std::uint64_t>(status),
      static_cast<std::uint64_t>(received_ns),     static_cast<std::uint64_t>(start_ns),
      static_cast<std::uint64_t>(end_ns),          static_cast<std::uint64_t>(fetch_ns),
      static_cast<std::uint64_t>(compute_ns),      static_cast<std::uint64_t>(put_ns),
      std::bit_cast<std::uint64_t>(loss),          static_cast<std::uint64_t>(replicas),
      static_cast<std::uint64_t>(peak_store_bytes)};
  std::array<std::byte, kWireBytes> bytes{};
  std::memcpy(bytes.data(), words, sizeof words);
  std::memcpy(bytes.data() + sizeof words, message.data(), std::min(message.size(), kMessageBytes));
  return bytes;
}

TaskReport TaskReport::decode(std::span<const std::byte, kWireBytes> bytes) {
  std::uint64_t words[kWords];
  std::memcpy(words, bytes.data(), sizeof words);
  TaskReport report;
  report.key = {decode_kind(words[0]), static_cast<long>(words[1]), static_cast<int>(words[2])};
  if (words[3] < 1 || words[3] > 5) throw std::runtime_error("unknown task status " + std::to_string(words[3]));
  report.status = static_cast<TaskStatus>(words[3]);
  report.received_ns = static_cast<std::int64_t>(words[4]);
  report.start_ns = static_cast<std::int64_t>(words[5]);
  report.end_ns = static_cast<std::int64_t>(words[6]);
  report.fetch_ns = static_cast<std::int64_t>(words[7]);
  report.compute_ns = static_cast<std::int64_t>(words[8]);
  report.put_ns = static_cast<std::int64_t>(words[9]);
  report.loss = std::bit_cast<double>(words[10]);
  report.replicas = static_cast<std::int64_t>(words[11]);
  report.peak_store_bytes = static_cast<std::int64_t>(words[12]);
  const char* text = reinterpret_cast<const char*>(bytes.data() + sizeof words);
  report.message.assign(text, strnlen(text, kMessageBytes));
  return report;
}

}  // namespace syncbed::sync::tasks
