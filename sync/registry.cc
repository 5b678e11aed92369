#include <functional>
#include <map>
#include <stdexcept>

#include "sync/parameter_server.h"
#include "sync/parameter_sync.h"
#include "sync/ring_strategy.h"
#include "sync/sharded_shuffle.h"

namespace syncbed::sync {
namespace {

struct Entry {
  std::function<std::unique_ptr<ParameterSync>(net::Mesh&, const SyncOptions&)> make;
  bool supports_bf16 = false;
};

const std::map<std::string, Entry>& factories() {
  static const std::map<std::string, Entry> table{
      {"ps", {[](net::Mesh& mesh, const SyncOptions& o) { return std::make_unique<ParameterServer>(mesh, o); }, false}},
      {"ring", {[](net::Mesh& mesh, const SyncOptions& o) { return std::make_unique<RingStrategy>(mesh, o); }, false}},
      {"sharded",
       {[](net::Mesh& mesh, const SyncOptions& o) { return std::make_unique<ShardedShuffle>(mesh, o); }, true}},
  };
  return table;
}

}  // namespace

double PhaseTimes::total() const {
  double sum = 0;
  for (const auto& [name, seconds] : phases) sum += seconds;
  return sum;
}

void check_parameter_sync(const std::string& name, const SyncOptions& options, int workers) {
  const auto found = factories().find(name);
  if (found == factories().end()) {
    std::string known;
    for (const auto& n : parameter_sync_names()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown sync strategy '" + name + "' (known: " + known + ")");
  }
  if (options.compression != "none" && options.compression != "bf16")
    throw std::invalid_argument("compression must be \"none\" or \"bf16\", got '" + options.compression + "'");
  if (options.compression == "bf16" && !found->second.supports_bf16)
    throw std::invalid_argument("sync strategy '" + name + "' does not support compression 'bf16'");
  if (options.staleness < 0)
    throw std::invalid_argument("staleness must be >= 0, got " + std::to_string(options.staleness));
  if (options.ps_servers < 0)
    throw std::invalid_argument("ps_servers must be >= 0, got " + std::to_string(options.ps_servers));
  if (name != "ps" && (options.staleness != 0 || options.ps_servers != 0 || options.ps_separate_servers))
    throw std::invalid_argument("staleness and ps_servers apply to sync strategy 'ps' only, not '" + name + "'");
  if (workers > 0 && !options.ps_separate_servers && options.ps_servers > workers)
    throw std::invalid_argument("ps_servers: co-located servers need 1 <= servers <= workers (" +
                                std::to_string(workers) + "), got " + std::to_string(options.ps_servers));
  if (options.execution != "steps" && options.execution != "tasks")
    throw std::invalid_argument("execution must be \"steps\" or \"tasks\", got '" + options.execution + "'");
  if (options.tasks() && (name != "sharded" || options.compression != "none"))
    throw std::invalid_argument("execution \"tasks\" runs sync strategy 'sharded' without compression only");
  if (!options.tasks() && (options.group != 0 || options.block_store_bytes != 0 || options.drop.enabled()))
    throw std::invalid_argument("group, block_store_mb and drop_percentage need execution \"tasks\"");
  const auto& drop = options.drop;
  if (drop.drop_percentage < 0 || drop.drop_percentage >= 1 || drop.max_drop_percentage < drop.drop_percentage ||
      drop.max_drop_percentage >= 1)
    throw std::invalid_argument(
        "drop_percentage and max_drop_percentage must satisfy 0 <= drop_percentage <= "
        "max_drop_percentage < 1");
  if (drop.warmup_iterations < 0 || drop.threshold_window < 1)
    throw std::invalid_argument("warmup_iterations must be >= 0 and threshold_window >= 1");
  if (options.group < 0) throw std::invalid_argument("group must be >= 0, got " + std::to_string(options.group));
  if (options.ps_separate_servers && options.ps_servers == 0)
    throw std::invalid_argument("ps_servers: separate servers need a count >= 1");
}

std::unique_ptr<ParameterSync> make_parameter_sync(const std::string& name, net::Mesh& mesh,
                                                   const SyncOptions& options) {
  check_parameter_sync(name, options);
  return factories().at(name).make(mesh, options);
}

std::vector<std::string> parameter_sync_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  return names;
}

}  // namespace syncbed::sync
