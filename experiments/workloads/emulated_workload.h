// Emulated compute (experiments/workloads/emulated_workload.cc).
#pragma once

#include <memory>
#include <vector>

#include "experiments/workloads/workload.h"

namespace syncbed::experiments {

// Wraps a model-only workload: compute() sleeps for the iteration's time instead of
// computing and leaves a fixed, rank-dependent gradient of the model's size to be
// synchronized. compute_overlapped() sleeps through forward, then releases each layer's
// gradients, last layer first, when its share of backward has passed.
std::unique_ptr<Workload> make_emulated_workload(std::unique_ptr<Workload> model, const EmulatedCompute& compute,
                                                 int rank, int batch);

// When compute_overlapped() reports each layer final: ms from the iteration's start, last
// layer first; the first layer's release (begin 0) comes at the total time.
struct GradientRelease {
  std::size_t begin = 0;
  double at_ms = 0;
};
std::vector<GradientRelease> release_schedule(const std::vector<ParameterLayer>& layers,
                                              const EmulatedCompute& compute);

}  // namespace syncbed::experiments
