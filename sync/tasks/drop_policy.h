// BigDL's straggler drop ("dropPercentage"), for the task model's forward-backward job.
//
// After `warmup_iterations`, the driver collects every forward-backward task's compute
// time. At the end of each window of `threshold_window` iterations it re-estimates the
// threshold: with k = floor(drop_percentage x window x N) tasks meant to be dropped per
// window and d already dropped in it, the threshold becomes the (k - d)-th largest time
// of the window; when d >= k it grows by 1% instead (BigDL's rule). From the first
// estimate on, every forward-backward task gets the threshold as its time limit; a task
// still computing at its limit is cancelled and its gradient left out. Parameter sync
// sums the finished replicas' gradients and rescales the sum by N / finished; an
// iteration in which fewer than N x (1 - max_drop_percentage) replicas finished is
// discarded (weights and optimizer state carry over unchanged).
//
// drop_percentage must exceed the fraction of tasks that straggle: with k at or below the
// stragglers' count, the threshold lands on a straggler's own time and drops nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "sync/sync_options.h"

namespace syncbed::sync::tasks {

using DropOptions = sync::DropOptions;

class DropThreshold {
 public:
  DropThreshold(const DropOptions& options, int tasks_per_iteration);
  // The time limit for forward-backward tasks launched now; 0: none.
  std::int64_t limit_ns() const { return threshold_ns_; }
  void finished(long iteration, std::int64_t compute_ns);
  void dropped(long iteration);
  // Iteration `iteration` completed; at a window's end, re-estimates the threshold.
  void iteration_done(long iteration);

 private:
  bool counted(long iteration) const { return options_.enabled() && iteration >= options_.warmup_iterations; }

  DropOptions options_;
  int tasks_;
  std::int64_t threshold_ns_ = 0;
  std::vector<std::int64_t> times_;  // finished tasks' compute times in this window
  long dropped_ = 0;                 // tasks dropped in this window
};

}  // namespace syncbed::sync::tasks
