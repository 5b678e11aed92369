#include "sync/sharded_shuffle.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/bf16.h"
#include "core/clock.h"

namespace syncbed::sync {
namespace {
constexpr std::uint64_t kShuffleTag = 1;
constexpr std::uint64_t kBroadcastTag = 2;
}  // namespace

ShardedShuffle::ShardedShuffle(net::Mesh& mesh, const SyncOptions& options)
    : mesh_(mesh),
      options_(options),
      bf16_(options.compression == "bf16"),
      max_shard_(shard_range(options.parameters, mesh.size(), 0).size),
      optimizer_(options.optimizer, shard_range(options.parameters, mesh.size(), mesh.rank()).size),
      sum_(max_shard_) {
  const std::size_t slots = max_shard_ * mesh.size();
  if (bf16_) {
    incoming16_ = AlignedBuffer<std::uint16_t>(slots);
    outgoing16_ = AlignedBuffer<std::uint16_t>(options.parameters);
  } else {
    incoming_ = AlignedBuffer<float>(slots);
  }
}

ShardRange ShardedShuffle::shard(std::size_t owner) const {
  return shard_range(options_.parameters, mesh_.size(), owner);
}

void ShardedShuffle::shuffle_and_aggregate(std::span<float> grads, PhaseTimes& times) {
  Stopwatch watch;
  const int n = mesh_.size();
  const int me = mesh_.rank();
  const ShardRange mine = shard(me);
  const std::size_t segment = std::max<std::size_t>(1, options_.segment_bytes / sizeof(float));
  const std::size_t segments = (mine.size + segment - 1) / segment;

  // Every flow is cut into segments, so the owner reduces segment k while later ones
  // are still arriving. recvs[peer * segments + k] receives segment k from peer.
  std::vector<net::Request> recvs(static_cast<std::size_t>(n) * segments), sends;
  if (bf16_) bf16_truncate(grads, outgoing16_.data());
  for (int peer = 0; peer < n; ++peer) {
    if (peer == me) continue;
    for (std::size_t k = 0; k < segments; ++k) {
      const std::size_t offset = k * segment, length = std::min(segment, mine.size - offset);
      if (bf16_)
        recvs[peer * segments + k] =
            mesh_.recv(peer, kShuffleTag, std::span(incoming16_.data() + peer * max_shard_ + offset, length));
      else
        recvs[peer * segments + k] =
            mesh_.recv(peer, kShuffleTag, std::span(incoming_.data() + peer * max_shard_ + offset, length));
    }
    const ShardRange theirs = shard(peer);
    for (std::size_t offset = 0; offset < theirs.size; offset += segment) {
      const std::size_t length = std::min(segment, theirs.size - offset);
      if (bf16_)
        sends.push_back(mesh_.send(peer, kShuffleTag,
                                   std::span<const std::uint16_t>(outgoing16_.data() + theirs.begin + offset, length)));
      else
        sends.push_back(
            mesh_.send(peer, kShuffleTag, std::span<const float>(grads.subspan(theirs.begin + offset, length))));
    }
  }

  double waiting = watch.lap(), adding = 0;
  for (std::size_t k = 0; k < segments; ++k) {
    const std::size_t offset = k * segment, length = std::min(segment, mine.size - offset);
    for (int peer = 0; peer < n; ++peer)
      if (peer != me) recvs[peer * segments + k].wait();
    waiting += watch.lap();
    // Rank order 0..N-1, whatever order the pieces arrived in.
    float* sum = sum_.data() + offset;
    for (int r = 0; r < n; ++r) {
      if (!bf16_) {
        const float* piece = (r == me ? grads.data() + mine.begin : incoming_.data() + r * max_shard_) + offset;
        if (r == 0)
          std::memcpy(sum, piece, length * sizeof(float));
        else
          for (std::size_t i = 0; i < length; ++i) sum[i] += piece[i];
      } else {
        const std::uint16_t* piece =
            (r == me ? outgoing16_.data() + mine.begin : incoming16_.data() + r * max_shard_) + offset;
        if (r == 0)
          bf16_expand(piece, std::span(sum, length));
        else if (options_.sum_in_compressed_format)
          for (std::size_t i = 0; i < length; ++i) sum[i] = bf16_round_trip(sum[i] + bf16_expand(piece[i]));
        else
          for (std::size_t i = 0; i < length; ++i) sum[i] += bf16_expand(piece[i]);
      }
    }
    adding += watch.lap();
  }
  for (auto& s : sends) s.wait();
  waiting += watch.lap();
  times.add("shuffle", waiting);
  times.add("aggregate", adding);
}

void ShardedShuffle::broadcast(std::span<const float> mine, std::span<float> out, PhaseTimes& times) {
  Stopwatch watch;
  const int n = mesh_.size();
  const int me = mesh_.rank();
  const ShardRange own = shard(me);
  std::vector<net::Request> requests;
  std::uint16_t* published = bf16_ ? outgoing16_.data() + own.begin : nullptr;
  if (bf16_) {
    bf16_truncate(mine, published);
    bf16_expand(published, out.subspan(own.begin, own.size));  // every copy, ours too, is the bf16 one
  } else if (mine.data() != out.data() + own.begin) {
    std::memcpy(out.data() + own.begin, mine.data(), own.size * sizeof(float));
  }
  for (int peer = 0; peer < n; ++peer) {
    if (peer == me) continue;
    const ShardRange theirs = shard(peer);
    if (bf16_) {
      requests.push_back(
          mesh_.recv(peer, kBroadcastTag, std::span(incoming16_.data() + peer * max_shard_, theirs.size)));
      requests.push_back(mesh_.send(peer, kBroadcastTag, std::span<const std::uint16_t>(published, own.size)));
    } else {
      requests.push_back(mesh_.recv(peer, kBroadcastTag, out.subspan(theirs.begin, theirs.size)));
      requests.push_back(mesh_.send(peer, kBroadcastTag, std::span<const float>(out.subspan(own.begin, own.size))));
    }
  }
  for (auto& r : requests) r.wait();
  if (bf16_)
    for (int peer = 0; peer < n; ++peer)
      if (peer != me)
        bf16_expand(incoming16_.data() + peer * max_shard_, out.subspan(shard(peer).begin, shard(peer).size));
  times.add("broadcast", watch.lap());
}

void ShardedShuffle::step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) {
  shuffle_and_aggregate(grads, times);
  Stopwatch watch;
  const ShardRange own = shard(mesh_.rank());
  const std::span<const float> summed(sum_.data(), own.size);
  std::span<float> master = weights.subspan(own.begin, own.size);
  if (bf16_) {
    // Workers only ever see bf16 weights; the fp32 master lives here, seeded from the
    // weights every worker starts with.
    if (!master_) {
      master_.emplace(own.size);
      if (own.size) std::memcpy(master_->data(), master.data(), own.size * sizeof(float));
    }
    master = master_->span();
  }
  optimizer_.step(master, summed);
  times.add("update", watch.lap());
  broadcast(master, weights, times);
}

void ShardedShuffle::allreduce_sum(std::span<float> data, PhaseTimes& times) {
  shuffle_and_aggregate(data, times);
  broadcast(std::span<const float>(sum_.data(), shard(mesh_.rank()).size), data, times);
}

}  // namespace syncbed::sync
