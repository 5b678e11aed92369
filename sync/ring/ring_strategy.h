// Ring AllReduce as a ParameterSync: sum the gradients with the pipelined ring
// (ring_allreduce.h), then every worker applies the full optimizer (replicated state).
#pragma once

#include "sync/cost_model.h"
#include "sync/parameter_sync.h"
#include "sync/ring/ring_allreduce.h"

namespace syncbed::sync {

class RingStrategy : public ParameterSync {
 public:
  RingStrategy(net::Mesh& mesh, const SyncOptions& options);
  std::string name() const override { return "ring"; }
  // 2(N-1) dependent steps of 1/N of the vector, then the whole optimizer everywhere.
  static PhaseCosts costs(const ClusterCosts& cluster, const SyncOptions& options);
  void step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) override;
  void allreduce_sum(std::span<float> data, PhaseTimes& times) override;
  int workers() const override { return workers_; }
  std::vector<std::byte> save_state() override;
  void restore_state(std::span<const std::byte> state) override;

 private:
  int workers_;
  RingAllreduce ring_;
  Optimizer optimizer_;
};

}  // namespace syncbed::sync
