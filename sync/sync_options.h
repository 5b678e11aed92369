// What a strategy is built with: the options every strategy reads, then one group per
// family of strategies. The registry (sync/registry.h) knows which strategy takes which
// group and refuses the others.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/optimizer.h"

namespace syncbed::sync {

enum class Compression { kNone, kBf16 };
// "none" or "bf16"; anything else throws std::invalid_argument.
Compression parse_compression(const std::string& text);
const char* to_string(Compression compression);

// Parameter servers (ps).
struct PsOptions {
  int servers = 0;                // 0 = one per worker (co-located)
  bool separate_servers = false;  // servers are the last ranks and only serve
  int staleness = 0;              // 0 = BSP; k = workers run up to k steps ahead
  int extra_ranks() const { return separate_servers ? servers : 0; }
};

// BigDL's straggler drop for the task model; sync/tasks/drop_policy.h explains the rule.
struct DropOptions {
  double drop_percentage = 0;  // 0: never drop
  double max_drop_percentage = 0.5;
  long warmup_iterations = 10;  // BigDL's default is 200, sized for long runs
  long threshold_window = 10;   // BigDL's computeThresholdbatchSize (100)
  bool enabled() const { return drop_percentage > 0; }
  // The fewest finished replicas of N whose gradients make an update.
  int min_replicas(int n) const;
};

// BigDL's execution model (sync/tasks/): a driver rank schedules stateless tasks instead
// of long-running workers calling step(). Runs by the task driver, never by
// make_parameter_sync().
struct TaskModelOptions {
  bool enabled = false;
  int group = 0;                      // 0 = one driver round per job; k = k iterations per round
  std::size_t block_store_bytes = 0;  // per executor; 0 = sized from the model and group
  DropOptions drop;                   // off unless drop.drop_percentage > 0
};

// Overlap of synchronization with backward: the gradient is synchronized in buckets,
// each as soon as backward has finished it (strategies with the capability only).
struct OverlapOptions {
  bool enabled = false;
  std::size_t bucket_bytes = std::size_t{25} << 20;  // PyTorch DDP's default bucket_cap_mb
};

struct SyncOptions {
  std::size_t parameters = 0;
  OptimizerConfig optimizer;
  std::size_t segment_bytes = 0;                 // pipelining, for strategies that segment; 0 = theirs
  Compression compression = Compression::kNone;  // kBf16: strategies that support it
  bool sum_in_compressed_format = false;         // bf16: add in bf16 like BigDL
  OverlapOptions overlap;
  PsOptions ps;
  TaskModelOptions task_model;
};

// The segment the ring and halving_doubling pipeline in unless told otherwise.
inline constexpr std::size_t kOneMiBSegment = std::size_t{1} << 20;

// The segment a strategy pipelines in: the option, or when it is 0 the strategy's default.
inline std::size_t segment_bytes_or(const SyncOptions& options, std::size_t strategy_default) {
  return options.segment_bytes ? options.segment_bytes : strategy_default;
}

// The buckets a step is synchronized in, in the order backward finishes them. Models lay
// their parameters out in forward order and backward runs the layers in reverse, so
// gradients become final from the end of the vector towards its start: bucket 0 is the
// last bucket_bytes of it. Without overlap: one bucket, the whole vector.
std::vector<ShardRange> buckets(std::size_t parameters, const OverlapOptions& overlap);

}  // namespace syncbed::sync
