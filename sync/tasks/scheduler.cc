#include "sync/tasks/scheduler.h"

#include <algorithm>
#include <stdexcept>

namespace syncbed::sync::tasks {

std::size_t Round::size() const {
  std::size_t n = 0;
  for (const auto& [executor, list] : tasks) n += list.size();
  return n;
}

Scheduler::Scheduler(const SchedulerOptions& options) : options_(options) {
  if (options.partitions < 1) throw std::invalid_argument("scheduler: need at least one partition");
  if (options.group < 0 || options.max_attempts < 1) throw std::invalid_argument("scheduler: bad group or attempts");
  for (int e = 0; e < options.partitions; ++e) {
    alive_.push_back(e);
    owner_.push_back(e);
  }
}

TaskKey Scheduler::key_of(long job, int index) const {
  if (job == 0) return {TaskKind::kInit, 0, index};
  return {job % 2 == 1 ? TaskKind::kForwardBackward : TaskKind::kParameterSync, (job - 1) / 2, index};
}

const Scheduler::Task* Scheduler::find(const TaskKey& key) const {
  auto found = tasks_.find(key);
  return found == tasks_.end() ? nullptr : &found->second;
}

bool Scheduler::is_alive(int executor) const {
  return std::find(alive_.begin(), alive_.end(), executor) != alive_.end();
}

int Scheduler::output_location(const TaskKey& producer) const {
  const Task* t = find(producer);
  if (!t || t->state == State::kPending)
    throw std::logic_error("scheduler: " + producer.describe() + " is needed but neither done nor planned");
  if (is_alive(t->executor)) return t->executor;
  if (producer.kind != TaskKind::kForwardBackward && t->replica >= 0 && is_alive(t->replica)) return t->replica;
  throw std::runtime_error("the outputs of " + producer.describe() + " were lost with executor " +
                           std::to_string(t->executor) +
                           (t->replica >= 0 ? " and its replica " + std::to_string(t->replica) : std::string()) +
                           "; training cannot continue");
}

int Scheduler::weights_location(long iteration, int shard) const {
  return output_location(iteration == 0 ? TaskKey{TaskKind::kInit, 0, shard}
                                        : TaskKey{TaskKind::kParameterSync, iteration - 1, shard});
}

TaskSpec Scheduler::plan(const TaskKey& key) {
  const int n = options_.partitions;
  TaskSpec spec{key, {}, -1};
  if (key.kind == TaskKind::kForwardBackward) {
    for (int j = 0; j < n; ++j) spec.sources.push_back(weights_location(key.iteration, j));
  } else if (key.kind == TaskKind::kParameterSync) {
    for (int p = 0; p < n; ++p) spec.sources.push_back(output_location({TaskKind::kForwardBackward, key.iteration, p}));
    spec.sources.push_back(weights_location(key.iteration, key.index));
  }
  const int executor = owner_[key.index];
  if (key.kind != TaskKind::kForwardBackward && alive_.size() > 1) {
    // The next live executor after this one keeps the copy.
    const auto at = std::find(alive_.begin(), alive_.end(), executor) - alive_.begin();
    spec.replica = alive_[(at + 1) % alive_.size()];
  }
  Task& t = task(key);
  t.state = State::kPlanned;
  t.executor = executor;
  t.replica = spec.replica;
  return spec;
}

Round Scheduler::next_round() {
  Round round;
  round.number = rounds_++;
  round.evict_below = frontier_ == 0 ? 0 : (frontier_ - 1) / 2;
  for (int e : alive_) round.tasks[e];
  const long span = options_.group == 0 ? 1 : 2L * options_.group + (frontier_ == 0 ? 1 : 0);
  const long end = std::min(frontier_ + span, last_job() + 1);
  for (long job = frontier_; job < end; ++job)
    for (int index = 0; index < options_.partitions; ++index) {
      const TaskKey key = key_of(job, index);
      const Task* t = find(key);
      if (t && t->state != State::kPending) continue;
      TaskSpec spec = plan(key);
      round.tasks[owner_[index]].push_back(std::move(spec));
    }
  return round;
}

void Scheduler::advance_frontier() {
  while (frontier_ <= last_job() && done_per_job_[frontier_] == options_.partitions) ++frontier_;
}

void Scheduler::completed(const TaskKey& key) {
  Task& t = task(key);
  if (t.state != State::kPlanned) throw std::logic_error("scheduler: " + key.describe() + " completed but not planned");
  t.state = State::kDone;
  ++done_per_job_[key.job()];
  advance_frontier();
}

void Scheduler::failed(const TaskKey& key, const std::string& why) {
  Task& t = task(key);
  t.state = State::kPending;
  t.last_error = why;
  if (++t.attempts >= options_.max_attempts)
    throw std::runtime_error(key.describe() + " failed " + std::to_string(t.attempts) +
                             " times; the last time: " + why);
}

void Scheduler::skipped(const TaskKey& key) { task(key).state = State::kPending; }

void Scheduler::reopen(const TaskKey& key) {
  Task& t = task(key);
  if (t.state == State::kDone) {
    --done_per_job_[key.job()];
    frontier_ = std::min(frontier_, key.job());
  }
  t.state = State::kPending;
}

void Scheduler::executor_lost(int executor) {
  if (!is_alive(executor)) return;
  std::erase(alive_, executor);
  if (alive_.empty()) throw std::runtime_error("every executor has been lost");
  // Its partitions go, one by one, to the survivor that owns the fewest.
  for (int p = 0; p < options_.partitions; ++p) {
    if (owner_[p] != executor) continue;
    owner_[p] = *std::min_element(alive_.begin(), alive_.end(), [&](int a, int b) {
      return std::count(owner_.begin(), owner_.end(), a) < std::count(owner_.begin(), owner_.end(), b);
    });
  }
  for (auto& [key, t] : tasks_) {
    if (t.executor != executor) continue;
    if (t.state == State::kPlanned) {
      reopen(key);
    } else if (t.state == State::kDone && key.kind == TaskKind::kForwardBackward &&
               done_per_job_[key.job() + 1] < options_.partitions) {
      reopen(key);  // its gradient blocks are gone and job 2 still needs them
    }
  }
}

long Scheduler::iterations_done() const { return std::max(0L, frontier_ - 1) / 2; }

}  // namespace syncbed::sync::tasks
