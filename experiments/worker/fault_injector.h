// The config's injected faults (faults.kill, faults.straggler) as one rank meets them,
// in one place for every worker path: long-running workers, the task model's executors
// and its driver.
#pragma once

#include <functional>
#include <string>

#include "experiments/harness/experiment_config.h"
#include "sync/tasks/task.h"

namespace syncbed::experiments {

class FaultInjector {
 public:
  // `attempt`: a restarted run's attempts after the first inject nothing (the fault has
  // happened; the restart is the thing tested).
  FaultInjector(const ExperimentConfig& config, const RunSpec& run, int rank, int attempt = 1);

  // A long-running worker, before computing `iteration`: dies by SIGKILL, throws with
  // faults.kill.how "error", or freezes by SIGSTOP with "stop", when this is the rank
  // and iteration to kill.
  void before_iteration(long iteration) const;
  // The task driver, after `iteration`.
  void after_driver_iteration(long iteration) const;
  // A task executor's hook before each task: dies in the configured job's task of the
  // configured iteration. Empty when this rank is not the one to kill.
  std::function<void(const sync::tasks::TaskKey&)> before_task() const;

  // A straggler computes `slowdown()` times as long (1: not this rank); the extra time
  // after computing `compute_s` is extra_compute_s().
  double slowdown() const { return slowdown_; }
  double extra_compute_s(double compute_s) const { return (slowdown_ - 1) * compute_s; }

 private:
  [[noreturn]] void die(const std::string& what) const;

  KillFault kill_;
  bool armed_;
  int rank_;
  double slowdown_;
};

}  // namespace syncbed::experiments
