#include "core/transport/tcp/control_io.h"

#include <cstdio>
#include <memory>

#include "core/log.h"

namespace syncbed::net {

void async_read_control(tcp::socket& socket, ControlHandler done) {
  struct State {
    HeaderBytes header_bytes{};
    FrameHeader header;
    Bytes payload;
    ControlHandler done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  asio::async_read(socket, asio::buffer(state->header_bytes), [&socket, state](const error_code& ec, std::size_t) {
    if (ec) return state->done("connection closed before a complete header: " + ec.message(), {}, {});
    const auto decoded = decode_header(state->header_bytes, {kMaxControlPayload, kAnyRank});
    if (!decoded.header) return state->done(decoded.error, {}, {});
    if (decoded.header->kind == FrameKind::kData) return state->done("data frame before the handshake", {}, {});
    state->header = *decoded.header;
    state->payload.resize(state->header.length);
    asio::async_read(socket, asio::buffer(state->payload), [state](const error_code& ec2, std::size_t) {
      if (ec2) return state->done("connection closed inside a frame: " + ec2.message(), {}, {});
      state->done({}, state->header, state->payload);
    });
  });
}

void async_write_control(tcp::socket& socket, FrameKind kind, std::uint32_t source, Bytes payload,
                         std::function<void(const error_code&)> done) {
  struct State {
    HeaderBytes header;
    Bytes payload;
  };
  auto state = std::make_shared<State>();
  state->header = encode_header({kind, source, 0, payload.size()});
  state->payload = std::move(payload);
  const std::array<asio::const_buffer, 2> gather{asio::buffer(state->header), asio::buffer(state->payload)};
  asio::async_write(socket, gather, [state, done = std::move(done)](const error_code& ec, std::size_t) { done(ec); });
}

bool run_until(asio::io_context& io, Clock::time_point deadline, const std::function<bool()>& done) {
  io.restart();
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    if (io.run_one_until(deadline) == 0 && io.stopped()) {
      if (done()) return true;
      // Out of work without being done: nothing more can happen.
      return false;
    }
  }
  return true;
}

std::string describe_remote(const tcp::socket& socket) {
  error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return "an unknown address";
  return remote.address().to_string() + ":" + std::to_string(remote.port());
}

std::shared_ptr<asio::steady_timer> start_handshake_deadline(const std::shared_ptr<tcp::socket>& socket) {
  auto timer = std::make_shared<asio::steady_timer>(socket->get_executor(), kHandshakeTimeout);
  timer->async_wait([socket](const error_code& ec) {
    error_code ignored;
    if (!ec) socket->close(ignored);
  });
  return timer;
}

void refuse_connection(const std::shared_ptr<tcp::socket>& socket, const std::string& who, std::uint32_t source,
                       const std::string& reason, bool tell_peer) {
  log_line(who + " refused a connection from " + describe_remote(*socket) + ": " + reason);
  auto close = [socket](const error_code& = {}) {
    error_code ignored;
    socket->close(ignored);
  };
  if (!tell_peer) return close();
  async_write_control(*socket, FrameKind::kError, source, encode_text(who + ": " + reason), close);
}

std::string seconds_text(std::chrono::milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

void tune_socket(tcp::socket& socket, const SocketTuning& tuning) {
  error_code ignored;
  socket.set_option(tcp::no_delay(tuning.no_delay), ignored);
  if (tuning.send_buffer_bytes > 0)
    socket.set_option(asio::socket_base::send_buffer_size(tuning.send_buffer_bytes), ignored);
  if (tuning.recv_buffer_bytes > 0)
    socket.set_option(asio::socket_base::receive_buffer_size(tuning.recv_buffer_bytes), ignored);
}

}  // namespace syncbed::net
