#include "sync/overlap.h"

#include <stdexcept>
#include <string>

#include "core/trace.h"

namespace syncbed::sync {

OverlappedStep::OverlappedStep(ParameterSync& sync, const SyncOptions& options)
    : sync_(sync),
      buckets_(buckets(options.parameters, options.overlap)),
      phases_(buckets_.size()),
      timings_(buckets_.size()),
      thread_([this] { communicate(); }) {}

OverlappedStep::~OverlappedStep() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void OverlappedStep::begin(std::span<float> weights, std::span<float> grads) {
  std::lock_guard lock(mutex_);
  if (stepping_) throw std::logic_error("overlap: begin() while a step is in progress");
  if (error_) std::rethrow_exception(error_);
  sync_.begin_step(weights, grads);
  for (std::size_t bucket = 0; bucket < buckets_.size(); ++bucket) {
    phases_[bucket].phases.clear();
    timings_[bucket] = {buckets_[bucket]};
  }
  ready_ = done_ = 0;
  stepping_ = true;
  clock_.lap();
}

void OverlappedStep::ready_from(std::size_t begin) {
  {
    std::lock_guard lock(mutex_);
    const std::size_t before = ready_;
    while (ready_ < buckets_.size() && buckets_[ready_].begin >= begin) timings_[ready_++].ready_s = clock_.elapsed();
    if (ready_ == before) return;
  }
  changed_.notify_all();
}

std::size_t OverlappedStep::buckets_done() {
  std::lock_guard lock(mutex_);
  return done_;
}

void OverlappedStep::finish(PhaseTimes& times) {
  ready_from(0);
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return done_ == buckets_.size() || error_; });
  stepping_ = false;
  if (error_) std::rethrow_exception(error_);
  for (const auto& bucket : phases_)
    for (const auto& [name, seconds] : bucket.phases) times.add(name, seconds);
}

void OverlappedStep::communicate() {
  trace::name_thread("communication");
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stop_ || (stepping_ && !error_ && done_ < ready_); });
    if (stop_) return;
    const std::size_t bucket = done_;
    timings_[bucket].start_s = clock_.elapsed();
    lock.unlock();
    std::exception_ptr error;
    try {
      trace::Scope scope("bucket " + std::to_string(bucket), "sync");
      sync_.sync_bucket(bucket, phases_[bucket]);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    timings_[bucket].end_s = clock_.elapsed();
    if (error)
      error_ = error;
    else
      ++done_;
    changed_.notify_all();
  }
}

}  // namespace syncbed::sync
