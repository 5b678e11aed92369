#include "sync/sharded/sharded_shuffle.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "core/bf16.h"
#include "core/clock.h"
#include "core/state_bytes.h"
#include "core/transport/tags.h"

namespace syncbed::sync {
namespace {

constexpr std::uint64_t kShuffleTag = net::make_tag(net::TagSpace::kStrategy, 1);
constexpr std::uint64_t kBroadcastTag = net::make_tag(net::TagSpace::kStrategy, 2);

// out[i] = pieces[0][i] + pieces[1][i] + ... in exactly that order, one pass over
// memory: blocks are summed in an L1-resident accumulator, then stored, so out may be
// one of the pieces. With bf16 pieces, compressed_sum re-truncates after every add.
template <typename Piece>
void sum_in_rank_order(const std::vector<const Piece*>& pieces, float* out, std::size_t length, bool compressed_sum) {
  constexpr std::size_t kBlock = 2048;
  alignas(64) float acc[kBlock];
  auto load = [](Piece value) {
    if constexpr (std::is_same_v<Piece, float>)
      return value;
    else
      return bf16_expand(value);
  };
  for (std::size_t begin = 0; begin < length; begin += kBlock) {
    const std::size_t n = std::min(kBlock, length - begin);
    for (std::size_t i = 0; i < n; ++i) acc[i] = load(pieces[0][begin + i]);
    for (std::size_t r = 1; r < pieces.size(); ++r) {
      const Piece* piece = pieces[r] + begin;
      if (compressed_sum)
        for (std::size_t i = 0; i < n; ++i) acc[i] = bf16_round_trip(acc[i] + load(piece[i]));
      else
        for (std::size_t i = 0; i < n; ++i) acc[i] += load(piece[i]);
    }
    std::memcpy(out + begin, acc, n * sizeof(float));
  }
}

}  // namespace

ShardedShuffle::ShardedShuffle(net::Mesh& mesh, const SyncOptions& options)
    : mesh_(mesh),
      options_(options),
      bf16_(options.compression == Compression::kBf16),
      segment_(std::max<std::size_t>(1, options.segment_bytes / sizeof(float))),
      max_shard_(shard_range(options.parameters, mesh.size(), 0).size),
      optimizer_(options.optimizer, shard_range(options.parameters, mesh.size(), mesh.rank()).size) {
  const std::size_t slots = max_shard_ * mesh.size();
  if (bf16_) {
    incoming16_ = AlignedBuffer<std::uint16_t>(slots);
    broadcast16_ = AlignedBuffer<std::uint16_t>(options.parameters);
    outgoing16_ = AlignedBuffer<std::uint16_t>(options.parameters);
  } else {
    incoming_ = AlignedBuffer<float>(slots);
  }
}

ShardRange ShardedShuffle::shard(std::size_t owner) const {
  return shard_range(options_.parameters, mesh_.size(), owner);
}

std::span<float> ShardedShuffle::master_shard(std::span<float> weights) {
  const ShardRange own = shard(mesh_.rank());
  const auto shard_of_weights = weights.subspan(own.begin, own.size);
  if (!bf16_) return shard_of_weights;
  // Workers only ever see bf16 weights; the fp32 master lives here, seeded from the
  // weights every worker starts with.
  if (!master_) {
    master_.emplace(own.size);
    if (own.size) std::memcpy(master_->data(), shard_of_weights.data(), own.size * sizeof(float));
  }
  return master_->span();
}

// The owner's shard of the optimizer state and, with bf16 once it exists, its fp32
// master (before the first step the master is still to be seeded from the weights).
std::vector<std::byte> ShardedShuffle::save_state() {
  StateWriter out;
  out.optimizer(optimizer_);
  out.count(master_.has_value());
  if (master_) out.floats(master_->span());
  return out.take();
}

void ShardedShuffle::restore_state(std::span<const std::byte> state) {
  const std::string what = "sharded state (rank " + std::to_string(mesh_.rank()) + ")";
  StateReader in(state, what);
  in.optimizer(optimizer_, "optimizer");
  if (in.count("master flag")) {
    if (!bf16_) throw std::runtime_error(what + ": holds a bf16 master, but compression is off");
    master_.emplace(shard(mesh_.rank()).size);
    in.floats(master_->span(), "master weights");
  }
  in.finish();
}

void ShardedShuffle::exchange(std::span<float> grads, std::span<float> out, bool update, PhaseTimes& times) {
  if (grads.size() != options_.parameters || out.size() != options_.parameters)
    throw std::invalid_argument("sharded: a vector of " + std::to_string(grads.size()) +
                                " elements, but the shards were cut for " + std::to_string(options_.parameters));
  Stopwatch watch;
  const int n = mesh_.size();
  const int me = mesh_.rank();
  const ShardRange mine = shard(me);
  const std::size_t segments = segments_of(mine.size);
  const std::span<float> master = update ? master_shard(out) : grads.subspan(mine.begin, mine.size);
  if (update) optimizer_.begin_step();

  // Receives first, so every segment lands directly in its slot. Shuffle segment k of
  // peer p: shuffle[p * segments + k]; broadcast segments of p's shard: broadcast[p].
  std::vector<net::Request> shuffle(static_cast<std::size_t>(n) * segments), sends;
  std::vector<std::vector<net::Request>> broadcast(n);
  for (int peer = 0; peer < n; ++peer) {
    if (peer == me) continue;
    const ShardRange theirs = shard(peer);
    for (std::size_t k = 0; k < segments; ++k) {
      const std::size_t offset = k * segment_, length = std::min(segment_, mine.size - offset);
      const std::size_t slot = peer * max_shard_ + offset;
      shuffle[peer * segments + k] = bf16_ ? mesh_.recv(peer, kShuffleTag, std::span(incoming16_.data() + slot, length))
                                           : mesh_.recv(peer, kShuffleTag, std::span(incoming_.data() + slot, length));
    }
    for (std::size_t offset = 0; offset < theirs.size; offset += segment_) {
      const std::size_t at = theirs.begin + offset, length = std::min(segment_, theirs.size - offset);
      broadcast[peer].push_back(bf16_ ? mesh_.recv(peer, kBroadcastTag, std::span(broadcast16_.data() + at, length))
                                      : mesh_.recv(peer, kBroadcastTag, out.subspan(at, length)));
    }
  }

  // Shuffle sends to peers me+1, me+2, ..., so at any moment the N workers send to
  // different owners. A bf16 segment is truncated just before it goes, so the first
  // bytes leave at once instead of after a pass over the whole gradient.
  for (int step = 1; step <= n; ++step) {
    const int peer = (me + step) % n;
    const ShardRange theirs = shard(peer);
    for (std::size_t offset = 0; offset < theirs.size; offset += segment_) {
      const std::size_t length = std::min(segment_, theirs.size - offset);
      const auto piece = grads.subspan(theirs.begin + offset, length);
      if (bf16_) {
        std::uint16_t* packed = outgoing16_.data() + theirs.begin + offset;
        bf16_truncate(piece, packed);
        if (peer != me) sends.push_back(mesh_.send(peer, kShuffleTag, std::span<const std::uint16_t>(packed, length)));
      } else if (peer != me) {
        sends.push_back(mesh_.send(peer, kShuffleTag, std::span<const float>(piece)));
      }
    }
  }
  double shuffling = watch.lap(), adding = 0, updating = 0, broadcasting = 0;

  // Per segment of this rank's shard: sum in rank order 0..N-1 (whatever order the
  // pieces arrived in) over grads' own piece, update, publish, send to every peer.
  std::vector<const float*> pieces(n);
  std::vector<const std::uint16_t*> pieces16(n);
  for (std::size_t k = 0; k < segments; ++k) {
    const std::size_t offset = k * segment_, length = std::min(segment_, mine.size - offset);
    for (int peer = 0; peer < n; ++peer)
      if (peer != me) shuffle[peer * segments + k].wait();
    shuffling += watch.lap();
    float* sum = grads.data() + mine.begin + offset;
    if (bf16_) {
      for (int r = 0; r < n; ++r)
        pieces16[r] = (r == me ? outgoing16_.data() + mine.begin : incoming16_.data() + r * max_shard_) + offset;
      sum_in_rank_order(pieces16, sum, length, options_.sum_in_compressed_format);
    } else {
      for (int r = 0; r < n; ++r)
        pieces[r] = (r == me ? grads.data() + mine.begin : incoming_.data() + r * max_shard_) + offset;
      sum_in_rank_order(pieces, sum, length, false);
    }
    adding += watch.lap();
    const auto result = master.subspan(offset, length);
    if (update) optimizer_.update(offset, result, std::span<const float>(sum, length));
    updating += watch.lap();
    // Publish: every copy of the shard, ours too, is what the peers receive.
    float* published = out.data() + mine.begin + offset;
    if (bf16_) {
      std::uint16_t* packed = outgoing16_.data() + mine.begin + offset;
      bf16_truncate(result, packed);
      bf16_expand(packed, std::span(published, length));
      for (int step = 1; step < n; ++step)
        sends.push_back(mesh_.send((me + step) % n, kBroadcastTag, std::span<const std::uint16_t>(packed, length)));
    } else {
      if (result.data() != published) std::memcpy(published, result.data(), length * sizeof(float));
      for (int step = 1; step < n; ++step)
        sends.push_back(mesh_.send((me + step) % n, kBroadcastTag, std::span<const float>(published, length)));
    }
    broadcasting += watch.lap();
  }

  // Every other owner's shard, expanded segment by segment as it lands with bf16.
  for (int step = 1; step < n; ++step) {
    const int peer = (me + step) % n;
    const ShardRange theirs = shard(peer);
    for (std::size_t k = 0; k < broadcast[peer].size(); ++k) {
      broadcast[peer][k].wait();
      if (!bf16_) continue;
      const std::size_t at = theirs.begin + k * segment_, length = std::min(segment_, theirs.size - k * segment_);
      bf16_expand(broadcast16_.data() + at, out.subspan(at, length));
    }
  }
  for (auto& s : sends) s.wait();
  broadcasting += watch.lap();
  times.add("shuffle", shuffling);
  times.add("aggregate", adding);
  if (update) times.add("update", updating);
  times.add("broadcast", broadcasting);
}

void ShardedShuffle::step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) {
  exchange(grads, weights, true, times);
}

void ShardedShuffle::allreduce_sum(std::span<float> data, PhaseTimes& times) { exchange(data, data, false, times); }

// Shuffle every gradient shard to its owner, sum, update the shard, broadcast it back.
PhaseCosts ShardedShuffle::costs(const ClusterCosts& c, const SyncOptions&) {
  const int n = c.workers;
  const double share = (n - 1.0) / n;
  const double exchange =
      n > 1 ? c.traffic(share * c.wire_bytes, share * c.wire_bytes, n * share * c.wire_bytes) + c.latency_s() : 0;
  PhaseCosts phases;
  phases["shuffle"] = exchange;
  phases["aggregate"] = c.cpu(c.sum_s(share * c.float_bytes), n);
  phases["update"] = c.cpu(c.update_s(c.parameters / n), n);
  phases["broadcast"] = exchange;
  return phases;
}

}  // namespace syncbed::sync
