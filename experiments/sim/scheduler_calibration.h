// syncbed's own scheduler, measured: `syncbed calibrate CONFIG --scheduler` runs the task
// model (a driver and N executor processes, two jobs per iteration) on a near-empty job at
// the executor counts this machine can run, takes the median time per iteration not spent
// in tasks (launch, start latency, reports), halves it per job, and fits a + b N. That is
// the "syncbed" scheduler profile (scheduler_profile.h), the analogue of the Drizzle
// chart's near-empty stage for syncbed's driver.
#pragma once

#include <string>
#include <vector>

#include "experiments/sim/scheduler_profile.h"

namespace syncbed::experiments {

// Runs the sweep into `dir` (its results stay there: summary.jsonl, records) and fits it.
// Throws std::runtime_error when a run fails.
SchedulerFit measure_syncbed_scheduler(const std::string& dir, const std::vector<int>& executors);

}  // namespace syncbed::experiments
