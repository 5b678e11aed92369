// The driver's plan, apart from any transport (Horovod's split: control plane here, data
// plane in the executors). It knows the job graph of a run, where every task ran and so
// where every block lives, and which executors are alive:
//   - a round is the pending tasks of the next job (BigDL: one driver round trip per job)
//     or, with group scheduling, of the next `group` iterations (Drizzle), their
//     dependencies pre-declared through the blocks they read;
//   - data partition p and weight shard j run on their owner, p's or j's executor, so
//     gradients and weights stay local where they can;
//   - a failed task runs again (at most max_attempts times); a lost executor's partitions
//     move to the survivors, and tasks whose outputs died with it run again.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sync/tasks/task.h"

namespace syncbed::sync::tasks {

struct SchedulerOptions {
  int partitions = 1;   // N: data partitions = weight shards = executors at the start
  long iterations = 0;  // T
  int group = 0;        // 0: one job per round; k: k iterations (2k jobs) per round
  int max_attempts = 3;
};

struct Round {
  long number = 0;
  long evict_below = 0;
  std::map<int, std::vector<TaskSpec>> tasks;  // per live executor, in dependency order
  std::size_t size() const;
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerOptions& options);

  bool finished() const { return frontier_ > last_job(); }
  // Plans the next round. Every live executor has an entry, maybe empty. Throws
  // std::runtime_error when a block a task needs was lost with all its copies.
  Round next_round();
  void completed(const TaskKey& key);
  // Runs again in a later round; throws std::runtime_error naming the task and the
  // reason once it has failed max_attempts times.
  void failed(const TaskKey& key, const std::string& why);
  void skipped(const TaskKey& key);  // not run: pending again, no attempt counted
  // Moves the executor's partitions and shards to the survivors and reopens what its
  // loss undid. Throws std::runtime_error when no executor is left.
  void executor_lost(int executor);

  const std::vector<int>& alive() const { return alive_; }
  bool is_alive(int executor) const;
  int owner(int partition) const { return owner_[partition]; }
  // Where W(iteration, shard) lives now: its producer's executor or the replica.
  int weights_location(long iteration, int shard) const;
  long iterations_done() const;  // iterations whose job 2 has completed

 private:
  enum class State { kPending, kPlanned, kDone };
  struct Task {
    State state = State::kPending;
    int executor = -1, replica = -1;
    int attempts = 0;
    std::string last_error;
  };

  long last_job() const { return 2 * options_.iterations; }
  TaskKey key_of(long job, int index) const;
  Task& task(const TaskKey& key) { return tasks_[key]; }
  const Task* find(const TaskKey& key) const;
  // The executor that holds (or, planned in this round, will hold) a task's outputs.
  int output_location(const TaskKey& producer) const;
  TaskSpec plan(const TaskKey& key);
  void reopen(const TaskKey& key);
  void advance_frontier();

  SchedulerOptions options_;
  std::vector<int> alive_;
  std::vector<int> owner_;
  std::map<TaskKey, Task> tasks_;
  std::map<long, int> done_per_job_;
  long frontier_ = 0;  // the first job not fully done
  long rounds_ = 0;
};

}  // namespace syncbed::sync::tasks
