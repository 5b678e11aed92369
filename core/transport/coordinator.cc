#include "core/transport/coordinator.h"

#include <future>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/transport/control_io.h"
#include "core/transport/error.h"

namespace syncbed::net {
struct Coordinator::Impl : std::enable_shared_from_this<Coordinator::Impl> {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer deadline{io};
  int world_size = 0;
  std::string token;
  std::chrono::milliseconds timeout{0};
  std::vector<std::shared_ptr<tcp::socket>> sockets;  // by rank
  std::vector<Endpoint> table;
  int registered = 0;
  int tables_sent = 0;
  bool finished = false;
  std::promise<void> result;
  std::future<void> result_future = result.get_future();
  std::uint16_t port = 0;
  std::thread thread;

  void accept_next() {
    auto socket = std::make_shared<tcp::socket>(io);
    acceptor.async_accept(*socket, [self = shared_from_this(), socket](const error_code& ec) {
      if (ec) return;  // acceptor closed: rendezvous over
      self->handshake(socket);
      self->accept_next();
    });
  }

  void refuse(const std::shared_ptr<tcp::socket>& socket, const std::string& reason, bool tell_peer) {
    refuse_connection(socket, "coordinator", kAnyRank, reason, tell_peer);
  }

  void handshake(const std::shared_ptr<tcp::socket>& socket) {
    auto timer = start_handshake_deadline(socket);
    async_read_control(*socket, [self = shared_from_this(), socket, timer](
                                    const std::string& error, const FrameHeader& header, const Bytes& payload) {
      timer->cancel();
      if (self->finished) return;
      if (!error.empty()) return self->refuse(socket, error, false);
      if (header.kind != FrameKind::kRegister)
        return self->refuse(socket, std::string("expected a register frame, got ") + to_string(header.kind), false);
      std::string why;
      const auto reg = decode_registration(payload, &why);
      if (!reg) return self->refuse(socket, why, false);
      if (reg->token != self->token) return self->refuse(socket, "wrong job token (SYNCBED_TOKEN)", true);
      self->admit(socket, header.source, *reg);
    });
  }

  void admit(const std::shared_ptr<tcp::socket>& socket, std::uint32_t rank, const Registration& reg) {
    if (static_cast<int>(reg.world_size) != world_size)
      return refuse(
          socket,
          "world size " + std::to_string(reg.world_size) + " does not match the job's " + std::to_string(world_size),
          true);
    if (rank >= static_cast<std::uint32_t>(world_size))
      return refuse(socket, "rank " + std::to_string(rank) + " is outside 0.." + std::to_string(world_size - 1), true);
    if (sockets[rank])
      return refuse(socket,
                    "rank " + std::to_string(rank) + " registered twice (second from " + reg.listen.to_string() + ")",
                    true);
    sockets[rank] = socket;
    table[rank] = reg.listen;
    if (++registered == world_size) publish();
  }

  void publish() {
    deadline.cancel();
    error_code ignored;
    acceptor.close(ignored);
    for (auto& socket : sockets) {
      async_write_control(*socket, FrameKind::kTable, kAnyRank, encode_table(table),
                          [self = shared_from_this(), socket](const error_code& ec) {
                            if (ec) log_line("coordinator: could not send the table: " + ec.message());
                            if (++self->tables_sent == self->world_size) self->finish(nullptr);
                          });
    }
  }

  void on_deadline() {
    std::string missing;
    for (int r = 0; r < world_size; ++r)
      if (!sockets[r]) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    const std::string reason =
        "rendezvous timed out after " + seconds_text(timeout) + ": rank(s) " + missing + " never registered";
    for (auto& socket : sockets)
      if (socket)
        async_write_control(*socket, FrameKind::kError, kAnyRank, encode_text(reason), [socket](const error_code&) {});
    finish(std::make_exception_ptr(TransportError(reason)));
  }

  void finish(std::exception_ptr error) {
    if (finished) return;
    finished = true;
    error_code ignored;
    acceptor.close(ignored);
    deadline.cancel();
    if (error)
      result.set_exception(error);
    else
      result.set_value();
  }
};

Coordinator::Coordinator(const Endpoint& bind, int world_size, std::string token, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  s.world_size = world_size;
  s.token = std::move(token);
  s.timeout = timeout;
  s.sockets.resize(world_size);
  s.table.resize(world_size);
  try {
    tcp::resolver resolver(s.io);
    const auto endpoint = *resolver.resolve(bind.host, std::to_string(bind.port)).begin();
    s.acceptor.open(endpoint.endpoint().protocol());
    s.acceptor.set_option(tcp::acceptor::reuse_address(true));
    s.acceptor.bind(endpoint.endpoint());
    s.acceptor.listen();
    s.port = s.acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw TransportError("coordinator: cannot listen on " + bind.to_string() + ": " + e.code().message());
  }
  // Handlers need shared_from_this; the owner is impl_, which outlives them because the
  // destructor joins the thread before the io_context (and its handlers) go away.
  std::shared_ptr<Impl> shared(impl_.get(), [](Impl*) {});
  s.deadline.expires_after(timeout);
  s.deadline.async_wait([shared](const error_code& ec) {
    if (!ec && !shared->finished) shared->on_deadline();
  });
  s.thread = std::thread([shared] {
    shared->accept_next();
    shared->io.run();
  });
}

Coordinator::~Coordinator() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t Coordinator::port() const { return impl_->port; }

void Coordinator::wait() { impl_->result_future.get(); }

}  // namespace syncbed::net
