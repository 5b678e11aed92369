#include "sync/sharded/sharded_shuffle.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "core/bf16.h"
#include "core/clock.h"
#include "core/state_bytes.h"
#include "core/trace.h"
#include "core/transport/tags.h"

namespace syncbed::sync {
namespace {

constexpr std::uint64_t kShuffleTag = net::make_tag(net::TagSpace::kStrategy, 1);
constexpr std::uint64_t kBroadcastTag = net::make_tag(net::TagSpace::kStrategy, 2);
// Each segment is a frame to every peer and a wait per summed piece, N-1 of them in flight
// per round: with 1 MiB, sharded spent 9% more CPU per allreduce than the ring at 128 MiB
// N=4 on 2 cores, with 4 MiB 5% less (results/README.md, after "The whole table again").
constexpr std::size_t kSegmentBytes = std::size_t{4} << 20;

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

// Elements `rank` owns over all buckets, and where each bucket's shard starts among them.
std::size_t lay_out_owned(const std::vector<ShardRange>& buckets, int workers, int rank,
                          std::vector<std::size_t>& offsets) {
  std::size_t owned = 0;
  for (const ShardRange& bucket : buckets) {
    offsets.push_back(owned);
    owned += shard_range(bucket.size, workers, rank).size;
  }
  return owned;
}

}  // namespace

ShardedShuffle::ShardedShuffle(net::Mesh& mesh, const SyncOptions& options)
    : mesh_(mesh),
      options_(options),
      buckets_(buckets(options.parameters, options.overlap)),
      owned_(lay_out_owned(buckets_, mesh.size(), mesh.rank(), owned_offset_)),
      bf16_(options.compression == Compression::kBf16),
      segment_(std::max<std::size_t>(1, segment_bytes_or(options, kSegmentBytes) / sizeof(float))),
      max_shard_(shard_range(options.parameters, mesh.size(), 0).size),
      optimizer_(options.optimizer, owned_) {
  const std::size_t slots = max_shard_ * mesh.size();
  if (bf16_) {
    incoming16_ = AlignedBuffer<std::uint16_t>(slots);
    broadcast16_ = AlignedBuffer<std::uint16_t>(options.parameters);
    outgoing16_ = AlignedBuffer<std::uint16_t>(options.parameters);
  } else {
    incoming_ = AlignedBuffer<float>(slots);
  }
}

ShardRange ShardedShuffle::shard(ShardRange bucket, std::size_t owner) const {
  const ShardRange within = shard_range(bucket.size, mesh_.size(), owner);
  return {bucket.begin + within.begin, within.size};
}

std::span<float> ShardedShuffle::master_shard(std::size_t bucket) {
  const ShardRange own = shard(buckets_[bucket], mesh_.rank());
  if (!bf16_) return weights_.subspan(own.begin, own.size);
  return master_->span().subspan(owned_offset_[bucket], own.size);
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
    master_.emplace(owned_);
    in.floats(master_->span(), "master weights");
  }
  in.finish();
}

// One exchange (step or sum) with pieces of type Wire on the wire: fp32 travels in
// place (the gradient is sent from grads, broadcast shards land straight in `out`); bf16
// is truncated into the compressed buffers before sending and expanded after receiving.
template <typename Wire>
class ShardedShuffle::Round {
 public:
  struct Buffers {
    Wire* outgoing;   // this worker's gradient as sent, indexed like it
    Wire* incoming;   // shuffle pieces: a max_shard_ slot per rank
    Wire* broadcast;  // every owner's published shard as received, indexed like `out`
  };

  Round(ShardedShuffle& s, std::span<float> grads, std::span<float> out, ShardRange bucket, Buffers wire)
      : s_(s),
        grads_(grads),
        out_(out),
        wire_(wire),
        bucket_(bucket),
        n_(s.mesh_.size()),
        me_(s.mesh_.rank()),
        mine_(s.shard(bucket, me_)),
        segments_(s.segments_of(mine_.size)),
        shuffle_(static_cast<std::size_t>(n_) * segments_),
        broadcast_(n_),
        pieces_(n_) {}

