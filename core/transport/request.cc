#include "core/transport/request.h"

#include "core/transport/error.h"

namespace syncbed::net {

std::string Operation::describe() const {
  return std::string(kind == Kind::kSend ? "send" : "recv") + " tag " + std::to_string(tag) + " (" +
         std::to_string(size()) + " bytes)";
}

void Operation::complete(std::optional<OperationError> error) {
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
    error_ = std::move(error);
  }
  cv_.notify_all();
}

bool Operation::done() const {
  std::lock_guard lock(mutex_);
  return done_;
}

bool Operation::wait_until(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return cv_.wait_until(lock, deadline, [&] { return done_; });
}

std::optional<OperationError> Operation::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

Request& Request::operator=(Request&& other) noexcept {
  if (this != &other) {
    cancel_if_pending();
    op_ = std::move(other.op_);
    on_abandon_ = std::move(other.on_abandon_);
    default_timeout_ = other.default_timeout_;
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

void Request::wait_until(Clock::time_point deadline) {
  if (!op_) return;
  const auto start = Clock::now();
  if (!op_->wait_until(deadline)) {
    on_abandon_(*op_, Abandon::kTimedOut, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start));
    // The handler completed the operation with the timeout error (or it finished
    // at the last moment); either way it is done now.
    op_->wait_until(Clock::time_point::max());
  }
  if (auto error = op_->error()) throw TransportError(error->peer_rank, error->message);
}

}  // namespace syncbed::net
