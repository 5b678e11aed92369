// Whether and from where a failed run starts again. Long-running strategies with
// checkpoints restart from the newest checkpoint every rank completed, up to
// max_restarts times, unless the failure is one a restart cannot cure (a full disk); the
// task model recovers by itself and is never restarted. Each restart is recorded for the
// run's summary.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/harness/launcher.h"

namespace syncbed::experiments {

class RestartPolicy {
 public:
  RestartPolicy(bool restartable, int max_restarts, std::string checkpoint_dir, int ranks);

  bool restartable() const { return restartable_; }
  const std::string& checkpoint_dir() const { return checkpoint_dir_; }

  // After attempt `attempt` failed with `error` (empty: it succeeded): whether to try
  // again. A permanent failure gets a note in `error`. Remembers how long the failed
  // ranks took to stop, for the record.
  bool retry(int attempt, const LaunchOutcome& outcome, std::string& error);

  // Before attempt `attempt` (> 1): the iteration it resumes after. Drops the records of
  // iterations it will redo (and of their evaluations and checkpoints), removes newer
  // checkpoints, and records the restart.
  long prepare(int attempt, const std::string& error, std::vector<nlohmann::json>& records);

  // The restarted workers are training again, `seconds` after their launch.
  void training_again(double seconds);

  const nlohmann::json& restarts() const { return restarts_; }
  long redone_iterations() const { return redone_; }

 private:
  bool restartable_;
  int max_restarts_;
  std::string checkpoint_dir_;
  int ranks_;
  double stopped_s_ = 0;  // of the last failed attempt: from the first failed exit to the last exit
  nlohmann::json restarts_ = nlohmann::json::array();
  long redone_ = 0;
};

}  // namespace syncbed::experiments
