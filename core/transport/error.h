#pragma once

#include <stdexcept>
#include <string>

namespace syncbed::net {

// The one exception the transport API throws. When a peer is involved the message
// names its rank and address and the operation that failed.
class TransportError : public std::runtime_error {
 public:
  explicit TransportError(const std::string& what) : std::runtime_error(what) {}
  TransportError(int peer_rank, const std::string& peer_address, const std::string& operation,
                 const std::string& reason)
      : TransportError(peer_rank, describe(peer_rank, peer_address, operation, reason)) {}
  TransportError(int peer_rank, const std::string& what) : std::runtime_error(what), peer_rank_(peer_rank) {}

  static std::string describe(int peer_rank, const std::string& peer_address, const std::string& operation,
                              const std::string& reason) {
    return "rank " + std::to_string(peer_rank) + " (" + peer_address + "): " + operation + ": " + reason;
  }

  // -1 when the error does not concern one peer.
  int peer_rank() const { return peer_rank_; }

 private:
  int peer_rank_ = -1;
};

}  // namespace syncbed::net
