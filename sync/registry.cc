#include "sync/registry.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/join.h"
#include "sync/halving_doubling/halving_doubling.h"
#include "sync/ps/parameter_server.h"
#include "sync/ring/ring_strategy.h"
#include "sync/sharded/sharded_shuffle.h"

namespace syncbed::sync {
namespace {

template <class Strategy>
std::unique_ptr<ParameterSync> make(net::Mesh& mesh, const SyncOptions& options) {
  return std::make_unique<Strategy>(mesh, options);
}

// The registry, one row per strategy. Fields: name, summary, factory, cost model, then
// which option groups the strategy honours (bf16, ps_layout, task_model, overlap). Built on first
// use, so tests that list strategies while registering themselves find it filled.
std::vector<StrategyEntry> registered_strategies() {
  return {
      {"halving_doubling",
       "recursive halving reduce-scatter, recursive doubling all-gather, then the optimizer everywhere",
       make<HalvingDoubling>, HalvingDoubling::costs, false, false, false, true},
      {"ps", "parameter servers: workers push gradient ranges, servers update, workers pull", make<ParameterServer>,
       ParameterServer::costs, false, true, false, true},
      {"ring", "ring allreduce (reduce-scatter, all-gather), then the optimizer on every worker", make<RingStrategy>,
       RingStrategy::costs, false, false, false, true},
      {"sharded", "BigDL's shuffle and broadcast: each shard's owner sums it and updates its weights",
       make<ShardedShuffle>, ShardedShuffle::costs, true, false, true, true},
  };
}

// "'ps'" or "'ps' or 'sharded'": the strategies with a capability, for messages.
template <class Has>
std::string strategies_with(Has has) {
  std::string names;
  for (const auto& entry : strategy_entries())
    if (has(entry)) names += (names.empty() ? "'" : "' or '") + entry.name;
  return names + "'";
}

void check_ps_layout(const StrategyEntry& entry, const PsOptions& ps, int workers) {
  if (ps.staleness < 0) throw std::invalid_argument("staleness must be >= 0, got " + std::to_string(ps.staleness));
  if (ps.servers < 0) throw std::invalid_argument("ps_servers must be >= 0, got " + std::to_string(ps.servers));
  if (!entry.ps_layout && (ps.staleness != 0 || ps.servers != 0 || ps.separate_servers))
    throw std::invalid_argument("staleness and ps_servers apply to sync strategy " +
                                strategies_with([](const auto& e) { return e.ps_layout; }) + " only, not '" +
                                entry.name + "'");
  if (workers > 0 && !ps.separate_servers && ps.servers > workers)
    throw std::invalid_argument("ps_servers: co-located servers need 1 <= servers <= workers (" +
                                std::to_string(workers) + "), got " + std::to_string(ps.servers));
  if (ps.separate_servers && ps.servers == 0)
    throw std::invalid_argument("ps_servers: separate servers need a count >= 1");
}

void check_task_model(const StrategyEntry& entry, const SyncOptions& options) {
  const TaskModelOptions& tasks = options.task_model;
  if (tasks.enabled && (!entry.task_model || options.compression != Compression::kNone))
    throw std::invalid_argument("execution \"tasks\" runs sync strategy " +
                                strategies_with([](const auto& e) { return e.task_model; }) +
                                " without compression only");
  if (!tasks.enabled && (tasks.group != 0 || tasks.block_store_bytes != 0 || tasks.drop.enabled()))
    throw std::invalid_argument("group, block_store_mb and drop_percentage need execution \"tasks\"");
  const DropOptions& drop = tasks.drop;
  if (drop.drop_percentage < 0 || drop.drop_percentage >= 1 || drop.max_drop_percentage < drop.drop_percentage ||
      drop.max_drop_percentage >= 1)
    throw std::invalid_argument(
        "drop_percentage and max_drop_percentage must satisfy 0 <= drop_percentage <= "
        "max_drop_percentage < 1");
  if (drop.warmup_iterations < 0 || drop.threshold_window < 1)
    throw std::invalid_argument("warmup_iterations must be >= 0 and threshold_window >= 1");
  if (tasks.group < 0) throw std::invalid_argument("group must be >= 0, got " + std::to_string(tasks.group));
}

void check_overlap(const StrategyEntry& entry, const SyncOptions& options) {
  if (!options.overlap.enabled) return;
  if (!entry.overlap)
    throw std::invalid_argument("overlap applies to sync strategy " +
                                strategies_with([](const auto& e) { return e.overlap; }) + " only, not '" + entry.name +
                                "'");
  if (options.task_model.enabled)
    throw std::invalid_argument("overlap needs long-running workers: it does not combine with execution \"tasks\"");
  if (options.ps.staleness > 0)
    throw std::invalid_argument("overlap needs staleness 0: a step in buckets ends with every bucket's weights, got " +
                                std::to_string(options.ps.staleness));
  if (options.overlap.bucket_bytes < sizeof(float))
    throw std::invalid_argument("the bucket size must hold one float, got " +
                                std::to_string(options.overlap.bucket_bytes) + " bytes");
}

}  // namespace

const std::vector<StrategyEntry>& strategy_entries() {
  static const std::vector<StrategyEntry> entries = registered_strategies();
  return entries;
}

std::vector<std::string> parameter_sync_names() {
  std::vector<std::string> names;
  for (const auto& entry : strategy_entries()) names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  return names;
}

const StrategyEntry& find_strategy(const std::string& name) {
  for (const auto& entry : strategy_entries())
    if (entry.name == name) return entry;
  throw std::invalid_argument("unknown sync strategy '" + name + "' (known: " + join(parameter_sync_names()) + ")");
}

void check_parameter_sync(const std::string& name, const SyncOptions& options, int workers) {
  const StrategyEntry& entry = find_strategy(name);
  if (options.compression == Compression::kBf16 && !entry.bf16)
    throw std::invalid_argument("sync strategy '" + name + "' does not support compression 'bf16'");
  if (options.sum_in_compressed_format && options.compression != Compression::kBf16)
    throw std::invalid_argument("summing in the compressed format needs compression 'bf16'");
  if (options.segment_bytes != 0 && options.segment_bytes < sizeof(float))
    throw std::invalid_argument("the segment size must hold one float, got " + std::to_string(options.segment_bytes));
  check_ps_layout(entry, options.ps, workers);
  check_task_model(entry, options);
  check_overlap(entry, options);
}

std::unique_ptr<ParameterSync> make_parameter_sync(const std::string& name, net::Mesh& mesh,
                                                   const SyncOptions& options) {
  check_parameter_sync(name, options);
  if (options.task_model.enabled)
    throw std::logic_error("execution \"tasks\" runs through the task driver (sync/tasks/), not a ParameterSync");
  return find_strategy(name).make(mesh, options);
}

int extra_ranks(const SyncOptions& options) { return options.ps.extra_ranks() + (options.task_model.enabled ? 1 : 0); }

std::string default_label(const std::string& name, const SyncOptions& options) {
  std::string label = name;
  if (options.compression == Compression::kBf16) label += "-bf16";
  const TaskModelOptions& tasks = options.task_model;
  if (tasks.enabled) label += "-tasks";
  if (tasks.enabled && tasks.group) label += "-g" + std::to_string(tasks.group);
  if (tasks.drop.enabled()) label += "-drop" + std::to_string(std::lround(100 * tasks.drop.drop_percentage));
  if (options.overlap.enabled) label += "-overlap";
  return label;
}

}  // namespace syncbed::sync
