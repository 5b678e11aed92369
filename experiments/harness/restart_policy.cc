#include "experiments/harness/restart_policy.h"

#include <algorithm>

#include "experiments/harness/checkpoint.h"
#include "experiments/harness/records.h"

namespace syncbed::experiments {

RestartPolicy::RestartPolicy(bool restartable, int max_restarts, std::string checkpoint_dir, int ranks)
    : restartable_(restartable),
      max_restarts_(max_restarts),
      checkpoint_dir_(std::move(checkpoint_dir)),
      ranks_(ranks) {}

bool RestartPolicy::retry(int attempt, const LaunchOutcome& outcome, std::string& error) {
  const auto& exits = outcome.exits;
  const bool permanent = std::any_of(exits.begin(), exits.end(), [](const WorkerExit& e) {
    return e.exit_code == kPermanentFailureExitCode && !e.killed_by_launcher;
  });
  if (permanent && restartable_) error += " (not restarted: a restart cannot cure this)";
  if (error.empty() || !restartable_ || permanent || attempt > max_restarts_) return false;
  double first_failure = 1e300, last_exit = 0;
  for (const auto& e : exits) {
    if (e.exit_code != 0) first_failure = std::min(first_failure, e.seconds);
    last_exit = std::max(last_exit, e.seconds);
  }
  stopped_s_ = last_exit - first_failure;
  return true;
}

long RestartPolicy::prepare(int attempt, const std::string& error, std::vector<nlohmann::json>& records) {
  const long resume = CheckpointDir::newest_complete(checkpoint_dir_, ranks_);
  CheckpointDir::discard_after(checkpoint_dir_, resume);
  // Iterations past the checkpoint are lost and done again; so are their evaluations. An
  // evaluation or checkpoint at `resume` came before the checkpoint; iteration `resume`
  // is the first to do again.
  long redone = 0;
  std::erase_if(records, [&](const nlohmann::json& r) {
    const long iteration = r.value("iteration", 0L);
    const bool is_iteration = kind_of(r) == RecordKind::kIteration;
    const bool lost = is_iteration ? iteration >= resume : iteration > resume;
    redone += lost && is_iteration;
    return lost;
  });
  restarts_.push_back({{"attempt", attempt - 1},
                       {"error", error},
                       {"stopped_s", stopped_s_},
                       {"resumed_from", resume},
                       {"redone_iterations", redone}});
  redone_ += redone;
  return resume;
}

void RestartPolicy::training_again(double seconds) {
  if (!restarts_.empty() && !restarts_.back().contains("restart_s")) restarts_.back()["restart_s"] = seconds;
}

}  // namespace syncbed::experiments
