#include "sync/ring/ring_allreduce.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "core/transport/tags.h"

namespace syncbed::sync {
namespace {

constexpr std::uint64_t kReduceScatterPhase = 1;
constexpr std::uint64_t kAllGatherPhase = 2;

std::uint64_t tag_of(std::uint64_t phase, std::size_t step, std::size_t segment) {
  return net::make_tag(net::TagSpace::kStrategy, phase, step, segment);
}

}  // namespace

RingAllreduce::RingAllreduce(net::Mesh& mesh, std::size_t max_elements, RingOptions options)
    : mesh_(mesh), options_(options), max_elements_(max_elements) {
  if (options_.segment_bytes < sizeof(float)) throw std::invalid_argument("ring segment size must hold one float");
  const std::size_t chunk = mesh.size() > 1 ? shard_range(max_elements, mesh.size(), 0).size : 0;
  scratch_[0] = AlignedBuffer<float>(chunk);
  scratch_[1] = AlignedBuffer<float>(chunk);
}

void RingAllreduce::sum(std::span<float> data) {
  if (data.size() > max_elements_)
    throw std::invalid_argument("allreduce of " + std::to_string(data.size()) + " elements exceeds the " +
                                std::to_string(max_elements_) + " this instance was sized for");
  if (mesh_.size() == 1 || data.empty()) return;
  reduce_scatter(data);
  all_gather(data);
}

void RingAllreduce::reduce_scatter(std::span<float> data) {
  const std::size_t n = mesh_.size();
  const std::size_t rank = mesh_.rank();
  const int next = static_cast<int>((rank + 1) % n);
  const int prev = static_cast<int>((rank + n - 1) % n);
  const std::size_t seg = options_.segment_bytes / sizeof(float);
  auto chunk = [&](std::size_t step_offset) { return shard_range(data.size(), n, (rank + 2 * n - step_offset) % n); };
  auto segments = [&](const ShardRange& c) { return (c.size + seg - 1) / seg; };

  // recvs[s % 2] holds the pending receives of step s into scratch_[s % 2].
  std::vector<net::Request> recvs[2];
  auto post_recvs = [&](std::size_t step) {
    const ShardRange c = chunk(step + 1);
    auto& pending = recvs[step % 2];
    pending.clear();
    for (std::size_t k = 0; k < segments(c); ++k) {
      const std::size_t len = std::min(seg, c.size - k * seg);
      pending.push_back(mesh_.recv(prev, tag_of(kReduceScatterPhase, step, k),
                                   std::span<float>(scratch_[step % 2].data() + k * seg, len)));
    }
  };

  std::vector<net::Request> sends;
  const ShardRange first = chunk(0);
  for (std::size_t k = 0; k < segments(first); ++k) {
    const std::size_t len = std::min(seg, first.size - k * seg);
    sends.push_back(mesh_.send(next, tag_of(kReduceScatterPhase, 0, k),
                               std::span<const float>(data.subspan(first.begin + k * seg, len))));
  }
  post_recvs(0);
  for (std::size_t step = 0; step + 1 < n; ++step) {
    if (step + 2 < n) post_recvs(step + 1);
    const ShardRange c = chunk(step + 1);
    const float* incoming = scratch_[step % 2].data();
    for (std::size_t k = 0; k < segments(c); ++k) {
      recvs[step % 2][k].wait();
      const std::size_t len = std::min(seg, c.size - k * seg);
      float* out = data.data() + c.begin + k * seg;
      for (std::size_t i = 0; i < len; ++i) out[i] += incoming[k * seg + i];
      // This chunk is what the next step sends: forward the segment right away.
      if (step + 2 < n)
        sends.push_back(mesh_.send(next, tag_of(kReduceScatterPhase, step + 1, k), std::span<const float>(out, len)));
    }
  }
  for (auto& s : sends) s.wait();
}

void RingAllreduce::all_gather(std::span<float> data) {
  const std::size_t n = mesh_.size();
  const std::size_t rank = mesh_.rank();
  const int next = static_cast<int>((rank + 1) % n);
  const int prev = static_cast<int>((rank + n - 1) % n);
  const std::size_t seg = options_.segment_bytes / sizeof(float);
  // In step s rank r receives chunk (r - s) mod N, finished by rank r - s - 1.
  auto chunk = [&](std::size_t step) { return shard_range(data.size(), n, (rank + n - step % n) % n); };

  std::vector<std::vector<net::Request>> recvs(n - 1);
  for (std::size_t step = 0; step + 1 < n; ++step) {
    const ShardRange c = chunk(step);
    for (std::size_t k = 0; k * seg < c.size; ++k)
      recvs[step].push_back(mesh_.recv(prev, tag_of(kAllGatherPhase, step, k),
                                       data.subspan(c.begin + k * seg, std::min(seg, c.size - k * seg))));
  }
  std::vector<net::Request> sends;
  const ShardRange owned = shard_range(data.size(), n, (rank + 1) % n);
  for (std::size_t k = 0; k * seg < owned.size; ++k)
    sends.push_back(
        mesh_.send(next, tag_of(kAllGatherPhase, 0, k),
                   std::span<const float>(data.subspan(owned.begin + k * seg, std::min(seg, owned.size - k * seg)))));
  for (std::size_t step = 0; step + 1 < n; ++step) {
    const ShardRange c = chunk(step);
    for (std::size_t k = 0; k < recvs[step].size(); ++k) {
      recvs[step][k].wait();
      if (step + 2 < n) {
        const std::size_t len = std::min(seg, c.size - k * seg);
        sends.push_back(mesh_.send(next, tag_of(kAllGatherPhase, step + 1, k),
                                   std::span<const float>(data.subspan(c.begin + k * seg, len))));
      }
    }
  }
  for (auto& s : sends) s.wait();
}

}  // namespace syncbed::sync
