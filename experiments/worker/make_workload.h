// The workload a rank of a run trains: the registered model's (workloads/registry.h),
// computing for real or, with emulated compute, sleeping.
#pragma once

#include <memory>

#include "experiments/harness/experiment_config.h"
#include "experiments/workloads/workload.h"

namespace syncbed::experiments {

// rank/workers pick this worker's share of the data. With emulated compute the model is
// built (for its weights) but no data is loaded, and compute() sleeps instead.
std::unique_ptr<Workload> make_workload(const ExperimentConfig& config, int rank, int workers);

// The model alone, computing for real on all its data (what `syncbed calibrate` times).
std::unique_ptr<Workload> make_real_workload(const ExperimentConfig& config, int rank, int workers);

}  // namespace syncbed::experiments
