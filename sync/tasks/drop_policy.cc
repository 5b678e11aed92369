#include "sync/tasks/drop_policy.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace syncbed::sync::tasks {

DropThreshold::DropThreshold(const DropOptions& options, int tasks_per_iteration)
    : options_(options), tasks_(tasks_per_iteration) {}

void DropThreshold::finished(long iteration, std::int64_t compute_ns) {
  if (counted(iteration)) times_.push_back(compute_ns);
}

void DropThreshold::dropped(long iteration) {
  if (counted(iteration)) ++dropped_;
}

void DropThreshold::iteration_done(long iteration) {
  if (!counted(iteration) || (iteration - options_.warmup_iterations + 1) % options_.threshold_window != 0) return;
  const auto k = static_cast<long>(options_.drop_percentage * static_cast<double>(options_.threshold_window * tasks_));
  if (k > dropped_ && !times_.empty()) {
    const auto rank = static_cast<std::size_t>(std::min<long>(k - dropped_, static_cast<long>(times_.size())));
    std::nth_element(times_.begin(), times_.begin() + static_cast<long>(rank - 1), times_.end(), std::greater<>());
    threshold_ns_ = times_[rank - 1];
  } else {
    threshold_ns_ = static_cast<std::int64_t>(static_cast<double>(threshold_ns_) * 1.01);
  }
  times_.clear();
  dropped_ = 0;
}

}  // namespace syncbed::sync::tasks
