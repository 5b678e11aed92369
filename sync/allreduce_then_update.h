// The shape shared by strategies that sum the gradient with an allreduce and then run
// the whole optimizer on every worker (replicated optimizer state): ring and
// halving_doubling. A subclass gives the sum; steps, phase times and checkpoints are here.
#pragma once

#include <span>
#include <string>

#include "core/optimizer.h"
#include "sync/parameter_sync.h"

namespace syncbed::sync {

class AllreduceThenUpdate : public ParameterSync {
 public:
  AllreduceThenUpdate(std::string name, int workers, const SyncOptions& options);
  std::string name() const override { return name_; }
  void step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) override;
  void allreduce_sum(std::span<float> data, PhaseTimes& times) override;
  int workers() const override { return workers_; }
  // Every worker holds the whole optimizer state.
  std::vector<std::byte> save_state() override;
  void restore_state(std::span<const std::byte> state) override;

 protected:
  // Replaces data, on every worker, with the element-wise sum over all workers.
  virtual void sum(std::span<float> data) = 0;

 private:
  std::string name_;
  int workers_;
  Optimizer optimizer_;
};

}  // namespace syncbed::sync
