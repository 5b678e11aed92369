// Small asynchronous helpers for the handshake phases (rendezvous, mesh set-up), where
// every frame is a short control frame and every step has a deadline.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/transport/request.h"
#include "core/transport/tcp/asio.h"
#include "core/transport/tcp/frame.h"
#include "core/transport/tcp/messages.h"

namespace syncbed::net {

// Reads one frame header and payload (control limits: a data frame is refused).
// done(error, header, payload): error is empty on success and otherwise says why.
using ControlHandler = std::function<void(const std::string& error, const FrameHeader&, const Bytes& payload)>;
void async_read_control(tcp::socket& socket, ControlHandler done);

void async_write_control(tcp::socket& socket, FrameKind kind, std::uint32_t source, Bytes payload,
                         std::function<void(const error_code&)> done);

// Runs handlers of io on this thread until done() or the deadline. Returns done().
bool run_until(asio::io_context& io, Clock::time_point deadline, const std::function<bool()>& done);

std::string describe_remote(const tcp::socket& socket);

// How long an incoming connection may take to present its first frame.
inline constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

// Closes socket unless the returned timer is cancelled within kHandshakeTimeout, so
// silent strays cannot pile up.
std::shared_ptr<asio::steady_timer> start_handshake_deadline(const std::shared_ptr<tcp::socket>& socket);

// Logs the refusal with the remote address, then closes the connection; with
// tell_peer the peer first gets an error frame carrying the reason.
void refuse_connection(const std::shared_ptr<tcp::socket>& socket, const std::string& who, std::uint32_t source,
                       const std::string& reason, bool tell_peer);
std::string seconds_text(std::chrono::milliseconds duration);  // "2.5 s"

// Applies TCP_NODELAY and socket buffer sizes (0 leaves the kernel's autotuning).
struct SocketTuning {
  bool no_delay = true;
  int send_buffer_bytes = 0;
  int recv_buffer_bytes = 0;
};
void tune_socket(tcp::socket& socket, const SocketTuning& tuning);

}  // namespace syncbed::net
