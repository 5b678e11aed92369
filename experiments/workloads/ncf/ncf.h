// NCF (neural collaborative filtering, the paper's recommendation model) as a workload:
// on uniformly drawn interactions, MovieLens ratings or synthetic ml-20m-shaped data.
// Its registry row is ncf_entry().
#pragma once

#include "experiments/workloads/registry.h"

namespace syncbed::experiments {

ModelEntry ncf_entry();

// The parts of the row, one file each.
std::unique_ptr<Workload> make_ncf_workload(const WorkloadSpec& spec, int rank, int workers, bool load_data);
nlohmann::json bench_ncf(const cli::Options& options, int batch, int steps, int warmup, models::Profile* profile);
std::vector<cli::OptionSpec> ncf_bench_options();
nlohmann::json train_ncf(const cli::Options& options, int batch);
std::vector<cli::OptionSpec> ncf_train_options();

}  // namespace syncbed::experiments
