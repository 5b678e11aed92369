// The strategy registry: one row per strategy carries everything the project needs to
// know about it, and every command, the config parser, the simulator and the tests ask
// here instead of naming strategies. To add a strategy: its own folder under sync/ (a
// ParameterSync and a cost model) and one row in registry.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/transport/mesh.h"
#include "sync/cost_model.h"
#include "sync/parameter_sync.h"
#include "sync/sync_options.h"

namespace syncbed::sync {

struct StrategyEntry {
  std::string name;
  std::string summary;  // one line, for --help and the README
  std::unique_ptr<ParameterSync> (*make)(net::Mesh& mesh, const SyncOptions& options);
  PhaseCosts (*costs)(const ClusterCosts& cluster, const SyncOptions& options);
  // Which option groups beyond the common ones it honours; the others are refused.
  bool bf16 = false;        // compression and sum_in_compressed_format
  bool ps_layout = false;   // SyncOptions::ps (servers, separate servers, staleness)
  bool task_model = false;  // SyncOptions::task_model (BigDL's driver and tasks, sync/tasks/)
  bool overlap = false;     // SyncOptions::overlap: begin_step() and sync_bucket()
};

// Every registered strategy, by name.
const std::vector<StrategyEntry>& strategy_entries();
std::vector<std::string> parameter_sync_names();
// Throws std::invalid_argument for a name that is not registered, listing the known ones.
const StrategyEntry& find_strategy(const std::string& name);

// Throws std::invalid_argument for an unknown name or an option the strategy does not
// support, naming both. Needs no mesh, so commands can refuse bad input before starting;
// `workers` > 0 also checks the options against that many workers.
void check_parameter_sync(const std::string& name, const SyncOptions& options, int workers = 0);

// Checks as above, then builds the strategy for the ranks that call step(). The task
// model is not built here: it runs through sync/tasks/ (driver and executors), and asking
// for it throws std::logic_error.
std::unique_ptr<ParameterSync> make_parameter_sync(const std::string& name, net::Mesh& mesh,
                                                   const SyncOptions& options);

// Ranks a job needs besides its workers: separate parameter servers, the task driver.
int extra_ranks(const SyncOptions& options);

// The label results show when a config gives none: "sharded", "sharded-bf16",
// "sharded-tasks-g4", "sharded-tasks-drop30", "ring-overlap".
std::string default_label(const std::string& name, const SyncOptions& options);

}  // namespace syncbed::sync
