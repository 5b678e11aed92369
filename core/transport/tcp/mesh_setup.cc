#include "core/transport/tcp/mesh_setup.h"

#include <thread>

#include "core/log.h"

namespace syncbed::net {
namespace {

constexpr auto kFirstBackoff = std::chrono::milliseconds(20);
constexpr auto kMaxBackoff = std::chrono::milliseconds(500);

SocketTuning tuning_of(const MeshOptions& options) {
  return {options.tcp_no_delay, options.send_buffer_bytes, options.recv_buffer_bytes};
}

tcp::endpoint resolve(asio::io_context& io, const Endpoint& where, const std::string& what) {
  tcp::resolver resolver(io);
  error_code ec;
  const auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
  if (ec || results.empty())
    throw TransportError("cannot resolve " + what + " " + where.to_string() + ": " + ec.message());
  return results.begin()->endpoint();
}

bool is_unspecified(const std::string& host) { return host == "0.0.0.0" || host == "::" || host.empty(); }

// One connect attempt bounded by the deadline.
error_code connect_once(asio::io_context& io, tcp::socket& socket, const tcp::endpoint& endpoint,
                        const SocketTuning& tuning, Clock::time_point deadline) {
  error_code result = asio::error::timed_out;
  bool done = false;
  socket.open(endpoint.protocol());
  tune_socket(socket, tuning);
  socket.async_connect(endpoint, [&](const error_code& ec) {
    result = ec;
    done = true;
  });
  if (!run_until(io, deadline, [&] { return done; })) {
    error_code ignored;
    socket.close(ignored);
    run_until(io, Clock::time_point::max(), [&] { return done; });  // let the aborted handler run
  }
  return result;
}

tcp::acceptor open_listener(asio::io_context& io, const MeshOptions& options) {
  tcp::acceptor acceptor(io);
  try {
    const auto endpoint = resolve(io, {options.bind_address, 0}, "bind address");
    acceptor.open(endpoint.protocol());
    if (options.recv_buffer_bytes > 0)  // set before listen so accepted sockets inherit it and its window scale
      acceptor.set_option(asio::socket_base::receive_buffer_size(options.recv_buffer_bytes));
    acceptor.bind(endpoint);
    acceptor.listen();
  } catch (const boost::system::system_error& e) {
    throw TransportError("cannot listen on " + options.bind_address + ": " + e.code().message());
  }
  return acceptor;
}

std::vector<Endpoint> register_with_coordinator(asio::io_context& io, const RendezvousInfo& info,
                                                const MeshOptions& options, std::uint16_t listen_port,
                                                Clock::time_point deadline) {
  const auto coordinator = resolve(io, info.master, "coordinator address");
  const std::string where = "the coordinator at " + info.master.to_string();
  tcp::socket socket(io);
  for (auto backoff = kFirstBackoff;; backoff = std::min(backoff * 2, kMaxBackoff)) {
    const auto ec = connect_once(io, socket, coordinator, tuning_of(options), deadline);
    if (!ec) break;
    error_code ignored;
    socket.close(ignored);
    if (Clock::now() + backoff >= deadline)
      throw TransportError("rank " + std::to_string(info.rank) + " could not reach " + where + " within " +
                           seconds_text(options.rendezvous_timeout) + ": " + ec.message());
    std::this_thread::sleep_for(backoff);
  }

  Registration registration{
      info.token, static_cast<std::uint32_t>(info.world_size), {options.bind_address, listen_port}};
  if (is_unspecified(options.bind_address)) registration.listen.host = socket.local_endpoint().address().to_string();

  std::string failure;
  std::optional<std::vector<Endpoint>> table;
  bool done = false;
  async_write_control(socket, FrameKind::kRegister, static_cast<std::uint32_t>(info.rank),
                      encode_registration(registration), [&](const error_code& ec) {
                        if (ec) {
                          failure = "could not register with " + where + ": " + ec.message();
                          done = true;
                        }
                      });
  async_read_control(socket, [&](const std::string& error, const FrameHeader& header, const Bytes& payload) {
    done = true;
    if (!error.empty()) {
      failure = "no table from " + where + ": " + error;
    } else if (header.kind == FrameKind::kError) {
      failure = "rendezvous refused: " + decode_text(payload);
    } else if (header.kind != FrameKind::kTable) {
      failure = std::string("unexpected ") + to_string(header.kind) + " frame from " + where;
    } else {
      table = decode_table(payload, &failure);
      if (table && table->size() != static_cast<std::size_t>(info.world_size)) {
        failure = "the coordinator's table has " + std::to_string(table->size()) + " ranks, expected " +
                  std::to_string(info.world_size);
        table.reset();
      }
    }
  });
  if (!run_until(io, deadline, [&] { return done; }))
    throw TransportError("rank " + std::to_string(info.rank) + ": no table from " + where + " within " +
                         seconds_text(options.rendezvous_timeout) + " (did all " + std::to_string(info.world_size) +
                         " ranks start?)");
  if (!table) throw TransportError(failure);
  return *table;
}

// Lower ranks accept, higher ranks connect: rank r dials every rank below it. Each
// connection starts with a hello frame carrying the job token, answered by one.
class MeshConnector : public std::enable_shared_from_this<MeshConnector> {
 public:
  MeshConnector(asio::io_context& io, tcp::acceptor& acceptor, const RendezvousInfo& info, const MeshOptions& options,
                std::vector<tcp::endpoint> peers)
      : io_(io), acceptor_(acceptor), info_(info), tuning_(tuning_of(options)), peers_(std::move(peers)) {
    sockets_.resize(info.world_size);
  }

