// Every message tag syncbed sends comes from here, so no two components can pick the
// same one by accident. A tag packs [space: 8 bits][phase: 8][step: 16][index: 32]; a
// component owns a space and numbers its phases inside it, and make_tag() refuses a
// field too wide for its bits instead of letting it spill into the next field.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace syncbed::net {

enum class TagSpace : std::uint8_t {
  // The ParameterSync in use (sync/). A mesh runs one strategy object's collectives at a
  // time, so each strategy numbers its phases on its own, without asking the others.
  kStrategy = 1,
  kTaskModel = 2,   // BigDL's driver, executors and block service (sync/tasks/)
  kWorkerLoop = 3,  // a rank's checks and evaluation gathers (experiments/worker/)
  kBench = 4,       // benchmarks' own messages: timings, p2p control
};

inline constexpr int kTagPhaseBits = 8, kTagStepBits = 16, kTagIndexBits = 32;

constexpr std::uint64_t make_tag(TagSpace space, std::uint64_t phase, std::uint64_t step = 0, std::uint64_t index = 0) {
  if (phase >> kTagPhaseBits || step >> kTagStepBits || index >> kTagIndexBits)
    throw std::out_of_range("message tag: phase " + std::to_string(phase) + ", step " + std::to_string(step) +
                            " or index " + std::to_string(index) + " is too wide for its field (8, 16, 32 bits)");
  return std::uint64_t{static_cast<std::uint8_t>(space)} << (kTagPhaseBits + kTagStepBits + kTagIndexBits) |
         phase << (kTagStepBits + kTagIndexBits) | step << kTagIndexBits | index;
}

// "tag strategy/3.0.7": its space, then phase.step.index, for messages people read.
inline std::string describe_tag(std::uint64_t tag) {
  constexpr const char* kSpaces[] = {"?", "strategy", "tasks", "worker", "bench"};
  const std::uint64_t space = tag >> (kTagPhaseBits + kTagStepBits + kTagIndexBits);
  const std::uint64_t phase = tag >> (kTagStepBits + kTagIndexBits) & ((1u << kTagPhaseBits) - 1);
  const std::uint64_t step = tag >> kTagIndexBits & ((1u << kTagStepBits) - 1);
  const std::uint64_t index = tag & ((std::uint64_t{1} << kTagIndexBits) - 1);
  return std::string("tag ") + (space < 5 ? kSpaces[space] : "?") + "/" + std::to_string(phase) + "." +
         std::to_string(step) + "." + std::to_string(index);
}

}  // namespace syncbed::net
