// Small reports to rank 0 over the mesh (times, checksums, metric sums) that need no
// sync strategy: ranks 1..ranks-1 send theirs, rank 0 visits each in rank order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/transport/mesh.h"

namespace syncbed::experiments {

// On rank 0 calls visit(peer, theirs) for peers 1..ranks-1; every `theirs` has mine.size()
// elements. On other ranks sends `mine` to rank 0 and returns.
template <typename T, typename Visit>
void gather_at_rank0(net::Mesh& mesh, int ranks, std::uint64_t tag, std::span<const T> mine, Visit visit) {
  if (mesh.rank() != 0) {
    mesh.send(0, tag, mine).wait();
    return;
  }
  std::vector<T> theirs(mine.size());
  for (int peer = 1; peer < ranks; ++peer) {
    mesh.recv(peer, tag, std::span<T>(theirs)).wait();
    visit(peer, std::span<const T>(theirs));
  }
}

}  // namespace syncbed::experiments
