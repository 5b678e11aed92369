#include "sync/halving_doubling/halving_doubling.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/transport/tags.h"

namespace syncbed::sync {
namespace {

// Phases in the strategy tag space; the step and segment go in the tag's other fields.
constexpr std::uint64_t kFoldPhase = 1, kReduceScatterPhase = 2, kAllGatherPhase = 3, kUnfoldPhase = 4;

int largest_power_of_two_at_most(int n) {
  int p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

}  // namespace

HalvingDoubling::HalvingDoubling(net::Mesh& mesh, const SyncOptions& options)
    : AllreduceThenUpdate("halving_doubling", mesh.size(), options),
      mesh_(mesh),
      parameters_(options.parameters),
      segment_(std::max<std::size_t>(1, segment_bytes_or(options, kOneMiBSegment) / sizeof(float))),
      p_(largest_power_of_two_at_most(mesh.size())),
      scratch_(mesh.size() > 1 ? options.parameters : 0) {
  const int folded = mesh.size() - p_;  // ranks 0, 2, ..., 2 folded - 2 sit out
  const int rank = mesh.rank();
  if (rank < 2 * folded)
    virtual_rank_ = rank % 2 ? rank / 2 : -1;
  else
    virtual_rank_ = rank - folded;
}

int HalvingDoubling::real_rank(int virtual_rank) const {
  const int folded = mesh_.size() - p_;
  return virtual_rank < folded ? 2 * virtual_rank + 1 : virtual_rank + folded;
}

std::vector<ShardRange> HalvingDoubling::elements(Blocks blocks) const {
  return parts_->pieces(blocks.first, blocks.last, range_);
}

void HalvingDoubling::exchange(int peer, std::uint64_t phase, std::size_t step, const std::vector<ShardRange>& out,
                               const std::vector<ShardRange>& in, bool add) {
  auto tag = [&](std::size_t piece) { return net::make_tag(net::TagSpace::kStrategy, phase, step, piece); };
  std::vector<net::Request> recvs, sends;
  float* packed = scratch_.data();  // with add, the pieces land here one after another
  for (const ShardRange& piece : in) {
    recvs.push_back(
        mesh_.recv(peer, tag(recvs.size()), std::span<float>(add ? packed : data_.data() + piece.begin, piece.size)));
    packed += piece.size;
  }
  for (const ShardRange& piece : out)
    sends.push_back(
        mesh_.send(peer, tag(sends.size()), std::span<const float>(data_.subspan(piece.begin, piece.size))));
  const float* incoming = scratch_.data();
  for (std::size_t k = 0; k < recvs.size(); ++k) {
    recvs[k].wait();
    if (!add) continue;
    float* sum = data_.data() + in[k].begin;
    for (std::size_t i = 0; i < in[k].size; ++i) sum[i] += incoming[i];
    incoming += in[k].size;
  }
  for (auto& send : sends) send.wait();
}

void HalvingDoubling::reduce_scatter(Blocks& mine) {
  std::size_t step = 0;
  for (int distance = p_ / 2; distance >= 1; distance /= 2, ++step) {
    const std::size_t middle = (mine.first + mine.last) / 2;
    const bool lower = (virtual_rank_ & distance) == 0;
    const Blocks keep = lower ? Blocks{mine.first, middle} : Blocks{middle, mine.last};
    const Blocks give = lower ? Blocks{middle, mine.last} : Blocks{mine.first, middle};
    exchange(real_rank(virtual_rank_ ^ distance), kReduceScatterPhase, step, elements(give), elements(keep), true);
    mine = keep;
  }
}

void HalvingDoubling::all_gather(Blocks mine) {
  std::size_t step = 0;
  for (int distance = 1; distance < p_; distance *= 2, ++step) {
    const std::size_t width = mine.last - mine.first;
    const bool lower = (virtual_rank_ & distance) == 0;
    const Blocks theirs = lower ? Blocks{mine.last, mine.last + width} : Blocks{mine.first - width, mine.first};
    exchange(real_rank(virtual_rank_ ^ distance), kAllGatherPhase, step, elements(mine), elements(theirs), false);
    mine = {std::min(mine.first, theirs.first), std::max(mine.last, theirs.last)};
  }
}

void HalvingDoubling::sum(std::span<float> data, ShardRange range) {
  if (data.size() > parameters_)
    throw std::invalid_argument("allreduce of " + std::to_string(data.size()) + " elements exceeds the " +
                                std::to_string(parameters_) + " this instance was sized for");
  if (mesh_.size() == 1 || range.size == 0) return;
  const InterleavedParts parts(data.size(), p_, segment_);
  parts_ = &parts;
  data_ = data;
  range_ = range;
  const int rank = mesh_.rank();
  const bool folds = rank < 2 * (mesh_.size() - p_);
  const Blocks all{0, static_cast<std::size_t>(p_)};
  if (virtual_rank_ < 0) {  // hand the range to the partner above, get the sum back
    exchange(rank + 1, kFoldPhase, 0, elements(all), {}, false);
    exchange(rank + 1, kUnfoldPhase, 0, {}, elements(all), false);
    return;
  }
  if (folds) exchange(rank - 1, kFoldPhase, 0, {}, elements(all), true);
  Blocks mine = all;
  reduce_scatter(mine);
  all_gather(mine);
  if (folds) exchange(rank - 1, kUnfoldPhase, 0, elements(all), {}, false);
}

PhaseCosts HalvingDoubling::costs(const ClusterCosts& c, const SyncOptions&) {
  const int p = largest_power_of_two_at_most(c.workers);
  const int folded = c.workers - p;
  double seconds = 0, summed = 0;
  // Step s of the halving moves 1/2^(s+1) of the vector each way; the doubling mirrors it.
  for (double share = 0.5; share * p >= 1; share /= 2) {
    const double bytes = share * c.wire_bytes;
    seconds += 2 * (c.traffic(bytes, bytes, p * bytes) + c.latency_s());
    summed += share * c.float_bytes;
  }
  if (folded > 0) {  // the whole vector to the partner and, at the end, back
    seconds += 2 * (c.traffic(c.wire_bytes, c.wire_bytes, folded * c.wire_bytes) + c.latency_s());
    summed += c.float_bytes;
  }
  PhaseCosts phases;
  phases["allreduce"] = seconds + c.cpu(c.sum_s(summed), c.workers);
  phases["update"] = c.cpu(c.update_s(c.parameters), c.workers);
  return phases;
}

}  // namespace syncbed::sync
