// SplitMix64's finaliser: turns a counter or a (seed, index) combination into an
// independent-looking 64-bit value, so per-user and per-sample random streams need no
// shared generator and can be produced in parallel, reproducibly.
#pragma once

#include <cstdint>

namespace syncbed::models {

inline std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace syncbed::models
