#include "core/transport/mesh.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "core/trace.h"
#include "core/transport/coordinator.h"
#include "core/transport/tcp/asio.h"
#include "core/transport/tcp/connection.h"
#include "core/transport/tcp/control_io.h"
#include "core/transport/tcp/mesh_setup.h"
#include "core/transport/tcp/progress.h"

namespace syncbed::net {

struct Mesh::Impl : std::enable_shared_from_this<Mesh::Impl> {
  // Owns the io_context; declared first: destroyed last, after the connections.
  std::shared_ptr<Progress> progress = std::make_shared<Progress>();
  int rank = 0;
  int world_size = 1;
  MeshOptions options;
  std::vector<Endpoint> table;
  std::vector<std::shared_ptr<Connection>> peers;  // null at our own rank
  // Both touched only by the thread holding the progress engine.
  std::shared_ptr<std::string> first_failure = std::make_shared<std::string>();
  std::string own_error;  // Mesh::abort's reason
  // Whether the abort came before any connection failed: then the failures that follow
  // (e.g. its receives dropped mid-message) are its consequences, not its cause.
  bool own_error_first = false;

  // Runs fn where it may touch the connections: holding the progress engine.
  void run_on_io(const std::function<void()>& fn) { progress->run_exclusive(fn); }

  std::shared_ptr<Operation> make_operation(Operation::Kind kind, int peer, std::uint64_t tag) {
    if (peer < 0 || peer >= world_size || peer == rank)
      throw TransportError(std::string(kind == Operation::Kind::kSend ? "send" : "recv") + ": rank " +
                           std::to_string(peer) + " is not a peer of rank " + std::to_string(rank) + " in a world of " +
                           std::to_string(world_size));
    auto op = std::make_shared<Operation>(progress->signal());
    op->progress = progress;
    op->kind = kind;
    op->peer = peer;
    op->tag = tag;
    if (trace::messages_enabled()) {
      op->traced = true;
      op->self = rank;
      op->posted = Clock::now();
      std::lock_guard lock(sequence_mutex);
      op->sequence = sequences[{peer, tag, kind == Operation::Kind::kSend}]++;
    }
    return op;
  }

  // Per (peer, tag, direction): how many messages were posted, for traced messages'
  // sequence numbers (the transport delivers each (source, tag) in order).
  std::mutex sequence_mutex;
  std::map<std::tuple<int, std::uint64_t, bool>, std::uint64_t> sequences;
  std::atomic<int> queued_sends{0};  // sends posted to the io_context, not yet started

  Request post(std::shared_ptr<Operation> op) {
    auto connection = peers[op->peer];
    // A send starts at once when the engine is free and no earlier send waits to start
    // (it would be overtaken): its bytes leave now, not at the next wait. A recv is
    // always queued: started here, it could read (and park) frames meant for receives
    // not yet posted.
    if (op->kind == Operation::Kind::kRecv) {
      asio::post(progress->io(), [connection, op] { connection->post_recv(op); });
    } else if (queued_sends.load() > 0 || !progress->run_if_free([&] { connection->post_send(op); })) {
      ++queued_sends;
      // Handlers run only while the engine runs, which close() stops before Impl goes.
      asio::post(progress->io(), [queued = &queued_sends, connection, op] {
        --*queued;
        connection->post_send(op);
      });
    }
    // What is queued is started by whichever thread waits next, or else by the
    // background thread (progress.h). A wait that expires means the peer stopped making
    // progress: fail it, so every other operation on it fails now too instead of waiting
    // out its own deadline.
    std::weak_ptr<Impl> weak = weak_from_this();
    auto on_abandon = [weak, connection, op_timeout = options.op_timeout](Operation& abandoned, Request::Abandon why,
                                                                          std::chrono::milliseconds waited) {
      auto self = weak.lock();
      if (!self) return abandoned.complete(OperationError{abandoned.peer, "the mesh was closed"});
      bool finishing = false;
      self->run_on_io([&] {
        if (abandoned.done()) return;
        if (why == Request::Abandon::kDestroyed) {
          finishing = connection->cancel(abandoned);
          return;
        }
        connection->fail(abandoned.describe(), "timed out after " + seconds_text(waited) +
                                                   " with no completion; the peer is stalled or lost");
      });
      // The buffer must outlive the transfer: wait for it, as long as any operation may.
      if (finishing && !abandoned.wait_until(Clock::now() + op_timeout))
        self->run_on_io([&] {
          if (!abandoned.done())
            connection->fail(abandoned.describe(), "dropped mid-transfer, and the transfer did not finish");
        });
    };
    return Request(std::move(op), std::move(on_abandon), options.op_timeout,
                   options.stall_warn.count() > 0 ? options.stall_warn : options.op_timeout / 10);
  }

