// BigDL's "FP16": bfloat16 by truncation, the top 16 bits of the fp32 bit pattern.
// Relative error per element is below 2^-7; expansion is exact.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace syncbed {

inline std::uint16_t bf16_truncate(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return static_cast<std::uint16_t>(bits >> 16);
}

inline float bf16_expand(std::uint16_t half) {
  const std::uint32_t bits = static_cast<std::uint32_t>(half) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// expand(truncate(x)) without the round trip through 16 bits.
inline float bf16_round_trip(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  bits &= 0xffff0000u;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

inline void bf16_truncate(std::span<const float> in, std::uint16_t* out) {
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = bf16_truncate(in[i]);
}

inline void bf16_expand(const std::uint16_t* in, std::span<float> out) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = bf16_expand(in[i]);
}

}  // namespace syncbed
