#include "core/transport/coordinator.h"

#include <fcntl.h>

#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/transport/error.h"
#include "core/transport/tcp/control_io.h"

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
  mutable std::mutex failure_mutex;
  std::string failure;  // set by fail_everyone

  void accept_next() {
    auto socket = std::make_shared<tcp::socket>(io);
    acceptor.async_accept(*socket, [self = shared_from_this(), socket](const error_code& ec) {
      if (ec == asio::error::operation_aborted || self->finished) return;  // rendezvous over
      if (ec) {
        // Out of file descriptors, typically: the ranks still to come can never register.
        const std::string reason =
            "the coordinator cannot accept connections: " + ec.message() +
            (ec == asio::error::no_descriptors ? " (raise the limit with `ulimit -n`: the coordinator holds one "
                                                 "connection per rank until all have registered)"
                                               : "");
        return self->fail_everyone(reason);
      }
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
    if (sockets[rank]) {
      const std::string reason =
          "rank " + std::to_string(rank) + " was claimed twice (by " + table[rank].to_string() + " and " +
          reg.listen.to_string() +
          "): two jobs share this coordinator's port; give each job its own MASTER_PORT or SYNCBED_TOKEN";
      refuse(socket, reason, true);
      return fail_everyone(reason);
    }
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
    fail_everyone("rendezvous timed out after " + seconds_text(timeout) + ": rank(s) " + missing + " never registered");
  }

  // Every rank that registered hears the reason; the owner sees it in wait() and failure().
  void fail_everyone(const std::string& reason) {
    log_line("coordinator: " + reason);
    for (auto& socket : sockets)
      if (socket)
        async_write_control(*socket, FrameKind::kError, kAnyRank, encode_text(reason), [socket](const error_code&) {
          error_code ignored;
          socket->close(ignored);
        });
    {
      std::lock_guard lock(failure_mutex);
      failure = reason;
    }
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
    // Not inherited by processes this one starts: they would keep the port open after we die.
    ::fcntl(s.acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
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

std::string Coordinator::failure() const {
  std::lock_guard lock(impl_->failure_mutex);
  return impl_->failure;
}

void Coordinator::wait() { impl_->result_future.get(); }

}  // namespace syncbed::net
