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
// a power of two. Messages move in segments (segment_bytes), and each received segment
// is added while later ones are still arriving.
#pragma once

#include <cstddef>
#include <span>

#include "core/buffer.h"
#include "core/transport/mesh.h"
#include "sync/allreduce_then_update.h"
#include "sync/cost_model.h"

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
  void sum(std::span<float> data) override;
  void reduce_scatter(std::span<float> data, Blocks& mine);
  void all_gather(std::span<float> data, Blocks mine);
  // Sends `out` to `peer` and receives into `in` from it, both in segments; with `add`,
  // each received segment (in scratch) is added into `in` as it arrives.
  void exchange(int peer, std::uint64_t phase, std::size_t step, std::span<const float> out, std::span<float> in,
                bool add);
  std::span<float> elements(std::span<float> data, Blocks blocks) const;
  int real_rank(int virtual_rank) const;

  net::Mesh& mesh_;
  std::size_t parameters_;
  std::size_t segment_;  // elements per message
  int p_;                // participants after the fold: the largest power of two <= N
  int virtual_rank_;     // 0..p-1, or -1 for a rank folded into its partner
  AlignedBuffer<float> scratch_;
};

}  // namespace syncbed::sync
