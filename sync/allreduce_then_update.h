// The shape shared by strategies that sum the gradient with an allreduce and then run
// the whole optimizer on every worker (replicated optimizer state): ring and
// halving_doubling. A subclass gives the sum; steps, buckets, phase times and checkpoints
// are here. A bucket is summed and then updated, so its weights are final at once.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/optimizer.h"
#include "sync/parameter_sync.h"

namespace syncbed::sync {

class AllreduceThenUpdate : public ParameterSync {
 public:
  AllreduceThenUpdate(std::string name, int workers, const SyncOptions& options);
  std::string name() const override { return name_; }
  void step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) override;
  void begin_step(std::span<float> weights, std::span<float> grads) override;
  void sync_bucket(std::size_t bucket, PhaseTimes& times) override;
  void allreduce_sum(std::span<float> data, PhaseTimes& times) override;
  int workers() const override { return workers_; }
  // Every worker holds the whole optimizer state.
  std::vector<std::byte> save_state() override;
  void restore_state(std::span<const std::byte> state) override;

 protected:
  // Replaces the elements of data in `range`, on every worker, with their element-wise
  // sum over all workers; each element's sum must not depend on the range.
  virtual void sum(std::span<float> data, ShardRange range) = 0;

 private:
  std::string name_;
  int workers_;
  Optimizer optimizer_;
  std::vector<ShardRange> buckets_;
  std::span<float> weights_, grads_;  // of the step in progress
};

}  // namespace syncbed::sync
