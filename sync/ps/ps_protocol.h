// Roles and messages of the parameter-server strategy (sync/ps/parameter_server.h).
//
// Workers are ranks 0..W-1. S servers each own one contiguous key range: BigDL's
// partition of the P parameters over S. A co-located server s runs as a thread on
// worker s (so S <= W); a separate server s is its own process, rank W+s.
//
// Every exchange between a worker and a server is a *round*. The worker sends an
// intent (kind, round) and, unless it is stopping, its key range of the vector; the
// server waits for all W workers' pushes of the round, sums them in rank order, and
// sends every worker the result: its updated weights (step) or the sum (sum).
//
// With overlap a step's round comes in pieces: a piece is one bucket's part of the
// server's key range (PsLayout::pieces). The worker sends the intent when the step
// begins, then each piece as backward finishes its bucket; the server sums, updates and
// returns each piece as soon as every worker has sent it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/transport/mesh.h"
#include "core/transport/tags.h"
#include "sync/parameter_sync.h"

namespace syncbed::sync {

enum class PsKind : std::uint64_t {
  kStep = 1,   // apply the optimizer to the summed gradient, return the weights
  kSum = 2,    // return the sum
  kInit = 3,   // worker 0 only, before its first step: the initial weights
  kStop = 4,   // this worker is done; the server ends when all have stopped
  kAbort = 5,  // in-process only: the co-located worker failed, end now
};

struct PsIntent {
  PsKind kind = PsKind::kStop;
  std::uint64_t round = 0;

  std::array<std::uint64_t, 2> encode() const { return {static_cast<std::uint64_t>(kind), round}; }
  static PsIntent decode(const std::array<std::uint64_t, 2>& words, int worker) {
    if (words[0] < 1 || words[0] > 4)
      throw std::runtime_error("parameter server: worker " + std::to_string(worker) + " sent unknown request kind " +
                               std::to_string(words[0]));
    return {static_cast<PsKind>(words[0]), words[1]};
  }
};

inline constexpr std::uint64_t kPsIntentTag = net::make_tag(net::TagSpace::kStrategy, 1);
inline constexpr std::uint64_t kPsPushTag = net::make_tag(net::TagSpace::kStrategy, 2);
inline constexpr std::uint64_t kPsResultTag = net::make_tag(net::TagSpace::kStrategy, 3);
inline constexpr std::uint64_t kPsPieceTag = net::make_tag(net::TagSpace::kStrategy, 4);

struct PsLayout {
  int workers = 1;
  int servers = 1;
  bool separate = false;
  std::size_t parameters = 0;

  // Checks the options against the mesh; throws std::invalid_argument naming the field.
  static PsLayout of(const net::Mesh& mesh, const SyncOptions& options) {
    PsLayout layout;
    layout.parameters = options.parameters;
    layout.separate = options.ps.separate_servers;
    const int world = mesh.size();
    if (layout.separate) {
      layout.servers = options.ps.servers;
      if (layout.servers < 1 || layout.servers >= world)
        throw std::invalid_argument("ps_servers: separate servers need 1 <= servers < world size (" +
                                    std::to_string(world) + "), got " + std::to_string(options.ps.servers));
      layout.workers = world - layout.servers;
    } else {
      layout.workers = world;
      layout.servers = options.ps.servers == 0 ? world : options.ps.servers;
      if (layout.servers < 1 || layout.servers > world)
        throw std::invalid_argument("ps_servers: co-located servers need 1 <= servers <= workers (" +
                                    std::to_string(world) + "), got " + std::to_string(options.ps.servers));
    }
    return layout;
  }

  int server_rank(int server) const { return separate ? workers + server : server; }
  // The server this rank hosts, or -1.
  int server_hosted_by(int rank) const {
    const int server = separate ? rank - workers : rank;
    return server >= 0 && server < servers ? server : -1;
  }
  ShardRange keys(int server) const { return shard_range(parameters, servers, server); }
  // The part of `bucket` in server's key range, relative to the range's start; empty
  // when they do not meet.
  ShardRange piece(int server, ShardRange bucket) const {
    const ShardRange range = keys(server);
    const std::size_t begin = std::max(range.begin, bucket.begin), end = std::min(range.end(), bucket.end());
    return end > begin ? ShardRange{begin - range.begin, end - begin} : ShardRange{};
  }
  // A step's pieces for server, in bucket order (sync::buckets), the empty ones left out.
  std::vector<ShardRange> pieces(int server, const std::vector<ShardRange>& buckets) const {
    std::vector<ShardRange> result;
    for (const ShardRange& bucket : buckets)
      if (const ShardRange part = piece(server, bucket); part.size) result.push_back(part);
    return result;
  }
};

}  // namespace syncbed::sync
