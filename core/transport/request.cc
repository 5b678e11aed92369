#include "core/transport/request.h"

#include <cstdio>

#include "core/log.h"
#include "core/trace.h"
#include "core/transport/error.h"
#include "core/transport/tags.h"
#include "core/transport/tcp/progress.h"

namespace syncbed::net {

std::string Operation::describe() const {
  return std::string(kind == Kind::kSend ? "send" : "recv") + " tag " + std::to_string(tag) + " (" +
         std::to_string(size()) + " bytes)";
}

void Operation::complete(std::optional<OperationError> error) {
  {
    std::lock_guard lock(signal->mutex);
    if (done_) return;
    done_ = true;
    if (traced) completed = Clock::now();
    error_ = std::move(error);
  }
  signal->cv.notify_all();
}

bool Operation::done() const {
  std::lock_guard lock(signal->mutex);
  return done_;
}

bool Operation::wait_until(Clock::time_point deadline) {
  if (auto engine = progress.lock()) return engine->wait(*this, deadline);
  std::unique_lock lock(signal->mutex);
  return signal->cv.wait_until(lock, deadline, [&] { return done_; });
}

std::optional<OperationError> Operation::error() const {
  std::lock_guard lock(signal->mutex);
  return error_;
}

Request& Request::operator=(Request&& other) noexcept {
  if (this != &other) {
    cancel_if_pending();
    op_ = std::move(other.op_);
    on_abandon_ = std::move(other.on_abandon_);
    default_timeout_ = other.default_timeout_;
    stall_warn_ = other.stall_warn_;
  }
  return *this;
}

Request::~Request() { cancel_if_pending(); }

void Request::cancel_if_pending() noexcept {
  if (!op_ || op_->done()) return;
  try {
    on_abandon_(*op_, Abandon::kDestroyed, std::chrono::milliseconds(0));
  } catch (...) {
    // Cannot report from a destructor; the handler completes the operation anyway.
  }
}

void Request::wait_for(std::chrono::milliseconds timeout) { wait_until(Clock::now() + timeout); }

void Request::record_traced(const Operation& op) {
  const bool send = op.kind == Operation::Kind::kSend;
  const auto ns = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  };
  trace::Message message;
  message.send = send;
  message.source = send ? op.self : op.peer;
  message.destination = send ? op.peer : op.self;
  message.tag = op.tag;
  message.bytes = op.size();
  message.sequence = op.sequence;
  message.posted_ns = ns(op.posted);
  message.completed_ns = ns(op.completed);
  trace::record_message(message);
}

bool Request::wait_reporting_stalls(Clock::time_point deadline) {
  const auto start = Clock::now();
  for (auto report = start + stall_warn_; stall_warn_.count() > 0 && report < deadline; report += stall_warn_) {
    if (op_->wait_until(report)) return true;
    char waited[32];
    std::snprintf(waited, sizeof waited, "%.1f s", std::chrono::duration<double>(Clock::now() - start).count());
    const long iteration = trace::current_iteration();
    const std::string phase = trace::current_phase();
    log_line("stall: " + (iteration >= 0 ? "iteration " + std::to_string(iteration) + ", " : std::string()) +
             (phase.empty() ? std::string() : phase + ": ") + "waiting " + waited + " to " +
             (op_->kind == Operation::Kind::kSend ? "send to" : "receive from") + " rank " + std::to_string(op_->peer) +
             ": " + describe_tag(op_->tag) + ", " + std::to_string(op_->size()) + " bytes");
  }
  return op_->wait_until(deadline);
}

void Request::wait_until(Clock::time_point deadline) {
  if (!op_) return;
  const auto start = Clock::now();
  if (!wait_reporting_stalls(deadline)) {
    on_abandon_(*op_, Abandon::kTimedOut, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start));
    // The handler completed the operation with the timeout error (or it finished
    // at the last moment); either way it is done now.
    op_->wait_until(Clock::time_point::max());
  }
  if (auto error = op_->error()) throw TransportError(error->peer_rank, error->message);
  if (op_->traced) record_traced(*op_);
}

}  // namespace syncbed::net
