// Halving-doubling sum-allreduce (Rabenseifner) as a ParameterSync, then the optimizer
// on every worker (replicated state), like ring.
//
// With p the largest power of two <= N and r = N - p, the first 2r ranks fold in pairs:
// each even one sends its vector to the odd one above it and sits out until the end.
// The p ranks left reduce-scatter by recursive halving: in step s (distance p/2, p/4,
// ..., 1) a rank keeps half of its current block range, sends the other half to its
// partner (virtual rank XOR distance) and adds the partner's copy of the half it keeps.
// After log2 p steps each rank holds the sum of one of p blocks; recursive doubling
// all-gathers them in the reverse order, and the folded ranks get the result back from
// their partner. Each rank sends 2(p-1)/p of the vector in 2 log2 p dependent steps
// (the ring: the same bytes in 2(N-1) steps), plus the whole vector once when N is not
// a power of two. The p blocks are interleaved sets of pieces of at most segment_bytes
// (sync/interleaved_parts.h), so any bucket of the vector sums to the same bits; each
// piece is a message, added as it arrives while later ones are still on the way.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "core/buffer.h"
#include "core/transport/mesh.h"
#include "sync/allreduce_then_update.h"
#include "sync/cost_model.h"
#include "sync/interleaved_parts.h"

namespace syncbed::sync {

class HalvingDoubling : public AllreduceThenUpdate {
 public:
  HalvingDoubling(net::Mesh& mesh, const SyncOptions& options);
  // 2 log2 p dependent steps of halving sizes, plus the fold when N is not a power of 2.
  static PhaseCosts costs(const ClusterCosts& cluster, const SyncOptions& options);

 private:
  // Blocks [first, last) of the p blocks the vector is cut into.
  struct Blocks {
    std::size_t first = 0, last = 0;
  };
  void sum(std::span<float> data, ShardRange range) override;
  void reduce_scatter(Blocks& mine);
  void all_gather(Blocks mine);
  // Sends the pieces `out` of the vector to `peer` and receives the pieces `in` from it;
  // with `add`, each received piece (in scratch) is added into the vector as it arrives.
  void exchange(int peer, std::uint64_t phase, std::size_t step, const std::vector<ShardRange>& out,
                const std::vector<ShardRange>& in, bool add);
  // The pieces of the blocks within the range being summed.
  std::vector<ShardRange> elements(Blocks blocks) const;
  int real_rank(int virtual_rank) const;

  net::Mesh& mesh_;
  std::size_t parameters_;
  std::size_t segment_;  // elements per message
  int p_;                // participants after the fold: the largest power of two <= N
  int virtual_rank_;     // 0..p-1, or -1 for a rank folded into its partner
  AlignedBuffer<float> scratch_;
  // The call in progress: the vector, its blocks and the range (bucket) being summed.
  std::span<float> data_;
  const InterleavedParts* parts_ = nullptr;
  ShardRange range_;
};

}  // namespace syncbed::sync
