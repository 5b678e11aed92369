// Emulated compute (experiments/workloads/emulated_workload.cc).
#pragma once

#include <memory>

#include "experiments/workloads/workload.h"

namespace syncbed::experiments {

// Wraps a model-only workload: compute() sleeps `milliseconds` instead of computing and
// leaves a fixed, rank-dependent gradient of the model's size to be synchronized.
std::unique_ptr<Workload> make_emulated_workload(std::unique_ptr<Workload> model, double milliseconds, int rank,
                                                 int batch);

}  // namespace syncbed::experiments
