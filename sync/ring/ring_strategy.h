// Ring AllReduce as a ParameterSync: sum the gradients with the pipelined ring
// (ring_allreduce.h), then every worker applies the full optimizer (replicated state).
#pragma once

#include "sync/allreduce_then_update.h"
#include "sync/cost_model.h"
#include "sync/ring/ring_allreduce.h"

namespace syncbed::sync {

class RingStrategy : public AllreduceThenUpdate {
 public:
  RingStrategy(net::Mesh& mesh, const SyncOptions& options);
  // 2(N-1) dependent steps of 1/N of the vector, then the whole optimizer everywhere.
  static PhaseCosts costs(const ClusterCosts& cluster, const SyncOptions& options);

 private:
  void sum(std::span<float> data, ShardRange range) override { ring_.sum(data, range); }

  RingAllreduce ring_;
};

}  // namespace syncbed::sync
