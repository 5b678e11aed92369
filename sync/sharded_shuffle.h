// BigDL's AllReduceParameter. The P parameters are cut into N shards by BigDL's rule
// (core/buffer.h); worker j owns shard j.
//
// One step:
//   shuffle    every worker sends shard j of its gradient to owner j, all N-1 flows in
//              flight at once, and receives its own shard from every peer;
//   aggregate  the owner sums the N pieces in rank order 0..N-1 (so the result does not
//              depend on arrival order);
//   update     the owner applies the optimizer to its fp32 master weight shard with
//              shard-sized optimizer state (ZeRO-1 style);
//   broadcast  every worker fetches every updated weight shard from its owner.
// Bytes sent per worker: 2 (N-1)/N x P x element size, the same as a ring, in 2 rounds
// of N-1 parallel flows instead of 2 (N-1) sequential ones.
//
// compression "bf16": gradient shards and published weight shards travel as bf16 by
// truncation; the owner keeps fp32 masters and sums in fp32 (or, with
// sum_in_compressed_format, re-truncates after every addition, as BigDL does).
#pragma once

#include <cstdint>
#include <optional>

#include "sync/parameter_sync.h"

namespace syncbed::sync {

class ShardedShuffle : public ParameterSync {
 public:
  ShardedShuffle(net::Mesh& mesh, const SyncOptions& options);
  std::string name() const override { return "sharded"; }
  void step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) override;
  void allreduce_sum(std::span<float> data, PhaseTimes& times) override;
  int workers() const override { return mesh_.size(); }

 private:
  // Leaves the rank-ordered sum of everyone's shard `rank` of `grads` in sum_.
  void shuffle_and_aggregate(std::span<float> grads, PhaseTimes& times);
  // Publishes `mine` as this rank's shard of `out` and fills every other shard of
  // `out` from its owner.
  void broadcast(std::span<const float> mine, std::span<float> out, PhaseTimes& times);
  ShardRange shard(std::size_t owner) const;

  net::Mesh& mesh_;
  SyncOptions options_;
  bool bf16_;
  std::size_t max_shard_;
  Optimizer optimizer_;
  AlignedBuffer<float> sum_;                    // this rank's aggregated gradient shard
  AlignedBuffer<float> incoming_;               // fp32: one max_shard_ slot per rank
  AlignedBuffer<std::uint16_t> incoming16_;     // bf16: the same, compressed
  AlignedBuffer<std::uint16_t> outgoing16_;     // bf16: the whole gradient, then the published weights
  std::optional<AlignedBuffer<float>> master_;  // bf16: fp32 master of this rank's weight shard
};

}  // namespace syncbed::sync
