#include "experiments/worker/clock_offset.h"

#include <chrono>
#include <limits>

#include "core/trace.h"
#include "core/transport/tags.h"

namespace syncbed::experiments {
namespace {

constexpr std::uint64_t kClockPingTag = net::make_tag(net::TagSpace::kWorkerLoop, 3);
constexpr std::uint64_t kClockPongTag = net::make_tag(net::TagSpace::kWorkerLoop, 4);

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(trace::Clock::now().time_since_epoch()).count();
}

}  // namespace

ClockOffset measure_clock_offset(net::Mesh& mesh, int rounds) {
  if (mesh.rank() == 0) {
    for (int peer = 1; peer < mesh.size(); ++peer)
      for (int i = 0; i < rounds; ++i) {
        std::int64_t ping = 0;
        mesh.recv(peer, kClockPingTag, std::span<std::int64_t>(&ping, 1)).wait();
        const std::int64_t reply = now_ns();
        mesh.send(peer, kClockPongTag, std::span<const std::int64_t>(&reply, 1)).wait();
      }
    return {};
  }
  ClockOffset best{0, std::numeric_limits<std::int64_t>::max()};
  for (int i = 0; i < rounds; ++i) {
    std::int64_t reply = 0;
    auto pong = mesh.recv(0, kClockPongTag, std::span<std::int64_t>(&reply, 1));
    const std::int64_t sent = now_ns();
    mesh.send(0, kClockPingTag, std::span<const std::int64_t>(&sent, 1)).wait();
    pong.wait();
    const std::int64_t received = now_ns();
    // Rank 0 read its clock somewhere within [sent, received] of ours: assume the middle.
    const ClockOffset estimate{(sent + received) / 2 - reply, (received - sent) / 2};
    if (estimate.error_ns < best.error_ns) best = estimate;
  }
  return best;
}

}  // namespace syncbed::experiments
