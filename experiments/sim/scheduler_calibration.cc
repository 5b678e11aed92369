#include "experiments/sim/scheduler_calibration.h"

#include <stdexcept>

#include "experiments/harness/experiment.h"
#include "experiments/harness/results.h"

namespace syncbed::experiments {

SchedulerFit measure_syncbed_scheduler(const std::string& dir, const std::vector<int>& executors) {
  // Like the Drizzle benchmark's near-empty stage: tasks that do almost nothing (a 1 ms
  // compute and a model of ~20k parameters), so what is timed is the scheduling around them.
  const nlohmann::json job{
      {"name", "scheduler"},
      {"description", "syncbed's driver on a near-empty job, for the \"syncbed\" scheduler profile"},
      {"model", {{"name", "ncf"}, {"batch", 64}}},
      {"data", {{"kind", "synthetic"}, {"users", 100}, {"items", 100}}},
      {"strategies", {{{"name", "sharded"}, {"execution", "tasks"}}}},
      {"workers", executors},
      {"iterations", 40},
      {"warmup", 5},
      {"threads", 1},
      {"compute", {{"emulated_ms", 1}}},
      {"timeout_s", 60},
      {"output", dir}};
  if (run_experiment(parse_experiment_config(job, "scheduler"), SweepOptions{false}) != 0)
    throw std::runtime_error("measuring syncbed's scheduler: a run failed (see " + dir + "/summary.jsonl)");
  std::map<int, double> ms_at;
  for (const auto& summary : read_summaries(dir))  // the driver's two jobs per iteration
    ms_at[summary.workers] = summary.phases_ms.at("scheduling") / 2;
  return SchedulerFit::of(std::move(ms_at));
}

}  // namespace syncbed::experiments
