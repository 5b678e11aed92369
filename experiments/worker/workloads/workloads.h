// The concrete workloads behind make_workload() (experiments/worker/workloads/workload.h).
#pragma once

#include "experiments/worker/workloads/workload.h"

namespace syncbed::experiments {

// load_data false: the model only (its weights and gradient buffers), for emulated compute.
std::unique_ptr<Workload> make_image_workload(const ExperimentConfig& config, int rank, int workers, bool load_data);
std::unique_ptr<Workload> make_ncf_workload(const ExperimentConfig& config, int rank, int workers, bool load_data);

// Wraps a model-only workload: compute() sleeps `milliseconds` instead of computing and
// leaves a fixed, rank-dependent gradient of the model's size to be synchronized.
std::unique_ptr<Workload> make_emulated_workload(std::unique_ptr<Workload> model, double milliseconds, int rank,
                                                 int batch);

}  // namespace syncbed::experiments
