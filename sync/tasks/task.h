// The tasks of BigDL's execution model, as the driver plans them and executors run them.
//
//   init(j)             put W(0, j) from the model's initial weights and a fresh S(0, j)
//   job 1 of iteration i, forward-backward(i, p) for every data partition p:
//                       get W(i, j) for every j, compute p's gradient, put G(i, p, j) for every j
//   job 2 of iteration i, parameter-sync(i, j) for every shard j:
//                       get G(i, p, j) for every p, sum in p order, get W(i, j) and S(i, j),
//                       apply the optimizer, put W(i+1, j) and S(i+1, j)
// Init and parameter-sync also put a copy of their outputs on a replica executor, so losing
// one executor loses no weights or optimizer state.
//
// A task names, for every block it reads, the executor that holds it, so a task runs
// anywhere: that is what lets the driver move the tasks of a lost executor.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace syncbed::sync::tasks {

enum class TaskKind : std::uint64_t { kInit = 1, kForwardBackward = 2, kParameterSync = 3 };

struct TaskKey {
  TaskKind kind = TaskKind::kInit;
  long iteration = 0;  // init: 0
  int index = 0;       // data partition (forward-backward) or shard (init, parameter-sync)

  // Jobs run in this order: init is job 0, iteration i's jobs are 2i+1 and 2i+2.
  long job() const {
    return kind == TaskKind::kInit ? 0 : 2 * iteration + (kind == TaskKind::kForwardBackward ? 1 : 2);
  }
  auto operator<=>(const TaskKey&) const = default;
  std::string describe() const;  // "forward-backward(3, 1)"
};

struct TaskSpec {
  TaskKey key;
  // forward-backward: sources[j] holds W(i, j). parameter-sync: sources[p] holds
  // G(i, p, j), and sources[N] holds W(i, j) and S(i, j). init: none.
  std::vector<int> sources;
  int replica = -1;  // init, parameter-sync: where the copy of the outputs goes (-1: none)
  // forward-backward: a task still computing after this long is dropped (0: no limit;
  // drop_policy.h). Its gradient blocks are put empty, so parameter-sync leaves them out.
  std::int64_t time_limit_ns = 0;
};

// A round: the tasks one executor runs, in order, plus housekeeping.
struct RoundMessage {
  long round = 0;
  long evict_below = 0;  // blocks of earlier iterations can go
  enum class End { kNo = 0, kStop = 1, kAbort = 2 };
  End end = End::kNo;  // no more rounds: shut down (kAbort: the driver failed)
  std::vector<TaskSpec> tasks;

  std::vector<std::uint64_t> encode() const;
  // Throws std::runtime_error on a malformed message.
  static RoundMessage decode(std::span<const std::uint64_t> words, int executors);
};

// kDropped: a forward-backward task cancelled at its time limit (its outputs are empty).
enum class TaskStatus : std::uint64_t { kDone = 1, kFailed = 2, kSkipped = 3, kGoodbye = 4, kDropped = 5 };

// An executor's report on one task. Times are this machine's steady clock, in ns.
struct TaskReport {
  TaskKey key;
  TaskStatus status = TaskStatus::kDone;
  std::int64_t received_ns = 0;  // the round arrived
  std::int64_t start_ns = 0, end_ns = 0;
  std::int64_t fetch_ns = 0, compute_ns = 0, put_ns = 0;
  double loss = 0;                    // forward-backward
  std::int64_t replicas = 0;          // parameter-sync: the replicas whose gradients it summed
  std::int64_t peak_store_bytes = 0;  // kGoodbye: the executor's block store high-water mark
  std::string message;                // kFailed: why (truncated to fit the wire)

  static constexpr std::size_t kWords = 13;
  static constexpr std::size_t kMessageBytes = 320;
  static constexpr std::size_t kWireBytes = kWords * 8 + kMessageBytes;
  std::array<std::byte, kWireBytes> encode() const;
  static TaskReport decode(std::span<const std::byte, kWireBytes> bytes);
};

}  // namespace syncbed::sync::tasks
