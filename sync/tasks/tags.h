// Message tags of the task execution model, apart from every strategy's and the worker
// loop's tags.
#pragma once

#include <cstdint>

namespace syncbed::sync::tasks {

inline constexpr std::uint64_t kTaskTagBase = std::uint64_t{1} << 52;
inline constexpr std::uint64_t kRoundSizeTag = kTaskTagBase + 1;  // driver -> executor
inline constexpr std::uint64_t kRoundTag = kTaskTagBase + 2;
inline constexpr std::uint64_t kReportTag = kTaskTagBase + 3;  // executor -> driver
inline constexpr std::uint64_t kBlockRequestTag = kTaskTagBase + 4;
inline constexpr std::uint64_t kBlockReplyTag = kTaskTagBase + 5;
inline constexpr std::uint64_t kBlockDataTag = kTaskTagBase + 6;
inline constexpr std::uint64_t kBlockPutDataTag = kTaskTagBase + 7;
inline constexpr std::uint64_t kBlockPutAckTag = kTaskTagBase + 8;

}  // namespace syncbed::sync::tasks
