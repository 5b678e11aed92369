// Point-to-point throughput between rank 0 (sender) and rank 1 (receiver).
//
// Rank 0 announces a batch (message size, count) on a control tag, streams `count`
// messages back to back, and stops the clock when rank 1 acknowledges the whole
// batch. Batches are large (>= 64 MiB) so the one round trip per batch is noise.
//
// And latency, as osu_latency measures it: rank 0 sends one message, rank 1 sends it
// back, `count` times in a row; one-way latency is half a round trip.
#pragma once

#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "core/transport/mesh.h"

namespace syncbed::experiments {

struct P2pBatch {
  std::uint64_t message_bytes = 0;
  std::uint64_t count = 0;
  double seconds = 0;
  double gbytes_per_second() const { return seconds > 0 ? message_bytes * count / seconds / 1e9 : 0; }
};

// Messages per batch for a given size: enough to move at least 64 MiB.
std::uint64_t p2p_batch_count(std::uint64_t message_bytes);

class P2pSender {
 public:
  P2pSender(net::Mesh& mesh, std::uint64_t max_message_bytes);
  // Throws TransportError, or std::runtime_error if the receiver saw wrong bytes.
  // The receiver checks the batch's last message: every byte when asked (use it for
  // untimed warm-up batches), otherwise a sample of ~4096 positions.
  P2pBatch run_batch(std::uint64_t message_bytes, std::uint64_t count, bool check_every_byte = false);

 private:
  net::Mesh& mesh_;
  AlignedBuffer<std::byte> buffer_;
  std::uint64_t batches_ = 0;
};

// Serves batches and ping-pongs until rank 0 stops it, reporting each batch's check in its ack.
void run_p2p_receiver(net::Mesh& mesh, std::uint64_t max_message_bytes);
// Rank 0: ends the receiver's loop.
void stop_p2p_receiver(net::Mesh& mesh);

struct PingPong {
  std::uint64_t message_bytes = 0;
  std::vector<double> round_trip_s;  // one per timed round trip, in order
};

// Rank 0's side: `warmup` untimed then `count` timed round trips of one message; throws
// std::runtime_error if a message came back changed.
PingPong run_pingpong(net::Mesh& mesh, std::uint64_t message_bytes, std::uint64_t warmup, std::uint64_t count);

}  // namespace syncbed::experiments