  void start() {
    if (info_.rank < info_.world_size - 1) accept_next();
    for (int peer = 0; peer < info_.rank; ++peer) dial(peer, kFirstBackoff);
  }

  bool done() const { return connected_ == info_.world_size - 1 || !fatal_.empty(); }
  const std::string& fatal() const { return fatal_; }

  // Stops accepting; handshakes still in flight are dropped when they complete.
  std::vector<std::optional<tcp::socket>> finish() {
    finished_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    return std::move(sockets_);
  }

  std::string missing_ranks(const std::vector<Endpoint>& table) const {
    std::string missing;
    for (int r = 0; r < info_.world_size; ++r)
      if (r != info_.rank && !sockets_[r])
        missing += (missing.empty() ? "" : ", ") + std::to_string(r) + " (" + table[r].to_string() + ")";
    return missing;
  }

 private:
  std::uint32_t self() const { return static_cast<std::uint32_t>(info_.rank); }

  void dial(int peer, std::chrono::milliseconds backoff) {
    auto socket = std::make_shared<tcp::socket>(io_);
    socket->open(peers_[peer].protocol());
    tune_socket(*socket, tuning_);
    socket->async_connect(peers_[peer], [self = shared_from_this(), socket, peer, backoff](const error_code& ec) {
      if (self->finished_) return;
      if (ec) return self->retry(peer, backoff);
      async_write_control(*socket, FrameKind::kHello, self->self(), encode_text(self->info_.token),
                          [](const error_code&) {});
      async_read_control(
          *socket, [self, socket, peer](const std::string& error, const FrameHeader& header, const Bytes& payload) {
            if (self->finished_) return;
            if (!error.empty())
              self->fatal_ = "handshake with rank " + std::to_string(peer) + " failed: " + error;
            else if (header.kind == FrameKind::kError)
              self->fatal_ = "rank " + std::to_string(peer) + " refused our handshake: " + decode_text(payload);
            else if (header.kind != FrameKind::kHello || header.source != static_cast<std::uint32_t>(peer) ||
                     decode_text(payload) != self->info_.token)
              self->fatal_ = "the process at rank " + std::to_string(peer) + "'s address is not rank " +
                             std::to_string(peer) + " of this job";
            else
              self->adopt(peer, std::move(*socket));
          });
    });
  }

