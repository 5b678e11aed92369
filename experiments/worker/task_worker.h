// One rank of a run with execution "tasks" (BigDL's model, sync/tasks/): ranks 0..N-1
// are executors that compute gradients for whichever data partitions the driver gives
// them; rank N is the driver, which writes the run's records and facts.
#pragma once

#include "core/transport/mesh.h"
#include "experiments/harness/experiment_config.h"
#include "experiments/worker/worker_loop.h"

namespace syncbed::experiments {

void run_task_worker(const ExperimentConfig& config, const RunSpec& run, net::Mesh& mesh,
                     const WorkerRunOptions& options);

}  // namespace syncbed::experiments
