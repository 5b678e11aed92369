// An experiment whose workers an outside launcher started, one per host: `srun syncbed
// worker CONFIG` under Slurm, or one pod each in a Kubernetes Indexed Job. The job's
// world size fixes N, so every strategy of the config runs once, in order, at N = world
// size (less ps's separate servers), over one mesh; rank 0 writes the results directory
// as `syncbed run` does.
#pragma once

#include <string>

#include "core/transport/mesh.h"
#include "experiments/harness/experiment_config.h"

namespace syncbed::experiments {

// Returns the exit status (0 when every run succeeded). Throws when the job breaks (a
// lost peer, a bad config), which ends every rank with an error. With "trace" and a
// `trace_dir`, each rank writes <trace_dir>/run-K/trace-rank-<r>.json, and rank 0 merges
// them into the results' trace.json when it can see them all.
int run_multi_host(const ExperimentConfig& config, net::Mesh& mesh, const std::string& trace_dir = "");

}  // namespace syncbed::experiments
