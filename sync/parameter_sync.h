// The one interface every synchronization strategy implements. Given this worker's
// local gradient, a step leaves identical updated weights on every worker; where the
// optimizer runs (replicated, sharded, on servers) is the strategy's business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/transport/mesh.h"
#include "sync/sync_options.h"

namespace syncbed::sync {

// Seconds spent in each named phase of one step, in the order they ran.
struct PhaseTimes {
  std::vector<std::pair<std::string, double>> phases;
  void add(const std::string& phase, double seconds) { phases.emplace_back(phase, seconds); }
};

class ParameterSync {
 public:
  virtual ~ParameterSync() = default;
  virtual std::string name() const = 0;

  // weights: identical on every worker on entry, updated in place. grads: this
  // worker's gradient; the strategy may overwrite it. Both have parameters() elements.
  virtual void step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) = 0;

  // Overlap (strategies whose registry row has the capability): the same step in the
  // buckets of sync::buckets(parameters, options.overlap). begin_step() once, then
  // sync_bucket(0), sync_bucket(1), ... in that order, each once backward has finished
  // the bucket's gradients, from one thread (not necessarily begin_step's) while the
  // caller goes on computing the gradients of the buckets after it. When the last
  // sync_bucket returns, every weight is updated, bitwise as step() would leave them;
  // an earlier bucket's weights may be updated then already (ring, sharded) or only
  // with the last bucket (ps pulls every result late, so pushes never wait on pulls).
  virtual void begin_step(std::span<float> /*weights*/, std::span<float> /*grads*/) {
    throw std::logic_error(name() + " does not synchronize in buckets");
  }
  virtual void sync_bucket(std::size_t /*bucket*/, PhaseTimes& /*times*/) {
    throw std::logic_error(name() + " does not synchronize in buckets");
  }

  // Plain element-wise sum over workers, in place (for the allreduce benchmark). `data`
  // has parameters() elements (ring also takes fewer); a wrong size throws.
  virtual void allreduce_sum(std::span<float> data, PhaseTimes& times) = 0;

  // Brings weights up to date with every step so far on every worker. Only strategies
  // that let workers run ahead (ps with staleness) have anything to do.
  virtual void synchronize(std::span<float> /*weights*/) {}

  // Ranks that only serve (ps with separate servers) never call step() or
  // allreduce_sum(); they call serve(), which returns once every worker has finished
  // with this strategy object (destroyed it). after_round(rounds), if set, runs on the
  // serving thread after each round, when save_state() may be called.
  virtual bool serves_only() const { return false; }
  virtual void serve(const std::function<void(std::uint64_t rounds)>& /*after_round*/ = {}) {}

  // Checkpoints. save_state() is what this rank must keep to resume the run: the
  // optimizer state it owns (ring: all of it; sharded: its shard, with bf16 its fp32
  // master; ps: its server's weights and state, and the round counts). Call it between
  // steps, after synchronize(), on every rank (a serving rank: from after_round).
  // restore_state() loads it into a strategy just built with the same options on the
  // same ranks, before the first step or serve(); a state of another shape throws.
  virtual std::vector<std::byte> save_state() = 0;
  virtual void restore_state(std::span<const std::byte> state) = 0;
  // How many ranks call step(): ranks 0..workers()-1.
  virtual int workers() const = 0;
};

}  // namespace syncbed::sync
