// A full mesh of authenticated TCP connections between all ranks of a job, and the
// API algorithms use: non-blocking tagged send/recv returning handles to wait on.
//
// Messages between two ranks with the same tag arrive in the order they were sent.
// A receive lands directly in the posted buffer when it is posted before the frame
// arrives; otherwise the frame waits in a bounded per-peer queue. Buffers passed to
// send/recv must stay valid until the handle's wait returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/transport/error.h"
#include "core/transport/rendezvous.h"
#include "core/transport/request.h"
#include "core/transport/tcp/messages.h"

namespace syncbed::net {

struct MeshOptions {
  // Listen address for mesh connections. 0.0.0.0 listens everywhere and advertises the
  // address this host uses to reach the coordinator.
  std::string bind_address = "127.0.0.1";
  std::chrono::milliseconds rendezvous_timeout{60'000};  // register + connect the mesh
  std::chrono::milliseconds op_timeout{60'000};          // default deadline of Request::wait()
  std::chrono::milliseconds close_timeout{10'000};       // waiting for peers' goodbyes
  // A peer silent this long (idle connections carry heartbeats) is declared lost. Keep
  // it below op_timeout, so a stalled rank is blamed rather than the ranks waiting on it.
  std::chrono::milliseconds peer_silence_timeout{30'000};
  // A wait this long logs what it is waiting for (peer, tag, iteration), and again after
  // each further stall_warn. 0: a tenth of op_timeout.
  std::chrono::milliseconds stall_warn{0};
  std::uint64_t max_payload = std::uint64_t{1} << 30;
  std::size_t max_parked_bytes = std::size_t{256} << 20;
  // A large frame that arrives while its connection has no recv posted stays in the
  // kernel this long before it is parked (ConnectionLimits::early_frame_wait).
  std::chrono::milliseconds early_frame_wait{50};
  // A large payload's reader is woken when this many of its bytes have arrived
  // (ConnectionLimits::read_low_water). 0: at every packet.
  std::size_t read_low_water = std::size_t{1} << 20;
  bool tcp_no_delay = true;
  int send_buffer_bytes = 0;  // 0: kernel autotuning
  int recv_buffer_bytes = 0;
  // Called with every rank's listening endpoint once the coordinator has sent the
  // table, before the mesh connects (for logging and for tests).
  std::function<void(const std::vector<Endpoint>&)> on_table;
};

class Mesh {
 public:
  // Registers with the coordinator (hosting it first when info.host_coordinator),
  // then connects to every other rank. Throws TransportError on failure or timeout,
  // naming the ranks that could not be reached.
  static std::unique_ptr<Mesh> connect(const RendezvousInfo& info, const MeshOptions& options = {});

  // Says goodbye to every peer and waits (bounded) for theirs, so no rank loses frames
  // it was still owed. Pending operations fail.
  ~Mesh();
  Mesh(const Mesh&) = delete;
  Mesh& operator=(const Mesh&) = delete;

  // This rank is giving up because of an error of its own (not a peer's): when the mesh
  // closes, every peer is told `reason` instead of a plain goodbye, so each survivor
  // names the root cause rather than "the peer closed the connection". A mesh destroyed
  // while an exception unwinds does the same with a generic reason.
  void abort(const std::string& reason);

  int rank() const;
  int size() const;
  const Endpoint& endpoint(int rank) const;
  const MeshOptions& options() const;

  Request send(int peer, std::uint64_t tag, std::span<const std::byte> data);
  Request recv(int peer, std::uint64_t tag, std::span<std::byte> data);

  template <typename T>
  Request send(int peer, std::uint64_t tag, std::span<const T> data) {
    return send(peer, tag, std::as_bytes(data));
  }
  template <typename T>
  Request recv(int peer, std::uint64_t tag, std::span<T> data) {
    return recv(peer, tag, std::as_writable_bytes(data));
  }

  struct Impl;

 private:
  explicit Mesh(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace syncbed::net