  // finish(offset, sum) turns each summed segment of this rank's shard into what it
  // publishes (the sum itself, or the updated weights).
  template <typename Finish>
  void run(Finish finish, bool updates, PhaseTimes& times) {
    trace::PhaseScope phase("shuffle");
    post_receives();
    send_gradient();
    shuffling_ += trace::lap(watch_, "shuffle");
    for (std::size_t k = 0; k < segments_; ++k) reduce_and_publish(k, finish);
    phase.next("broadcast");
    collect_broadcast();
    times.add("shuffle", shuffling_);
    times.add("aggregate", adding_);
    if (updates) times.add("update", updating_);
    times.add("broadcast", broadcasting_);
  }

 private:
  static void pack(std::span<const float> from, float* to) {
    if (from.data() != to) std::memcpy(to, from.data(), from.size_bytes());
  }
  static void pack(std::span<const float> from, std::uint16_t* to) { bf16_truncate(from, to); }
  static void unpack(const float* from, std::span<float> to) {
    if (from != to.data()) std::memcpy(to.data(), from, to.size_bytes());
  }
  static void unpack(const std::uint16_t* from, std::span<float> to) { bf16_expand(from, to); }

  std::size_t length_of(const ShardRange& shard, std::size_t offset) const {
    return std::min(s_.segment_, shard.size - offset);
  }

  // Receives first, so every segment lands directly in its slot. Shuffle segment k of
  // peer p: shuffle_[p * segments_ + k]; broadcast segments of p's shard: broadcast_[p].
  void post_receives() {
    for (int peer = 0; peer < n_; ++peer) {
      if (peer == me_) continue;
      for (std::size_t k = 0; k < segments_; ++k) {
        const std::size_t offset = k * s_.segment_;
        shuffle_[peer * segments_ + k] = s_.mesh_.recv(
            peer, kShuffleTag, std::span(wire_.incoming + peer * s_.max_shard_ + offset, length_of(mine_, offset)));
      }
      const ShardRange theirs = s_.shard(bucket_, peer);
      for (std::size_t offset = 0; offset < theirs.size; offset += s_.segment_)
        broadcast_[peer].push_back(s_.mesh_.recv(
            peer, kBroadcastTag, std::span(wire_.broadcast + theirs.begin + offset, length_of(theirs, offset))));
    }
  }

  // To peers me+1, me+2, ..., so at any moment the N workers send to different owners.
  // A bf16 segment is truncated just before it goes, so the first bytes leave at once.
  void send_gradient() {
    for (int step = 1; step <= n_; ++step) {
      const int peer = (me_ + step) % n_;
      const ShardRange theirs = s_.shard(bucket_, peer);
      for (std::size_t offset = 0; offset < theirs.size; offset += s_.segment_) {
        const std::size_t length = length_of(theirs, offset);
        Wire* packed = wire_.outgoing + theirs.begin + offset;
        pack(grads_.subspan(theirs.begin + offset, length), packed);
        if (peer != me_) sends_.push_back(s_.mesh_.send(peer, kShuffleTag, std::span<const Wire>(packed, length)));
      }
    }
  }

  // Segment k of this rank's shard: sum in rank order 0..N-1 (whatever order the pieces
  // arrived in) over grads' own piece, finish, publish, send to every peer.
  template <typename Finish>
  void reduce_and_publish(std::size_t k, Finish finish) {
    const std::size_t offset = k * s_.segment_, length = length_of(mine_, offset);
    for (int peer = 0; peer < n_; ++peer)
      if (peer != me_) shuffle_[peer * segments_ + k].wait();
    shuffling_ += trace::lap(watch_, "shuffle");
    for (int r = 0; r < n_; ++r)
      pieces_[r] = (r == me_ ? wire_.outgoing + mine_.begin : wire_.incoming + r * s_.max_shard_) + offset;
    float* sum = grads_.data() + mine_.begin + offset;
    sum_in_rank_order(pieces_, sum, length,
                      std::is_same_v<Wire, std::uint16_t> && s_.options_.sum_in_compressed_format);
    adding_ += trace::lap(watch_, "aggregate");
    const std::span<const float> result = finish(offset, std::span<float>(sum, length));
    updating_ += trace::lap(watch_, "update");
    // Publish: every copy of the shard, ours too, is what the peers receive. bf16 packs
    // into the own shard's part of the outgoing buffer, which the sum has consumed.
    const std::span<float> published = out_.subspan(mine_.begin + offset, length);
    const Wire* packed = publish(result, published, wire_.outgoing + mine_.begin + offset);
    for (int step = 1; step < n_; ++step)
      sends_.push_back(s_.mesh_.send((me_ + step) % n_, kBroadcastTag, std::span<const Wire>(packed, length)));
    broadcasting_ += trace::lap(watch_, "broadcast");
  }

