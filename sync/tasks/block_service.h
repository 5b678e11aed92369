// The block store served over the shared transport. Every rank that may ask (the other
// executors and the driver) gets a serving thread on the store's executor, because the
// mesh receives from one named peer at a time. Requests from one peer are answered in
// order:
//   get(id, bytes)   waits (bounded) for the block, replies a status and then the data
//                    (an empty data frame on failure, so the reply stream stays in step)
//   put(id, bytes)   the data follows; replies a status (a replica written remotely)
//   stop             that peer will ask nothing more: its serving thread ends
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/transport/mesh.h"
#include "sync/tasks/block_store.h"

namespace syncbed::sync::tasks {

// A block that could not be fetched or stored remotely, naming the peer and the block.
struct BlockTransferError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class BlockService {
 public:
  // Serves `store` to every rank in `peers`. A get for an absent block waits at most
  // `wait_for_block`; keep it below the mesh's operation timeout.
  BlockService(net::Mesh& mesh, BlockStore& store, std::vector<int> peers, std::chrono::milliseconds wait_for_block);
  // Waits for every peer's stop (or loss) before returning.
  ~BlockService();
  BlockService(const BlockService&) = delete;
  BlockService& operator=(const BlockService&) = delete;

 private:
  void serve(int peer);

  net::Mesh& mesh_;
  BlockStore& store_;
  std::chrono::milliseconds wait_for_block_;
  std::vector<std::thread> threads_;
};

// One block to fetch into `into` (exactly the block's size) from rank `from`. With
// `empty` set, an empty block (a dropped task's output) is accepted and flagged there;
// without, it is an error.
struct Fetch {
  int from = 0;
  BlockId id;
  std::span<std::byte> into;
  bool* empty = nullptr;
};

// The requesting side. Gets from one rank to another travel in order, so several may be
// in flight at once; a failed fetch still drains every reply it was owed.
class BlockClient {
 public:
  // `local` is this rank's own store (null on the driver).
  BlockClient(net::Mesh& mesh, BlockStore* local, std::chrono::milliseconds wait_for_block)
      : mesh_(mesh), local_(local), wait_for_block_(wait_for_block) {}

  // All fetches at once; throws BlockTransferError (or BlockMissing for a local block)
  // naming the first that failed, after every reply has come in.
  void fetch(const std::vector<Fetch>& fetches);
  // Stores a copy of the block in rank `to`'s store.
  void put_remote(int to, const BlockId& id, std::span<const std::byte> data);
  // Tells each rank's service that this rank is done asking (ranks already gone are skipped).
  void stop(const std::vector<int>& ranks);

 private:
  static void accept_empty(const Fetch& fetch, bool empty);

  net::Mesh& mesh_;
  BlockStore* local_;
  std::chrono::milliseconds wait_for_block_;
};

}  // namespace syncbed::sync::tasks
