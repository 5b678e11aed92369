#include "core/transport/tcp/progress.h"

#include <algorithm>
#include <thread>

namespace syncbed::net {
namespace {
// How long nobody must have waited before the background thread takes the engine. Short
// enough for heartbeats and unwaited sends; long enough that the pauses of an algorithm
// between its waits (a reduction, a copy) do not hand the engine back and forth.
constexpr auto kHandback = std::chrono::milliseconds(2);
// The background thread's longest sleep in the socket wait before it looks at the state.
constexpr auto kSlice = std::chrono::milliseconds(100);
}  // namespace

Progress::Progress() = default;

Progress::~Progress() { stop(); }

Polling polling_for(long ranks_on_host, long cores) { return {std::chrono::microseconds(50), ranks_on_host > cores}; }

void Progress::start(Polling polling) {
  polling_ = polling;
  work_.emplace(io_.get_executor());
  io_.restart();  // set-up may have run it out of work, which leaves it stopped
  {
    std::lock_guard lock(signal_->mutex);
    running_ = true;
  }
  background_ = std::thread([this] { background_loop(); });
}

void Progress::stop() {
  {
    std::lock_guard lock(signal_->mutex);
    if (!running_ || stopping_) return;
    stopping_ = true;
  }
  background_cv_.notify_all();
  work_.reset();
  io_.stop();  // ends the holder's wait for socket events
  background_.join();
  std::lock_guard lock(signal_->mutex);
  running_ = false;
  signal_->cv.notify_all();
}

bool Progress::running() const {
  std::lock_guard lock(signal_->mutex);
  return running_;
}

void Progress::take(std::unique_lock<std::mutex>&) {
  held_ = true;
  holder_ = std::this_thread::get_id();
}

void Progress::give_back(std::unique_lock<std::mutex>&) {
  held_ = false;
  holder_ = {};
  signal_->cv.notify_all();
}

void Progress::interrupt_holder() {
  asio::post(io_, [] {});
}

void Progress::drive(Operation& op, Clock::time_point deadline) {
  const auto spin = polling_.before_sleeping;
  auto spin_until = Clock::now() + spin;
  while (!op.done() && exclusive_wanted_.load() == 0 && !stopping_.load()) {
    if (spin.count() > 0 && io_.poll_one() > 0) {
      spin_until = Clock::now() + spin;
      continue;
    }
    if (Clock::now() < std::min(spin_until, deadline)) {
      if (polling_.yield_between_polls) std::this_thread::yield();
      continue;
    }
    if (io_.run_one_until(deadline) == 0) return;
  }
}

bool Progress::wait(Operation& op, Clock::time_point deadline) {
  std::unique_lock lock(signal_->mutex);
  if (!running_) {
    // Not started, or stopped: nobody moves bytes; close fails what is still pending.
    signal_->cv.wait_until(lock, deadline, [&] { return op.done_locked(); });
    return op.done_locked();
  }
  if (held_ && holder_ == std::this_thread::get_id()) {
    // A wait inside run_exclusive: nobody else may run the handlers meanwhile.
    lock.unlock();
    drive(op, deadline);
    return op.done();
  }
  ++waiting_;
  if (held_ && holder_ == background_.get_id()) interrupt_holder();
  while (!op.done_locked() && Clock::now() < deadline) {
    if (!held_ && exclusive_wanted_ == 0 && !stopping_) {
      take(lock);
      lock.unlock();
      drive(op, deadline);
      lock.lock();
      give_back(lock);
      continue;
    }
    // Another thread holds the engine: it completes our operation or gives the engine back.
    signal_->cv.wait_until(lock, deadline);
  }
  --waiting_;
  last_wait_end_ = Clock::now();
  return op.done_locked();
}

void Progress::hold_while(std::unique_lock<std::mutex>& lock, const std::function<void()>& fn) {
  take(lock);
  lock.unlock();
  try {
    fn();
  } catch (...) {
    lock.lock();
    give_back(lock);
    throw;
  }
  lock.lock();
  give_back(lock);
}

void Progress::poll_if_free() {
  run_if_free([this] { io_.poll(); });  // else the holder runs it
}

bool Progress::run_if_free(const std::function<void()>& fn) {
  std::unique_lock lock(signal_->mutex);
  if (!running_ || held_ || exclusive_wanted_ > 0 || stopping_) return false;
  hold_while(lock, fn);
  return true;
}

void Progress::run_exclusive(const std::function<void()>& fn) {
  std::unique_lock lock(signal_->mutex);
  if (!running_ || (held_ && holder_ == std::this_thread::get_id())) {
    lock.unlock();
    return fn();
  }
  ++exclusive_wanted_;
  if (held_) interrupt_holder();
  signal_->cv.wait(lock, [&] { return !held_; });
  --exclusive_wanted_;
  hold_while(lock, [&] {
    // Handlers posted before fn (an operation's start, say) run first, as on one I/O
    // thread: fn may cancel what they would otherwise queue after it.
    io_.poll();
    fn();
  });
}

void Progress::background_loop() {
  std::unique_lock lock(signal_->mutex);
  while (!stopping_) {
    if (held_ || waiting_ > 0 || exclusive_wanted_ > 0 || Clock::now() - last_wait_end_ < kHandback) {
      background_cv_.wait_for(lock, kHandback);
      continue;
    }
    take(lock);
    lock.unlock();
    while (!stopping_ && waiting_ == 0 && exclusive_wanted_ == 0) io_.run_one_for(kSlice);
    lock.lock();
    give_back(lock);
  }
}

}  // namespace syncbed::net