  void close() {
    if (!progress->running()) return;
    std::mutex mutex;
    std::condition_variable cv;
    int open = 0;
    for (auto& connection : peers) open += connection ? 1 : 0;
    // The callbacks reference these locals; the final fail-all below runs any that
    // are still pending before this function returns.
    asio::post(progress->io(), [&] {
      // If a peer already failed, or we did, tell the survivors why we are leaving.
      const std::string prefix = "rank " + std::to_string(rank);
      const std::string reason = own_error_first           ? prefix + " failed: " + own_error
                                 : !first_failure->empty() ? prefix + " is closing after: " + *first_failure
                                 : !own_error.empty()      ? prefix + " failed: " + own_error
                                                           : "";
      for (auto& connection : peers) {
        if (!connection) continue;
        connection->begin_close(
            [&] {
              std::lock_guard lock(mutex);
              --open;
              cv.notify_all();
            },
            reason);
      }
    });
    progress->poll_if_free();
    {
      std::unique_lock lock(mutex);
      cv.wait_for(lock, options.close_timeout, [&] { return open == 0; });
    }
    run_on_io([&] {
      for (auto& connection : peers)
        if (connection) connection->fail("close", "the mesh was closed");
    });
    progress->stop();
  }
};

Mesh::Mesh(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Mesh::~Mesh() {
  if (std::uncaught_exceptions() > 0) abort("an error of its own (its log has the message)");
  impl_->close();
}

void Mesh::abort(const std::string& reason) {
  if (!impl_->progress->running()) return;
  impl_->run_on_io([&] {
    if (!impl_->own_error.empty()) return;
    impl_->own_error = reason;
    impl_->own_error_first = impl_->first_failure->empty();
  });
}

namespace {
long ranks_on_this_host(const std::vector<Endpoint>& table, int rank) {
  return std::count_if(table.begin(), table.end(), [&](const Endpoint& e) { return e.host == table[rank].host; });
}
}  // namespace

std::unique_ptr<Mesh> Mesh::connect(const RendezvousInfo& info, const MeshOptions& options) {
  auto impl = std::make_shared<Impl>();
  impl->rank = info.rank;
  impl->world_size = info.world_size;
  impl->options = options;
  impl->peers.resize(info.world_size);
  if (info.world_size == 1) {
    impl->table = {{options.bind_address, 0}};
    return std::unique_ptr<Mesh>(new Mesh(impl));
  }

  std::optional<Coordinator> coordinator;
  if (info.host_coordinator) coordinator.emplace(info.master, info.world_size, info.token, options.rendezvous_timeout);
  auto established = establish_mesh(impl->progress->io(), info, options);
  if (coordinator) coordinator->wait();

  impl->table = std::move(established.table);
  const ConnectionLimits limits{options.max_payload, options.max_parked_bytes, options.peer_silence_timeout,
                                options.early_frame_wait, options.read_low_water};
  for (int r = 0; r < info.world_size; ++r) {
    if (r == info.rank) continue;
    impl->peers[r] = std::make_shared<Connection>(std::move(*established.sockets[r]), info.rank, r,
                                                  impl->table[r].to_string(), limits, impl->first_failure);
    impl->peers[r]->start();
  }
  impl->progress->start(
      polling_for(ranks_on_this_host(impl->table, info.rank), static_cast<long>(std::thread::hardware_concurrency())));
  return std::unique_ptr<Mesh>(new Mesh(impl));
}

int Mesh::rank() const { return impl_->rank; }
int Mesh::size() const { return impl_->world_size; }
const Endpoint& Mesh::endpoint(int rank) const { return impl_->table.at(rank); }
const MeshOptions& Mesh::options() const { return impl_->options; }

Request Mesh::send(int peer, std::uint64_t tag, std::span<const std::byte> data) {
  auto op = impl_->make_operation(Operation::Kind::kSend, peer, tag);
  op->send_buffer = data;
  return impl_->post(std::move(op));
}

Request Mesh::recv(int peer, std::uint64_t tag, std::span<std::byte> data) {
  auto op = impl_->make_operation(Operation::Kind::kRecv, peer, tag);
  op->recv_buffer = data;
  return impl_->post(std::move(op));
}

}  // namespace syncbed::net
