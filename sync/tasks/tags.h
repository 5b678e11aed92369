// Message tags of the task execution model: its phases in core/transport/tags.h's
// kTaskModel space.
#pragma once

#include <cstdint>

#include "core/transport/tags.h"

namespace syncbed::sync::tasks {

inline constexpr std::uint64_t kRoundSizeTag = net::make_tag(net::TagSpace::kTaskModel, 1);  // driver -> executor
inline constexpr std::uint64_t kRoundTag = net::make_tag(net::TagSpace::kTaskModel, 2);
inline constexpr std::uint64_t kReportTag = net::make_tag(net::TagSpace::kTaskModel, 3);  // executor -> driver
inline constexpr std::uint64_t kBlockRequestTag = net::make_tag(net::TagSpace::kTaskModel, 4);
inline constexpr std::uint64_t kBlockReplyTag = net::make_tag(net::TagSpace::kTaskModel, 5);
inline constexpr std::uint64_t kBlockDataTag = net::make_tag(net::TagSpace::kTaskModel, 6);
inline constexpr std::uint64_t kBlockPutDataTag = net::make_tag(net::TagSpace::kTaskModel, 7);
inline constexpr std::uint64_t kBlockPutAckTag = net::make_tag(net::TagSpace::kTaskModel, 8);

}  // namespace syncbed::sync::tasks
