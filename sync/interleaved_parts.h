// How ring and halving_doubling cut a vector into the parts their reduce-scatter sums:
// not N contiguous chunks but N interleaved sets of blocks. The vector is cut into
// parts x k blocks by BigDL's rule, k the fewest that keep a block within max_block
// elements, and block j belongs to part j % parts.
//
// Why: an element's part decides the order in which its N values are added, and here
// that part depends only on the element's index. Synchronizing the vector in buckets
// (overlap) therefore gives bitwise the same sums as synchronizing it whole, while every
// bucket of a few blocks still spreads over all parts and so over all ranks.
#pragma once

#include <cstddef>
#include <vector>

#include "core/buffer.h"

namespace syncbed::sync {

class InterleavedParts {
 public:
  InterleavedParts(std::size_t total, std::size_t parts, std::size_t max_block);

  // The pieces of part `part` inside `range` (a range of the whole vector), in index
  // order; each is at most max_block elements.
  std::vector<ShardRange> pieces(std::size_t part, ShardRange range) const;
  // The pieces of parts [first, last) inside `range`, part by part.
  std::vector<ShardRange> pieces(std::size_t first, std::size_t last, ShardRange range) const;
  // An upper bound of a part's size, here and for any shorter vector cut into as many
  // parts: k blocks of at most total / (parts k) + 1 elements each.
  std::size_t max_part() const { return total_ / parts_ + 1 + blocks_ / parts_; }

 private:
  std::size_t block_of(std::size_t element) const;

  std::size_t total_, parts_, blocks_;
};

}  // namespace syncbed::sync
