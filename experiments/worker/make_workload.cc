#include "experiments/worker/make_workload.h"

#include "experiments/workloads/emulated_workload.h"
#include "experiments/workloads/registry.h"

namespace syncbed::experiments {

std::unique_ptr<Workload> make_real_workload(const ExperimentConfig& config, int rank, int workers) {
  return find_model(config.model.name).make(config.workload(), rank, workers, true);
}

std::unique_ptr<Workload> make_workload(const ExperimentConfig& config, int rank, int workers) {
  if (!config.compute.emulated()) return make_real_workload(config, rank, workers);
  auto model = find_model(config.model.name).make(config.workload(), rank, workers, false);
  return make_emulated_workload(std::move(model), config.compute.emulation(), rank, config.model.batch);
}

}  // namespace syncbed::experiments
