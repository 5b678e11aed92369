#include "sync/sync_options.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace syncbed::sync {

Compression parse_compression(const std::string& text) {
  if (text == "none") return Compression::kNone;
  if (text == "bf16") return Compression::kBf16;
  throw std::invalid_argument("compression must be \"none\" or \"bf16\", got '" + text + "'");
}

const char* to_string(Compression compression) { return compression == Compression::kBf16 ? "bf16" : "none"; }

int DropOptions::min_replicas(int n) const {
  // The small epsilon keeps N x (1 - 0.25) = 3 at 3, not 4, in floating point.
  return std::max(1, static_cast<int>(std::ceil(n * (1.0 - max_drop_percentage) - 1e-9)));
}

std::vector<ShardRange> buckets(std::size_t parameters, const OverlapOptions& overlap) {
  if (!overlap.enabled) return {{0, parameters}};
  const std::size_t size = std::max<std::size_t>(1, overlap.bucket_bytes / sizeof(float));
  std::vector<ShardRange> out;
  for (std::size_t end = parameters; end > 0; end -= std::min(size, end)) {
    const std::size_t begin = end - std::min(size, end);
    out.push_back({begin, end - begin});
  }
  if (out.empty()) out.push_back({0, 0});  // a step still has one (empty) bucket
  return out;
}

}  // namespace syncbed::sync
