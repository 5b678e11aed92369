// `syncbed run`: a config -> a sweep of runs (strategies x worker counts) -> results.
// Each run starts N local worker processes (plus servers where the strategy needs them)
// through the launcher, follows rank 0's records for the progress line, and turns them
// into results/<name>/ once the run ends. A failed run is recorded with its error and
// the sweep goes on; Ctrl-C stops the workers and keeps the finished runs.
#pragma once

#include "experiments/harness/experiment_config.h"
#include "experiments/harness/results.h"

namespace syncbed::experiments {

struct SweepOptions {
  bool plot = true;  // call scripts/plot.py at the end when Python has matplotlib
};

// The config's calibration file (`syncbed calibrate`), checked to belong to its model
// and data; errors name `field` as the one that needs it.
nlohmann::json read_calibration(const ExperimentConfig& config, const std::string& field);

// What the results record about `run` of `config`, whatever its outcome.
RunFacts run_facts(const ExperimentConfig& config, const RunSpec& run);

// Replaces from_calibration with the measured time from calibration_path(); throws
// std::invalid_argument when there is none or it was measured for another model.
void resolve_compute(ExperimentConfig& config);

// Returns the exit code: 0 when every run succeeded, 1 when some failed, 130 when
// interrupted.
int run_experiment(ExperimentConfig config, const SweepOptions& options);

// Runs scripts/plot.py on a results directory; false (with a note on stderr) when Python
// with matplotlib is not there.
bool plot_results(const std::string& dir);

}  // namespace syncbed::experiments
