#include "sync/tasks/block_service.h"

#include <array>
#include <cstring>
#include <optional>

#include "core/transport/error.h"
#include "sync/tasks/tags.h"

namespace syncbed::sync::tasks {
namespace {

enum class Op : std::uint64_t { kGet = 1, kPut = 2, kStop = 3 };

// op, block id (4 words), bytes
using RequestWords = std::array<std::uint64_t, 6>;

RequestWords request(Op op, const BlockId& id, std::size_t bytes) {
  const auto words = id.encode();
  return {static_cast<std::uint64_t>(op), words[0], words[1], words[2], words[3], bytes};
}

// The status of a get or put: empty message = success. An empty block (a dropped
// task's output) is answered with `empty` set and an empty data frame.
struct Reply {
  static constexpr std::size_t kBytes = 256;
  std::uint8_t empty = 0;
  std::array<char, kBytes - 1> text{};

  static Reply ok() { return {}; }
  static Reply failure(const std::string& message) {
    Reply reply;
    const std::string m = message.empty() ? "failed" : message;
    std::memcpy(reply.text.data(), m.data(), std::min(m.size(), kBytes - 2));
    return reply;
  }
  std::string error() const { return std::string(text.data(), strnlen(text.data(), text.size())); }
  std::span<std::byte> bytes() { return std::as_writable_bytes(std::span(this, 1)); }
};
static_assert(sizeof(Reply) == Reply::kBytes);

// A block may be empty (a dropped task's output) or exactly the size asked for.
void check_size(const BlockId& id, const Block& block, std::size_t bytes) {
  if (!block.empty() && block.size() != bytes)
    throw std::runtime_error(id.describe() + " holds " + std::to_string(block.size()) + " bytes, not " +
                             std::to_string(bytes));
}

constexpr auto kForever = std::chrono::hours(24 * 365);

}  // namespace

BlockService::BlockService(net::Mesh& mesh, BlockStore& store, std::vector<int> peers,
                           std::chrono::milliseconds wait_for_block)
    : mesh_(mesh), store_(store), wait_for_block_(wait_for_block) {
  for (int peer : peers) threads_.emplace_back([this, peer] { serve(peer); });
}

BlockService::~BlockService() {
  for (auto& thread : threads_) thread.join();
}

void BlockService::serve(int peer) {
  try {
    while (true) {
      RequestWords words{};
      // Idle between requests for as long as the job runs; a lost peer fails the wait.
      mesh_.recv(peer, kBlockRequestTag, std::span<std::uint64_t>(words)).wait_for(kForever);
      const auto op = static_cast<Op>(words[0]);
      if (op == Op::kStop) return;
      std::optional<BlockId> id;
      Reply reply;
      try {
        if (op != Op::kGet && op != Op::kPut) throw std::runtime_error("unknown request " + std::to_string(words[0]));
        id = BlockId::decode({words[1], words[2], words[3], words[4]});
      } catch (const std::exception& e) {
        // A malformed request means this peer speaks another protocol: stop serving it.
        throw std::runtime_error("rank " + std::to_string(peer) + " sent a bad block request: " + e.what());
      }
      const std::size_t bytes = words[5];
      if (op == Op::kPut) {
        Block data(bytes);
        mesh_.recv(peer, kBlockPutDataTag, std::span<std::byte>(data)).wait();
        try {
          store_.put(*id, std::move(data));
        } catch (const std::exception& e) {
          reply = Reply::failure(e.what());
        }
        mesh_.send(peer, kBlockPutAckTag, reply.bytes()).wait();
        continue;
      }
      std::shared_ptr<const Block> block;
      try {
        block = store_.get(*id, std::chrono::steady_clock::now() + wait_for_block_);
        check_size(*id, *block, bytes);
        reply.empty = block->empty() && bytes > 0;
      } catch (const std::exception& e) {
        reply = Reply::failure(e.what());
        block.reset();
      }
      auto status = mesh_.send(peer, kBlockReplyTag, reply.bytes());
      auto data =
          mesh_.send(peer, kBlockDataTag, block ? std::span<const std::byte>(*block) : std::span<const std::byte>());
      status.wait();
      data.wait();
    }
  } catch (const std::exception&) {
    // The peer is gone (or broke the protocol); whoever depends on it learns from
    // their own operations. Nothing more to serve it.
  }
}

void BlockClient::accept_empty(const Fetch& fetch, bool empty) {
  if (empty && !fetch.empty) throw std::runtime_error(fetch.id.describe() + " is empty (its task was dropped)");
  if (fetch.empty) *fetch.empty = empty;
}

void BlockClient::fetch(const std::vector<Fetch>& fetches) {
  struct Pending {
    const Fetch* fetch;
    RequestWords words;
    Reply reply;
    net::Request sent, status, data;
  };
  std::vector<Pending> pending;
  pending.reserve(fetches.size());
  for (const auto& f : fetches) {
    if (f.from == mesh_.rank()) continue;
    auto& p = pending.emplace_back(Pending{&f, request(Op::kGet, f.id, f.into.size()), {}, {}, {}, {}});
    p.sent = mesh_.send(f.from, kBlockRequestTag, std::span<const std::uint64_t>(p.words));
    p.status = mesh_.recv(f.from, kBlockReplyTag, p.reply.bytes());
    p.data = mesh_.recv(f.from, kBlockDataTag, f.into);
  }
  std::string first_error;
  // Local blocks while the remote ones travel.
  for (const auto& f : fetches) {
    if (f.from != mesh_.rank()) continue;
    try {
      if (!local_) throw std::logic_error("no local block store");
      auto block = local_->get(f.id, std::chrono::steady_clock::now() + wait_for_block_);
      check_size(f.id, *block, f.into.size());
      accept_empty(f, block->empty() && !f.into.empty());
      if (!block->empty()) std::memcpy(f.into.data(), block->data(), block->size());
    } catch (const std::exception& e) {
      if (first_error.empty()) first_error = std::string("local ") + e.what();
    }
  }
  for (auto& p : pending) {
    try {
      p.sent.wait();
      p.status.wait();
      const std::string error = p.reply.error();
      try {
        p.data.wait();  // an empty frame after a failure or for an empty block: a size mismatch, expected
      } catch (const net::TransportError&) {
        if (error.empty() && !p.reply.empty) throw;
      }
      if (!error.empty()) throw BlockTransferError(error);
      accept_empty(*p.fetch, p.reply.empty != 0);
    } catch (const std::exception& e) {
      if (first_error.empty())
        first_error =
            "fetching " + p.fetch->id.describe() + " from rank " + std::to_string(p.fetch->from) + ": " + e.what();
    }
  }
  if (!first_error.empty()) throw BlockTransferError(first_error);
}

void BlockClient::put_remote(int to, const BlockId& id, std::span<const std::byte> data) {
  const RequestWords words = request(Op::kPut, id, data.size());
  Reply reply;
  auto sent = mesh_.send(to, kBlockRequestTag, std::span<const std::uint64_t>(words));
  auto payload = mesh_.send(to, kBlockPutDataTag, data);
  auto ack = mesh_.recv(to, kBlockPutAckTag, reply.bytes());
  try {
    sent.wait();
    payload.wait();
    ack.wait();
  } catch (const std::exception& e) {
    throw BlockTransferError("storing " + id.describe() + " on rank " + std::to_string(to) + ": " + e.what());
  }
  if (const std::string error = reply.error(); !error.empty())
    throw BlockTransferError("storing " + id.describe() + " on rank " + std::to_string(to) + ": " + error);
}

void BlockClient::stop(const std::vector<int>& ranks) {
  const RequestWords words = request(Op::kStop, BlockId{}, 0);
  for (int rank : ranks) {
    try {
      mesh_.send(rank, kBlockRequestTag, std::span<const std::uint64_t>(words)).wait();
    } catch (const std::exception&) {
      // already gone: nothing to stop
    }
  }
}

}  // namespace syncbed::sync::tasks