  void retry(int peer, std::chrono::milliseconds backoff) {
    auto timer = std::make_shared<asio::steady_timer>(io_, backoff);
    timer->async_wait([self = shared_from_this(), timer, peer, backoff](const error_code&) {
      if (!self->finished_) self->dial(peer, std::min(backoff * 2, std::chrono::milliseconds(kMaxBackoff)));
    });
  }

  void accept_next() {
    auto socket = std::make_shared<tcp::socket>(io_);
    acceptor_.async_accept(*socket, [self = shared_from_this(), socket](const error_code& ec) {
      if (ec || self->finished_) return;
      tune_socket(*socket, self->tuning_);
      self->answer(socket);
      self->accept_next();
    });
  }

  void refuse(const std::shared_ptr<tcp::socket>& socket, const std::string& reason, bool tell_peer) {
    refuse_connection(socket, "rank " + std::to_string(info_.rank), self(), reason, tell_peer);
  }

  void answer(const std::shared_ptr<tcp::socket>& socket) {
    auto timer = start_handshake_deadline(socket);
    async_read_control(*socket, [self = shared_from_this(), socket, timer](
                                    const std::string& error, const FrameHeader& header, const Bytes& payload) {
      timer->cancel();
      if (self->finished_) return;
      if (!error.empty()) return self->refuse(socket, error, false);
      if (header.kind != FrameKind::kHello)
        return self->refuse(socket, std::string("expected a hello frame, got ") + to_string(header.kind), false);
      if (decode_text(payload) != self->info_.token)
        return self->refuse(socket, "wrong job token (SYNCBED_TOKEN)", true);
      const auto peer = header.source;
      if (peer <= self->self() || peer >= static_cast<std::uint32_t>(self->info_.world_size))
        return self->refuse(
            socket, "rank " + std::to_string(peer) + " should not dial rank " + std::to_string(self->self()), true);
      if (self->sockets_[peer]) return self->refuse(socket, "rank " + std::to_string(peer) + " connected twice", true);
      async_write_control(*socket, FrameKind::kHello, self->self(), encode_text(self->info_.token),
                          [self, socket, peer](const error_code& ec) {
                            if (self->finished_) return;
                            if (ec) return self->refuse(socket, "hello reply failed: " + ec.message(), false);
                            if (!self->sockets_[peer]) self->adopt(static_cast<int>(peer), std::move(*socket));
                          });
    });
  }

  void adopt(int peer, tcp::socket socket) {
    sockets_[peer].emplace(std::move(socket));
    ++connected_;
  }

  asio::io_context& io_;
  tcp::acceptor& acceptor_;
  const RendezvousInfo info_;
  const SocketTuning tuning_;
  const std::vector<tcp::endpoint> peers_;
  std::vector<std::optional<tcp::socket>> sockets_;
  int connected_ = 0;
  bool finished_ = false;
  std::string fatal_;
};

}  // namespace

EstablishedMesh establish_mesh(asio::io_context& io, const RendezvousInfo& info, const MeshOptions& options) {
  const auto deadline = Clock::now() + options.rendezvous_timeout;
  tcp::acceptor acceptor = open_listener(io, options);
  EstablishedMesh mesh;
  mesh.table = register_with_coordinator(io, info, options, acceptor.local_endpoint().port(), deadline);
  if (options.on_table) options.on_table(mesh.table);

  std::vector<tcp::endpoint> peers;
  for (int r = 0; r < info.world_size; ++r)
    peers.push_back(r == info.rank ? tcp::endpoint{} : resolve(io, mesh.table[r], "rank " + std::to_string(r)));
  auto connector = std::make_shared<MeshConnector>(io, acceptor, info, options, std::move(peers));
  connector->start();
  const bool done = run_until(io, deadline, [&] { return connector->done(); });
  if (!connector->fatal().empty())
    throw TransportError("rank " + std::to_string(info.rank) + ": " + connector->fatal());
  if (!done)
    throw TransportError("rank " + std::to_string(info.rank) + ": could not connect to rank(s) " +
                         connector->missing_ranks(mesh.table) + " within " + seconds_text(options.rendezvous_timeout));
  mesh.sockets = connector->finish();
  return mesh;
}

}  // namespace syncbed::net
