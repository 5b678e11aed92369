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
// Everything moves in segments (segment_bytes, 4 MiB unless set), and the four phases
// overlap: as soon as segment k of the owner's shard has arrived from every peer it is
// summed, updated and sent on to every peer while later segments are still arriving.
//
// With overlap each bucket is a step of its own (shuffle, update, broadcast), cut into N
// shards by the same rule; worker j owns shard j of every bucket and keeps optimizer
// state for those. The owner sums in rank order either way, so the weights are bitwise
// those of a step over the whole vector.
//
// compression "bf16": gradient shards and published weight shards travel as bf16 by
// truncation; the owner keeps fp32 masters and sums in fp32 (or, with
// sum_in_compressed_format, re-truncates after every addition, as BigDL does).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sync/cost_model.h"
#include "sync/parameter_sync.h"

namespace syncbed::sync {

class ShardedShuffle : public ParameterSync {
 public:
  ShardedShuffle(net::Mesh& mesh, const SyncOptions& options);
  std::string name() const override { return "sharded"; }
  // One all-to-all shuffle, the owner sums and updates 1/N, one all-to-all broadcast.
  static PhaseCosts costs(const ClusterCosts& cluster, const SyncOptions& options);
  void step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) override;
  void begin_step(std::span<float> weights, std::span<float> grads) override;
  void sync_bucket(std::size_t bucket, PhaseTimes& times) override;
  void allreduce_sum(std::span<float> data, PhaseTimes& times) override;
  int workers() const override { return mesh_.size(); }
  std::vector<std::byte> save_state() override;
  void restore_state(std::span<const std::byte> state) override;

 private:
  template <typename Wire>
  class Round;
  // Shuffles and sums the bucket of grads; finish(offset, sum) turns each summed segment
  // of this rank's shard of it into what it publishes (step: the updated master; sum: the
  // sum), which is broadcast. On return, out's bucket holds every owner's published
  // shard; grads' own shard holds the sum.
  template <typename Finish>
  void exchange(std::span<float> grads, std::span<float> out, ShardRange bucket, Finish finish, bool updates,
                PhaseTimes& times);
  // Owner's shard of a bucket, by BigDL's rule, in indices of the whole vector.
  ShardRange shard(ShardRange bucket, std::size_t owner) const;
  void check_size(std::span<const float> vector) const;
  std::size_t segments_of(std::size_t elements) const { return (elements + segment_ - 1) / segment_; }
  // The fp32 weights the owner updates in a bucket: its shard of `weights` itself, or
  // with bf16 a master copy, seeded from the weights on the first step.
  std::span<float> master_shard(std::size_t bucket);

  net::Mesh& mesh_;
  SyncOptions options_;
  std::vector<ShardRange> buckets_;
  std::vector<std::size_t> owned_offset_;  // per bucket: where this rank's shard starts in its state
  std::size_t owned_ = 0;                  // elements this rank owns over all buckets
  std::span<float> weights_, grads_;       // of the step in progress
  bool bf16_;
  std::size_t segment_;  // elements
  std::size_t max_shard_;
  Optimizer optimizer_;
  AlignedBuffer<float> incoming_;               // fp32 shuffle: one max_shard_ slot per rank
  AlignedBuffer<std::uint16_t> incoming16_;     // bf16 shuffle: the same, compressed
  AlignedBuffer<std::uint16_t> broadcast16_;    // bf16 broadcast: every owner's published shard
  AlignedBuffer<std::uint16_t> outgoing16_;     // bf16: this worker's compressed gradient
  std::optional<AlignedBuffer<float>> master_;  // bf16: fp32 master of this rank's weight shard
};

}  // namespace syncbed::sync
