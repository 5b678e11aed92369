// Who moves a mesh's bytes. Exactly one thread at a time runs the mesh's io_context,
// so Connection state is never touched by two threads at once; that thread "holds the
// engine". A thread waiting for an operation holds it whenever it can and runs the
// handlers itself, so the bytes it waits for move without waking another thread (with
// a few cores and a hand-off per segment, the wake-ups cost more than the copies). Posting
// a receive only queues it: starting it in the posting thread would also read frames
// that arrive meanwhile and park them before their receive is posted (measured: the
// ring's 64 MiB chunks copied twice); a send starts at once if the engine is free
// (run_if_free, mesh.cc). A background thread takes the engine over once
// nobody has waited for a moment (kHandback), for heartbeats, frames nobody waits for
// yet, and sends posted but not waited for.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/transport/request.h"
#include "core/transport/tcp/asio.h"

namespace syncbed::net {

// How a waiting thread polls its sockets before it sleeps in the socket wait: a reply
// within `before_sleeping` costs no sleep and wake-up, the bulk of a small message's
// latency on a VM.
struct Polling {
  std::chrono::microseconds before_sleeping{};
  bool yield_between_polls = false;  // let another runnable thread (a peer rank) have the core
};
// What a rank polls with, given how many ranks share its host's cores. Every rank with a
// core of its own: 50 us of busy polling. More ranks than cores: busy polling takes the
// core a peer needs to produce what we wait for (sharded at 4 MiB, 4 ranks on 2 cores,
// lost a fifth of its bandwidth), so the poller yields the core between polls, as Open
// MPI does when oversubscribed (mpi_yield_when_idle): results/README.md, issue 21.
Polling polling_for(long ranks_on_host, long cores);

class Progress {
 public:
  Progress();
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  asio::io_context& io() { return io_; }
  // Where the mesh's operations signal completion (shared, so a waiter also hears the
  // engine being released).
  const std::shared_ptr<CompletionSignal>& signal() const { return signal_; }

  // Starts the background thread; before it, the caller may run io() itself (set-up).
  void start(Polling polling = {});
  // Stops the io_context and joins the background thread. Idempotent.
  void stop();
  bool running() const;

  // Runs the handlers in this thread while it holds the engine, else sleeps until the
  // holder completes `op` or releases the engine, until op completes or the deadline
  // passes; false on timeout.
  bool wait(Operation& op, Clock::time_point deadline);
  // Runs what is ready in io() now, if the engine is free (close: its goodbye frames).
  void poll_if_free();
  // Runs fn while holding the engine (at once if this thread holds it already).
  void run_exclusive(const std::function<void()>& fn);
  // Runs fn in this thread if the engine is free, and returns whether it did.
  bool run_if_free(const std::function<void()>& fn);

 private:
  // Each with signal_->mutex held: take the engine for this thread, give it back.
  void take(std::unique_lock<std::mutex>& lock);
  void give_back(std::unique_lock<std::mutex>& lock);
  // Takes the engine, runs fn without the mutex, gives the engine back (also if fn throws).
  void hold_while(std::unique_lock<std::mutex>& lock, const std::function<void()>& fn);
  // With the engine held: runs handlers until op completes, the deadline passes, or
  // run_exclusive wants the engine.
  void drive(Operation& op, Clock::time_point deadline);
  // Wakes the holder out of its wait for socket events.
  void interrupt_holder();
  void background_loop();

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::shared_ptr<CompletionSignal> signal_ = std::make_shared<CompletionSignal>();
  std::condition_variable background_cv_;  // with signal_->mutex: stop
  std::thread background_;

  // Guarded by signal_->mutex; the atomics are also read by the holder between handlers.
  bool running_ = false;
  bool held_ = false;
  std::thread::id holder_{};
  std::atomic<int> waiting_{0};           // threads inside wait()
  std::atomic<int> exclusive_wanted_{0};  // threads in run_exclusive() waiting for the engine
  std::atomic<bool> stopping_{false};
  Clock::time_point last_wait_end_{};
  Polling polling_;
};

}  // namespace syncbed::net
