#include "sync/tasks/block_store.h"

namespace syncbed::sync::tasks {
namespace {

std::string mib(std::size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

std::string BlockId::describe() const {
  const std::string i = std::to_string(iteration);
  switch (kind) {
    case BlockKind::kWeights:
      return "W(" + i + ", " + std::to_string(from) + ")";
    case BlockKind::kState:
      return "S(" + i + ", " + std::to_string(from) + ")";
    case BlockKind::kGradient:
      return "G(" + i + ", " + std::to_string(from) + ", " + std::to_string(to) + ")";
  }
  return "?";
}

std::array<std::uint64_t, 4> BlockId::encode() const {
  return {static_cast<std::uint64_t>(iteration), static_cast<std::uint64_t>(kind), static_cast<std::uint64_t>(from),
          static_cast<std::uint64_t>(static_cast<std::int64_t>(to))};
}

BlockId BlockId::decode(const std::array<std::uint64_t, 4>& words) {
  constexpr std::uint64_t kMaxIndex = 1 << 20;
  const auto to = static_cast<std::int64_t>(words[3]);
  if (words[1] < 1 || words[1] > 3) throw std::runtime_error("unknown block kind " + std::to_string(words[1]));
  if (words[0] > (std::uint64_t{1} << 40) || words[2] >= kMaxIndex || to < -1 || to >= std::int64_t(kMaxIndex))
    throw std::runtime_error("block id out of range");
  return {static_cast<long>(words[0]), static_cast<BlockKind>(words[1]), static_cast<int>(words[2]),
          static_cast<int>(to)};
}

void BlockStore::put(const BlockId& id, Block data) {
  auto block = std::make_shared<const Block>(std::move(data));
  {
    std::lock_guard lock(mutex_);
    auto found = blocks_.find(id);
    const std::size_t replaced = found == blocks_.end() ? 0 : found->second->size();
    const std::size_t after = bytes_ - replaced + block->size();
    if (after > capacity_)
      throw std::runtime_error("block store full: putting " + id.describe() + " (" + mib(block->size()) +
                               ") would hold " + mib(after) + " of its " + mib(capacity_) +
                               " capacity; raise the strategy's \"block_store_mb\" or lower \"group\"");
    bytes_ = after;
    peak_ = std::max(peak_, bytes_);
    blocks_[id] = std::move(block);
  }
  arrived_.notify_all();
}

std::shared_ptr<const Block> BlockStore::get(const BlockId& id, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  while (true) {
    if (auto found = blocks_.find(id); found != blocks_.end()) return found->second;
    if (!refusing_.empty()) throw BlockMissing(id.describe() + " will not be put: " + refusing_);
    if (arrived_.wait_until(lock, deadline) == std::cv_status::timeout && !blocks_.contains(id))
      throw BlockMissing(id.describe() + " was not put before the deadline");
  }
}

std::shared_ptr<const Block> BlockStore::find(const BlockId& id) const {
  std::lock_guard lock(mutex_);
  auto found = blocks_.find(id);
  return found == blocks_.end() ? nullptr : found->second;
}

void BlockStore::evict_below(long iteration) {
  std::lock_guard lock(mutex_);
  for (auto it = blocks_.begin(); it != blocks_.end() && it->first.iteration < iteration;) {
    bytes_ -= it->second->size();
    it = blocks_.erase(it);
  }
}

void BlockStore::refuse_waits(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    refusing_ = reason.empty() ? "refused" : reason;
  }
  arrived_.notify_all();
}

void BlockStore::accept_waits() {
  std::lock_guard lock(mutex_);
  refusing_.clear();
}

std::size_t BlockStore::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

std::size_t BlockStore::peak_bytes() const {
  std::lock_guard lock(mutex_);
  return peak_;
}

std::size_t BlockStore::blocks() const {
  std::lock_guard lock(mutex_);
  return blocks_.size();
}

}  // namespace syncbed::sync::tasks
