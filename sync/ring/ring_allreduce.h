// Ring sum-allreduce: reduce-scatter then all-gather around the ring 0 -> 1 -> ... -> 0.
//
// The vector is cut into N chunks, each a set of interleaved blocks of at most
// segment_bytes (sync/interleaved_parts.h), so any bucket of it sums to the same bits.
// In reduce-scatter step s (0 <= s < N-1) rank r sends chunk (r-s) mod N to r+1 and adds
// chunk (r-s-1) mod N received from r-1; afterwards r holds the full sum of chunk
// (r+1) mod N. All-gather circulates the finished chunks the same way. Each block is a
// message of its own and is forwarded as soon as it is reduced, so sending, receiving and
// adding overlap. Bytes sent per rank: 2 (N-1)/N x the vector size.
#pragma once

#include <cstddef>
#include <span>

#include "core/buffer.h"
#include "core/transport/mesh.h"
#include "sync/interleaved_parts.h"
#include "sync/sync_options.h"

namespace syncbed::sync {

struct RingOptions {
  std::size_t segment_bytes = kOneMiBSegment;
};

class RingAllreduce {
 public:
  // Scratch space for vectors up to max_elements is allocated here, once.
  RingAllreduce(net::Mesh& mesh, std::size_t max_elements, RingOptions options = {});

  // Replaces data, on every rank, with the element-wise sum over all ranks.
  void sum(std::span<float> data) { sum(data, {0, data.size()}); }
  // The same for the elements in `range` only (a bucket), chunked as the whole of data is:
  // each element gets bitwise the sum sum(data) would give it.
  void sum(std::span<float> data, ShardRange range);

 private:
  void reduce_scatter(std::span<float> data, const InterleavedParts& chunks, ShardRange range);
  void all_gather(std::span<float> data, const InterleavedParts& chunks, ShardRange range);
  std::size_t segment() const { return options_.segment_bytes / sizeof(float); }

  net::Mesh& mesh_;
  RingOptions options_;
  std::size_t max_elements_;
  AlignedBuffer<float> scratch_[2];  // alternate steps, so the next step's recvs are posted early
};

}  // namespace syncbed::sync
