// Handles for posted sends and receives. Algorithm threads post several operations,
// then wait on each with a deadline; whichever thread holds the mesh's progress engine
// (often the waiting thread itself) completes them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "core/transport/tcp/frame.h"

namespace syncbed::net {

using Clock = std::chrono::steady_clock;

// Why an operation failed. Plain data, so no exception object is ever shared between
// the thread moving the bytes and the waiting thread; the waiter builds its own TransportError.
struct OperationError {
  int peer_rank = -1;
  std::string message;
};

class Progress;

// Where operations signal their completion: a mesh's operations share the mesh's, on
// which a waiting thread also hears the progress engine being given back
// (core/transport/tcp/progress.h).
struct CompletionSignal {
  std::mutex mutex;
  std::condition_variable cv;
};

// Shared between the posting thread and whichever thread moves its bytes.
struct Operation {
  enum class Kind { kSend, kRecv };

  explicit Operation(std::shared_ptr<CompletionSignal> completion_signal) : signal(std::move(completion_signal)) {}

  Kind kind = Kind::kSend;
  int peer = 0;
  std::uint64_t tag = 0;
  std::span<std::byte> recv_buffer;        // kRecv: where the payload lands
  std::span<const std::byte> send_buffer;  // kSend: what to send
  HeaderBytes header{};                    // kSend: encoded once, lives as long as the write
  // With message tracing (core/trace.h): who posted it, when, its place among the
  // messages of its (source, destination, tag), and when it completed.
  bool traced = false;
  int self = -1;
  std::uint64_t sequence = 0;
  Clock::time_point posted{}, completed{};
  std::shared_ptr<CompletionSignal> signal;
  // The mesh's progress engine: a wait runs it when it can. Without one (or once the
  // mesh is gone) a wait just sleeps until the operation completes.
  std::weak_ptr<Progress> progress;

  std::string describe() const;
  std::size_t size() const { return kind == Kind::kSend ? send_buffer.size() : recv_buffer.size(); }

  void complete(std::optional<OperationError> error = std::nullopt);
  bool done() const;
  bool done_locked() const { return done_; }  // with signal->mutex held
  // Until complete or the deadline (moving bytes meanwhile, through the progress
  // engine); returns false on timeout.
  bool wait_until(Clock::time_point deadline);
  std::optional<OperationError> error() const;

 private:
  bool done_ = false;
  std::optional<OperationError> error_;
};

// Move-only. A Request destroyed before its operation completed cancels it first, so
// a buffer is never written or read after the code that owns it has moved on (for
// example when an exception unwinds past several posted operations). An operation
// already moving bytes (a send being written, a receive whose payload is arriving) is
// let finish first, bounded by the op timeout, so the connection stays usable.
class Request {
 public:
  enum class Abandon { kTimedOut, kDestroyed };
  // Runs when a wait expires or an unfinished Request is destroyed. It must complete
  // the operation, failing it (and, on timeout, the peer), before it returns.
  using AbandonHandler = std::function<void(Operation&, Abandon, std::chrono::milliseconds waited)>;

  Request() = default;
  // A wait longer than `stall_warn` (0: never) logs what it waits for, and again after
  // each further stall_warn, so a stuck job says who it is stuck on before it fails.
  Request(std::shared_ptr<Operation> op, AbandonHandler on_abandon, std::chrono::milliseconds default_timeout,
          std::chrono::milliseconds stall_warn = {})
      : op_(std::move(op)),
        on_abandon_(std::move(on_abandon)),
        default_timeout_(default_timeout),
        stall_warn_(stall_warn) {}
  Request(Request&&) noexcept = default;
  Request& operator=(Request&& other) noexcept;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request();

  // Wait with the mesh's default operation timeout.
  void wait() { wait_for(default_timeout_); }
  void wait_for(std::chrono::milliseconds timeout);
  // Throws TransportError if the operation failed or the deadline passed; after a
  // timeout the peer counts as lost and every other operation on it fails too.
  void wait_until(Clock::time_point deadline);
  bool ready() const { return !op_ || op_->done(); }

 private:
  void cancel_if_pending() noexcept;
  static void record_traced(const Operation& op);
  // Waits until the deadline, reporting a stall every stall_warn_; false on timeout.
  bool wait_reporting_stalls(Clock::time_point deadline);

  std::shared_ptr<Operation> op_;
  AbandonHandler on_abandon_;
  std::chrono::milliseconds default_timeout_{0};
  std::chrono::milliseconds stall_warn_{0};
};

}  // namespace syncbed::net
