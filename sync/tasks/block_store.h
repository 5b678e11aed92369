// An executor's in-memory block store (BigDL's model on Spark's BlockManager): every
// piece of training state between two tasks lives here, never in a task. Blocks are
// immutable and named by (iteration, kind, from, to):
//   weights    W(i, j)  from = j, to = -1   weight shard j at the start of iteration i
//   state      S(i, j)  from = j, to = j    optimizer-state shard j (with its step count)
//   gradient   G(i, p, j) from = p, to = j  shard j of data partition p's gradient
// The store is bounded: a put that would exceed the capacity fails, naming the sizes.
// The driver evicts iterations no task will read again.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace syncbed::sync::tasks {

enum class BlockKind : std::uint64_t { kWeights = 1, kState = 2, kGradient = 3 };

struct BlockId {
  long iteration = 0;
  BlockKind kind = BlockKind::kWeights;
  int from = 0;
  int to = -1;

  static BlockId weights(long iteration, int shard) { return {iteration, BlockKind::kWeights, shard, -1}; }
  static BlockId state(long iteration, int shard) { return {iteration, BlockKind::kState, shard, shard}; }
  static BlockId gradient(long iteration, int partition, int shard) {
    return {iteration, BlockKind::kGradient, partition, shard};
  }

  auto operator<=>(const BlockId&) const = default;
  std::string describe() const;  // "G(3, 1, 2)"
  std::array<std::uint64_t, 4> encode() const;
  // Throws std::runtime_error on an unknown kind or out-of-range field.
  static BlockId decode(const std::array<std::uint64_t, 4>& words);
};

using Block = std::vector<std::byte>;

// A get that cannot be answered: the block is absent and will not come.
struct BlockMissing : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class BlockStore {
 public:
  explicit BlockStore(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Stores the block and wakes its waiters. A block already present is replaced by the
  // new one (a re-run task writes the same bytes). Throws std::runtime_error when the
  // store would exceed its capacity.
  void put(const BlockId& id, Block data);

  // The block, waiting for it until `deadline`. Throws BlockMissing when the deadline
  // passes, or while the store refuses waits (refuse_waits()) and the block is absent.
  std::shared_ptr<const Block> get(const BlockId& id, std::chrono::steady_clock::time_point deadline);
  std::shared_ptr<const Block> find(const BlockId& id) const;  // null when absent

  // Drops every block of an iteration below `iteration`.
  void evict_below(long iteration);

  // After a failed task, the blocks its executor would still have put will not come:
  // fail the waits for absent blocks (now and until accept_waits()), so the failure
  // cascades to dependent tasks instead of leaving them waiting.
  void refuse_waits(const std::string& reason);
  void accept_waits();

  std::size_t bytes() const;
  std::size_t peak_bytes() const;
  std::size_t blocks() const;
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<BlockId, std::shared_ptr<const Block>> blocks_;
  std::size_t bytes_ = 0, peak_ = 0;
  std::string refusing_;  // non-empty: why waits fail
};

}  // namespace syncbed::sync::tasks
