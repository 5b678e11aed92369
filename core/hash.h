// FNV-1a, 64 bits: a fast fingerprint of bytes (config identity, weight equality checks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace syncbed {

inline std::uint64_t fnv1a64(std::span<const std::byte> bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (const std::byte b : bytes) h = (h ^ std::uint64_t(b)) * 1099511628211ull;
  return h;
}

}  // namespace syncbed
