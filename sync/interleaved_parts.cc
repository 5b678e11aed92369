#include "sync/interleaved_parts.h"

#include <algorithm>
#include <stdexcept>

namespace syncbed::sync {

InterleavedParts::InterleavedParts(std::size_t total, std::size_t parts, std::size_t max_block)
    : total_(total), parts_(parts) {
  if (parts == 0 || max_block == 0) throw std::invalid_argument("interleaved parts: parts and block size must be > 0");
  const std::size_t per_part = (total + parts - 1) / parts;
  blocks_ = parts * std::max<std::size_t>(1, (per_part + max_block - 1) / max_block);
}

// Inverts shard_range(total_, blocks_, j): the first total_ % blocks_ blocks hold one
// element more than the others.
std::size_t InterleavedParts::block_of(std::size_t element) const {
  const std::size_t base = total_ / blocks_, rem = total_ % blocks_;
  const std::size_t in_long_blocks = rem * (base + 1);
  if (element < in_long_blocks) return element / (base + 1);
  return rem + (element - in_long_blocks) / base;  // base > 0 here: element < total_
}

std::vector<ShardRange> InterleavedParts::pieces(std::size_t part, ShardRange range) const {
  std::vector<ShardRange> out;
  if (range.size == 0) return out;
  if (range.end() > total_) throw std::out_of_range("interleaved parts: range beyond the vector");
  const std::size_t first = block_of(range.begin), last = block_of(range.end() - 1);
  // The first block of this part at or after `first`.
  std::size_t block = first + (part + parts_ - first % parts_) % parts_;
  for (; block <= last; block += parts_) {
    const ShardRange whole = shard_range(total_, blocks_, block);
    const std::size_t begin = std::max(whole.begin, range.begin), end = std::min(whole.end(), range.end());
    if (begin < end) out.push_back({begin, end - begin});
  }
  return out;
}

std::vector<ShardRange> InterleavedParts::pieces(std::size_t first, std::size_t last, ShardRange range) const {
  std::vector<ShardRange> out;
  for (std::size_t part = first; part < last; ++part) {
    const auto mine = pieces(part, range);
    out.insert(out.end(), mine.begin(), mine.end());
  }
  return out;
}

}  // namespace syncbed::sync
