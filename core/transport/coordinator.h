// The rendezvous coordinator: collects every rank's listening address and hands the
// full table to all of them. Hosted by rank 0 or by the local launcher.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/transport/tcp/messages.h"

namespace syncbed::net {

class Coordinator {
 public:
  // Binds at once (throws TransportError if it cannot) and serves on its own thread.
  // Port 0 picks a free port; see port(). Connections without the job token, or that
  // do not speak the protocol, are refused and logged without affecting the job. A rank
  // claimed twice fails the whole rendezvous: two jobs share this port, and which
  // process belongs to which cannot be told.
  Coordinator(const Endpoint& bind, int world_size, std::string token, std::chrono::milliseconds timeout);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  std::uint16_t port() const;
  // Without blocking: why the rendezvous failed, or "" while it has not (yet).
  std::string failure() const;
  // Blocks until every rank has received the table; throws TransportError naming
  // the ranks that never registered if the timeout passed first.
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace syncbed::net
