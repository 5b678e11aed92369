// One parameter-server shard. It holds the fp32 weights of its key range and
// range-sized optimizer state, and serves rounds (sync/ps/ps_protocol.h) until every
// worker has stopped. A co-located server runs this on its own thread; a separate
// server process runs it on the main thread.
#pragma once

#include <functional>

#include "core/optimizer.h"
#include "core/state_bytes.h"
#include "sync/ps/ps_local_channel.h"
#include "sync/ps/ps_protocol.h"
#include "sync/sync_options.h"

namespace syncbed::sync {

class PsServer {
 public:
  // local: the channel to the worker on this rank when the server is co-located. With
  // options.overlap on, steps come in pieces (sync/ps/ps_protocol.h).
  PsServer(net::Mesh& mesh, const PsLayout& layout, int index, const SyncOptions& options, PsLocalChannel* local);

  // Returns once every worker has sent kStop (or the co-located worker kAbort); throws
  // on a transport failure or a protocol violation, naming the worker. after_round, if
  // set, runs after each round with the count of rounds served.
  void run(const std::function<void(std::uint64_t rounds)>& after_round = {});

  // Checkpoints, between rounds: the weights, the optimizer state and whether worker 0
  // has seeded them. The round count is kept by the caller (for a co-located server it
  // is its worker's count of pushes), and given back to restore() before run().
  void save(StateWriter& out) const;
  void restore(StateReader& in, std::uint64_t rounds);
  std::uint64_t rounds() const { return round_; }

 private:
  struct Inbox;  // the pending receives from remote workers

  void check_round(const std::vector<PsIntent>& intents) const;
  // Sums the workers' pushes of `part` (relative to the key range) in rank order into sum_.
  template <typename PieceOf>
  void sum_pushes(ShardRange part, PieceOf&& piece_of);
  // A step in pieces: each piece summed, updated and returned once every worker sent it.
  // False if the co-located worker aborted.
  bool step_in_pieces(Inbox& inbox);
  std::string describe(int worker, const PsIntent& intent) const;

  net::Mesh& mesh_;
  PsLayout layout_;
  int index_;
  ShardRange keys_;
  int local_worker_;  // -1 when separate
  PsLocalChannel* local_;
  bool steps_in_pieces_;
  std::vector<ShardRange> pieces_;  // relative to keys_, in the order workers send them
  Optimizer optimizer_;
  AlignedBuffer<float> weights_;
  AlignedBuffer<float> sum_;
  AlignedBuffer<float> incoming_;         // one key-range slot per worker
  AlignedBuffer<float> incoming_pieces_;  // the same for the pieces of steps
  bool initialized_ = false;
  std::uint64_t round_ = 0;
};

}  // namespace syncbed::sync
