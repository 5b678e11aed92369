// Inception-v1 (BigDL's image model) as a workload: on synthetic ImageNet-shaped images
// or on Fashion-MNIST. Its registry row is inception_v1_entry().
#pragma once

#include "experiments/workloads/registry.h"

namespace syncbed::experiments {

ModelEntry inception_v1_entry();

// The parts of the row, one file each.
std::unique_ptr<Workload> make_inception_v1_workload(const WorkloadSpec& spec, int rank, int workers, bool load_data);
nlohmann::json bench_inception_v1(const cli::Options& options, int batch, int steps, int warmup,
                                  models::Profile* profile);
std::vector<cli::OptionSpec> inception_v1_bench_options();
nlohmann::json train_inception_v1(const cli::Options& options, int batch);
std::vector<cli::OptionSpec> inception_v1_train_options();

}  // namespace syncbed::experiments