  static const float* publish(std::span<const float> result, std::span<float> published, float*) {
    pack(result, published.data());
    return published.data();
  }
  static const std::uint16_t* publish(std::span<const float> result, std::span<float> published,
                                      std::uint16_t* packed) {
    pack(result, packed);
    unpack(packed, published);
    return packed;
  }

  // Every other owner's shard, unpacked segment by segment as it lands.
  void collect_broadcast() {
    for (int step = 1; step < n_; ++step) {
      const int peer = (me_ + step) % n_;
      const ShardRange theirs = s_.shard(bucket_, peer);
      for (std::size_t k = 0; k < broadcast_[peer].size(); ++k) {
        broadcast_[peer][k].wait();
        const std::size_t at = theirs.begin + k * s_.segment_;
        unpack(wire_.broadcast + at, out_.subspan(at, length_of(theirs, k * s_.segment_)));
      }
    }
    for (auto& send : sends_) send.wait();
    broadcasting_ += trace::lap(watch_, "broadcast");
  }

  ShardedShuffle& s_;
  std::span<float> grads_, out_;
  Buffers wire_;
  const ShardRange bucket_;
  const int n_, me_;
  const ShardRange mine_;
  const std::size_t segments_;
  std::vector<net::Request> shuffle_, sends_;
  std::vector<std::vector<net::Request>> broadcast_;
  std::vector<const Wire*> pieces_;  // the N pieces of the segment being summed
  Stopwatch watch_;
  double shuffling_ = 0, adding_ = 0, updating_ = 0, broadcasting_ = 0;
};

template <typename Finish>
void ShardedShuffle::exchange(std::span<float> grads, std::span<float> out, ShardRange bucket, Finish finish,
                              bool updates, PhaseTimes& times) {
  if (bf16_)
    Round<std::uint16_t>(*this, grads, out, bucket, {outgoing16_.data(), incoming16_.data(), broadcast16_.data()})
        .run(finish, updates, times);
  else
    Round<float>(*this, grads, out, bucket, {grads.data(), incoming_.data(), out.data()}).run(finish, updates, times);
}

void ShardedShuffle::check_size(std::span<const float> vector) const {
  if (vector.size() != options_.parameters)
    throw std::invalid_argument("sharded: a vector of " + std::to_string(vector.size()) +
                                " elements, but the shards were cut for " + std::to_string(options_.parameters));
}

void ShardedShuffle::step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) {
  begin_step(weights, grads);
  for (std::size_t bucket = 0; bucket < buckets_.size(); ++bucket) sync_bucket(bucket, times);
}

void ShardedShuffle::begin_step(std::span<float> weights, std::span<float> grads) {
  check_size(weights);
  check_size(grads);
  weights_ = weights;
  grads_ = grads;
  // Workers only ever see bf16 weights; the fp32 master of every owned shard lives
  // here, seeded from the weights every worker starts with.
  if (bf16_ && !master_) {
    master_.emplace(owned_);
    for (std::size_t bucket = 0; bucket < buckets_.size(); ++bucket) {
      const ShardRange own = shard(buckets_[bucket], mesh_.rank());
      if (own.size)
        std::memcpy(master_->data() + owned_offset_[bucket], weights.data() + own.begin, own.size * sizeof(float));
    }
  }
  optimizer_.begin_step();
}

void ShardedShuffle::sync_bucket(std::size_t bucket, PhaseTimes& times) {
  const std::span<float> master = master_shard(bucket);
  const std::size_t state_offset = owned_offset_.at(bucket);
  auto update = [&](std::size_t offset, std::span<float> sum) {
    const std::span<float> updated = master.subspan(offset, sum.size());
    optimizer_.update(state_offset + offset, updated, sum);
    return std::span<const float>(updated);
  };
  exchange(grads_, weights_, buckets_[bucket], update, true, times);
}

void ShardedShuffle::allreduce_sum(std::span<float> data, PhaseTimes& times) {
  check_size(data);
  auto keep_sum = [](std::size_t, std::span<float> sum) { return std::span<const float>(sum); };
  exchange(data, data, {0, data.size()}, keep_sum, false, times);
}

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
