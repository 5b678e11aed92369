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
  const std::size_t chunk = mesh.size() > 1 ? InterleavedParts(max_elements, mesh.size(), segment()).max_part() : 0;
  scratch_[0] = AlignedBuffer<float>(chunk);
  scratch_[1] = AlignedBuffer<float>(chunk);
}

void RingAllreduce::sum(std::span<float> data, ShardRange range) {
  if (data.size() > max_elements_)
    throw std::invalid_argument("allreduce of " + std::to_string(data.size()) + " elements exceeds the " +
                                std::to_string(max_elements_) + " this instance was sized for");
  if (range.end() > data.size()) throw std::invalid_argument("allreduce: the range lies beyond the vector");
  if (mesh_.size() == 1 || range.size == 0) return;
  const InterleavedParts chunks(data.size(), mesh_.size(), segment());
  reduce_scatter(data, chunks, range);
  all_gather(data, chunks, range);
}

void RingAllreduce::reduce_scatter(std::span<float> data, const InterleavedParts& chunks, ShardRange range) {
  const std::size_t n = mesh_.size();
  const std::size_t rank = mesh_.rank();
  const int next = static_cast<int>((rank + 1) % n);
  const int prev = static_cast<int>((rank + n - 1) % n);
  auto chunk = [&](std::size_t step_offset) { return chunks.pieces((rank + 2 * n - step_offset) % n, range); };

  // recvs[s % 2] holds the pending receives of step s into scratch_[s % 2], packed.
  std::vector<net::Request> recvs[2];
  auto post_recvs = [&](std::size_t step) {
    auto& pending = recvs[step % 2];
    pending.clear();
    float* into = scratch_[step % 2].data();
    for (const ShardRange& piece : chunk(step + 1)) {
      pending.push_back(
          mesh_.recv(prev, tag_of(kReduceScatterPhase, step, pending.size()), std::span<float>(into, piece.size)));
      into += piece.size;
    }
  };

  std::vector<net::Request> sends;
  const auto first = chunk(0);
  for (std::size_t k = 0; k < first.size(); ++k)
    sends.push_back(mesh_.send(next, tag_of(kReduceScatterPhase, 0, k),
                               std::span<const float>(data.subspan(first[k].begin, first[k].size))));
  post_recvs(0);
  for (std::size_t step = 0; step + 1 < n; ++step) {
    if (step + 2 < n) post_recvs(step + 1);
    const auto pieces = chunk(step + 1);
    const float* incoming = scratch_[step % 2].data();
    for (std::size_t k = 0; k < pieces.size(); ++k) {
      recvs[step % 2][k].wait();
      float* out = data.data() + pieces[k].begin;
      for (std::size_t i = 0; i < pieces[k].size; ++i) out[i] += incoming[i];
      incoming += pieces[k].size;
      // This chunk is what the next step sends: forward the block right away.
      if (step + 2 < n)
        sends.push_back(
            mesh_.send(next, tag_of(kReduceScatterPhase, step + 1, k), std::span<const float>(out, pieces[k].size)));
    }
  }
  for (auto& s : sends) s.wait();
}

void RingAllreduce::all_gather(std::span<float> data, const InterleavedParts& chunks, ShardRange range) {
  const std::size_t n = mesh_.size();
  const std::size_t rank = mesh_.rank();
  const int next = static_cast<int>((rank + 1) % n);
  const int prev = static_cast<int>((rank + n - 1) % n);
  // In step s rank r receives chunk (r - s) mod N, finished by rank r - s - 1.
  auto chunk = [&](std::size_t step) { return chunks.pieces((rank + n - step % n) % n, range); };

  std::vector<std::vector<ShardRange>> pieces(n - 1);
  std::vector<std::vector<net::Request>> recvs(n - 1);
  for (std::size_t step = 0; step + 1 < n; ++step) {
    pieces[step] = chunk(step);
    for (std::size_t k = 0; k < pieces[step].size(); ++k)
      recvs[step].push_back(mesh_.recv(prev, tag_of(kAllGatherPhase, step, k),
                                       data.subspan(pieces[step][k].begin, pieces[step][k].size)));
  }
  std::vector<net::Request> sends;
  const auto owned = chunks.pieces((rank + 1) % n, range);
  for (std::size_t k = 0; k < owned.size(); ++k)
    sends.push_back(mesh_.send(next, tag_of(kAllGatherPhase, 0, k),
                               std::span<const float>(data.subspan(owned[k].begin, owned[k].size))));
  for (std::size_t step = 0; step + 1 < n; ++step) {
    for (std::size_t k = 0; k < recvs[step].size(); ++k) {
      recvs[step][k].wait();
      if (step + 2 < n)
        sends.push_back(mesh_.send(next, tag_of(kAllGatherPhase, step + 1, k),
                                   std::span<const float>(data.subspan(pieces[step][k].begin, pieces[step][k].size))));
    }
  }
  for (auto& s : sends) s.wait();
}

}  // namespace syncbed::sync
